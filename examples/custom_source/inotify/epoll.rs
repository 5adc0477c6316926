//! The source driven by an I/O backend instead of its own `wait`: how a blocking fd source runs
//! on the default runtime (`reactor_epoll::Runtime`), beside its TCP.
//!
//! The runtime blocks in its I/O backend (epoll), so a second blocking source cannot join its
//! composite (one thread cannot block in two places). But the one thing the inotify source
//! blocks on is an fd, and the backend can wait for that fd as well as for sockets:
//! [`Inotify::register_with`] registers it with the runtime's backend through [`Watch::new`],
//! whose callback, run inside the backend's wait on the runtime's loop, reads and dispatches the
//! inotify records. The source's own
//! `wait`, `ppoll` and notifier are then unused.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use reactor::io::IoHandle;
use reactor_epoll::Watch;

use super::{lock, Inotify, Shared};

/// The inotify fd, as the epoll registration owns it: the source's shared state, which keeps
/// the fd open for as long as the registration lives.
struct InotifyFd(Arc<Shared>);

impl AsFd for InotifyFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.inotify.as_fd()
    }
}

impl Inotify {
    /// Lets `epoll` dispatch this source's events: registers the inotify fd with it, so that
    /// every wait of `epoll` (the default runtime's loop: pass
    /// [`Runtime::epoll`](reactor_epoll::Runtime::epoll)) runs the callbacks of the events
    /// that arrived, and wakes the tasks reading [`EventStream`](super::EventStream)s. The
    /// source needs no executor or thread of its own then.
    ///
    /// Dropping the returned [`EpollRegistration`] deregisters: once the drop returns, epoll
    /// dispatches no more of this source's events, and the source may be driven again (by a
    /// composite or an executor, or by another epoll).
    ///
    /// # Errors
    ///
    /// - `AlreadyExists` while a composite or an executor drives the source, or another
    ///   epoll registration does: the two would read the same events.
    /// - The errors of [`Watch::new`].
    pub(crate) fn register_with(&self, io: &IoHandle) -> io::Result<EpollRegistration> {
        let mut epoll_driven = lock(&self.shared.epoll_driven);
        if *epoll_driven || self.shared.driver.is_attached() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this inotify source is driven already (by an executor, a composite or an epoll \
                 registration); an inotify instance is driven by one of them at a time",
            ));
        }
        let source = self.clone();
        let watch = Watch::new(InotifyFd(self.shared.clone()), io, move |_readiness| {
            // Edge-triggered: epoll reports the fd again only when new records arrive, so read
            // until none is left (no cap, unlike `wait`: a cap would strand the rest until the
            // next event). The only read errors of an inotify fd are EINVAL, for a buffer too
            // small for a record, which `READ_BUFFER` rules out, and EINTR, which `dispatch`
            // retries; and a loop callback has nobody to report to.
            let _ = source.dispatch(usize::MAX);
        })?;
        *epoll_driven = true;
        Ok(EpollRegistration { watch: Some(watch), shared: self.shared.clone() })
    }
}

/// Keeps an [`Inotify`] source registered with an epoll source
/// ([`Inotify::register_with`]); dropping it deregisters.
///
/// The drop waits for a dispatch of this source that is running on another thread, so never
/// drop it while holding a lock that a watch callback takes. From inside a watch callback it
/// returns at once, and the dispatch that called the callback reads on to the end of the
/// records already queued.
pub(crate) struct EpollRegistration {
    /// `None` only during the drop.
    watch: Option<Watch<InotifyFd>>,
    shared: Arc<Shared>,
}

impl Drop for EpollRegistration {
    fn drop(&mut self) {
        // Deregistered first: once this returns, epoll's wait runs no dispatch of the source.
        drop(self.watch.take());
        *lock(&self.shared.epoll_driven) = false;
    }
}

impl fmt::Debug for EpollRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpollRegistration").finish_non_exhaustive()
    }
}
