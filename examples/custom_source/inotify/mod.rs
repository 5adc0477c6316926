//! [`Inotify`]: a blocking event source that watches files and directories with Linux inotify.
//!
//! It is built only on `reactor`'s public API, as a user of the crate writes a source: it
//! implements [`EventSource`], keeps each callback in a
//! [`CallbackSlot`](reactor::source::CallbackSlot) for the deregistration guarantee, refuses a
//! second driver with a [`NotifierSlot`], and since
//! its `wait` blocks it is the blocking part of a [`Composite`](reactor::source::Composite), next
//! to passive sources such as a timer.
//!
//! It owns two descriptors: the inotify instance and the eventfd of a
//! [`FdNotifier`](reactor_epoll::FdNotifier). `wait` blocks in `ppoll(2)` on both, answers the
//! notifier, then reads and dispatches the pending inotify events; `notify` is the notifier's.
//!
//! A blocking source cannot join the default runtime (`reactor_epoll::Runtime`), which already
//! blocks in epoll. So the source offers a second way to be driven: [`Inotify::register_with`]
//! registers the inotify fd with the runtime's [`Epoll`](reactor_epoll::Epoll), whose wait then
//! dispatches the inotify events on the runtime's loop, beside its TCP.

mod epoll;
mod event;
mod stream;
mod sys;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_runtime;
mod watch;

use std::any::{Any, TypeId};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reactor::source::{Notifier, NotifierSlot};
use reactor::EventSource;
use reactor_epoll::FdNotifier;

pub(crate) use epoll::EpollRegistration;
pub(crate) use event::{Event, Mask};
pub(crate) use stream::EventStream;
pub(crate) use watch::Watch;
use watch::WatchTable;

/// The most bytes of inotify records one `wait` reads: a writer that never stops cannot keep a
/// wait dispatching forever. What is left makes the next `ppoll` return at once. (Driven by
/// epoll, which reports the fd edge-triggered, the source reads until the fd is empty instead.)
const MAX_READ_PER_WAIT: usize = 64 * 1024;

/// Large enough for any record (a 16-byte header and a name of at most `NAME_MAX` bytes plus
/// NUL); a smaller buffer makes `read` fail with EINVAL.
const READ_BUFFER: usize = 4096;

/// A blocking event source of inotify events.
///
/// Register with [`watch`](Self::watch) (a callback per event) or
/// [`watch_stream`](Self::watch_stream) (an async stream). Cloning gives another handle to the
/// same source, and [`reactor::current_source`] finds it from inside an executor over it.
#[derive(Clone)]
pub(crate) struct Inotify {
    shared: Arc<Shared>,
}

struct Shared {
    inotify: File,
    /// Ends a blocked `wait` from any thread: its eventfd is polled next to `inotify`.
    notifier: FdNotifier,
    watches: WatchTable,
    /// Its driver, when a composite or an executor calls `wait`: one thread at a time blocks in
    /// `wait`, so a second driver is refused.
    driver: NotifierSlot,
    /// Whether an epoll registration dispatches the events instead ([`Inotify::register_with`]).
    /// Locked while either kind of driver is attached, so that the two exclude each other.
    epoll_driven: Mutex<bool>,
}

impl Inotify {
    /// A new inotify instance with no watches.
    ///
    /// # Errors
    ///
    /// The error of `inotify_init1(2)` or `eventfd(2)`, for instance EMFILE when the process is
    /// out of file descriptors or the `fs.inotify.max_user_instances` limit is reached.
    pub(crate) fn new() -> io::Result<Self> {
        let shared = Shared {
            inotify: sys::inotify_init()?,
            notifier: FdNotifier::new()?,
            watches: WatchTable::default(),
            driver: NotifierSlot::new(),
            epoll_driven: Mutex::new(false),
        };
        Ok(Self { shared: Arc::new(shared) })
    }

    /// Watches `path` for the events in `mask`, running `callback` on the loop for each of them.
    ///
    /// On a directory, events concern its entries and carry their names; on a file, they carry
    /// no name. [`Mask::IGNORED`] and [`Mask::OVERFLOW`] are reported whatever `mask` says.
    /// Dropping the returned [`Watch`] unregisters the callback.
    ///
    /// # Errors
    ///
    /// - `InvalidInput`: `path` contains a NUL byte.
    /// - The kind of `inotify_add_watch(2)`'s error, with the path in the message: `NotFound`
    ///   for a path that does not exist, `PermissionDenied` for one that cannot be read, and
    ///   ENOSPC when the `fs.inotify.max_user_watches` limit is reached.
    pub(crate) fn watch(
        &self,
        path: impl AsRef<Path>,
        mask: Mask,
        callback: impl FnMut(&Event) + Send + 'static,
    ) -> io::Result<Watch> {
        let (wd, registration) =
            self.shared.watches.add(&self.shared.inotify, path.as_ref(), mask, Box::new(callback))?;
        Ok(Watch::new(self.shared.clone(), wd, registration))
    }

    /// Watches `path` for the events in `mask`, delivered through an async [`EventStream`].
    ///
    /// # Errors
    ///
    /// As for [`watch`](Self::watch).
    pub(crate) fn watch_stream(&self, path: impl AsRef<Path>, mask: Mask) -> io::Result<EventStream> {
        EventStream::new(|callback| self.watch(path, mask, callback))
    }

    /// Reads the pending inotify records, up to about `max_bytes` of them or until none is
    /// left, and runs the callbacks they are for; returns how many callbacks ran.
    fn dispatch(&self, max_bytes: usize) -> io::Result<usize> {
        let mut buffer = [0u8; READ_BUFFER];
        let mut ran = 0;
        let mut read = 0;
        while read < max_bytes {
            let len = match (&self.shared.inotify).read(&mut buffer) {
                Ok(len) => len,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            read += len;
            for record in event::records(&buffer[..len]) {
                let registrations = if record.event.mask.contains(Mask::IGNORED) {
                    self.shared.watches.end(record.wd)
                } else {
                    self.shared.watches.registrations(record.wd)
                };
                ran +=
                    registrations.iter().filter(|registration| registration.deliver(&record.event)).count();
            }
        }
        Ok(ran)
    }
}

impl EventSource for Inotify {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let shared = &self.shared;
        let polled = sys::poll_readable([shared.inotify.as_fd(), shared.notifier.as_fd()], timeout);
        // After every wait, whatever ended it (the notifier, an event, the timeout, a signal),
        // and before the caller re-checks its queues: answers a pending notification.
        shared.notifier.after_wait()?;
        match polled {
            Ok([true, _]) => self.dispatch(MAX_READ_PER_WAIT),
            Ok(_) => Ok(0),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(error) => Err(error),
        }
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    fn can_block(&self) -> bool {
        true
    }

    /// Records the one composite or executor that drives this source. A blocking source is its
    /// own waiter and never calls the notifier; the slot is there to refuse a second driver,
    /// whose thread would block in `ppoll` beside the first and steal its events.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` while another composite or executor drives the source, or an epoll
    /// registration ([`register_with`](Inotify::register_with)) dispatches its events.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        let epoll_driven = lock(&self.shared.epoll_driven);
        if *epoll_driven {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this inotify source is registered with an epoll source (Inotify::register_with), \
                 which dispatches its events; drop that registration first",
            ));
        }
        self.shared.driver.attach(notifier)
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

impl fmt::Debug for Inotify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inotify").finish_non_exhaustive()
    }
}

/// Locks `mutex`, ignoring poisoning: no code of this source panics while holding a lock, and
/// callbacks never run under one.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
