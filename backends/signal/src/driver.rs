//! The read end of the self-pipe, registered once per I/O backend that has listeners.

use std::fmt;
use std::io;
use std::os::unix::net::UnixStream;

use reactor::io::IoHandle;
use reactor_net::Watch;

use crate::handler::global;
use crate::sync::{Mutex, StdArc, StdWeak};

/// The registrations of the read end, one per I/O backend (runtime, executor) with listeners,
/// held weakly: the listeners own them.
#[derive(Debug, Default)]
pub(crate) struct Drivers {
    registered: Mutex<Vec<StdWeak<Driver>>>,
}

/// The read end registered with one I/O backend; its callback, run on that backend's loop,
/// drains the pipe and broadcasts.
pub(crate) struct Driver {
    backend: IoHandle,
    _watch: Watch<UnixStream>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Drivers {
    /// The registration on `backend`, made now if there is none.
    ///
    /// # Errors
    ///
    /// The errors of duplicating the read end and of registering it (`Watch::new`).
    pub(crate) fn on(&self, backend: &IoHandle) -> io::Result<StdArc<Driver>> {
        let mut registered = self.registered.lock();
        registered.retain(|driver| driver.strong_count() > 0);
        for driver in registered.iter() {
            if let Some(driver) = driver.upgrade() {
                if driver.backend.same_source(backend) {
                    return Ok(driver);
                }
            }
        }
        let pipe = &global()?.pipe;
        // A new fd per backend (an epoll set takes an fd once); every one of them reads the same
        // socket, so whichever backend's loop runs first drains it for all.
        let watch = Watch::new(pipe.read_end()?, backend, |_readiness| {
            if let Ok(global) = global() {
                global.hub.dispatch(&global.pipe);
            }
        })?;
        let driver = StdArc::new(Driver { backend: backend.clone(), _watch: watch });
        registered.push(StdArc::downgrade(&driver));
        Ok(driver)
    }
}
