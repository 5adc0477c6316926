//! [`Inotify`]: a blocking event source that watches files and directories with Linux inotify.
//!
//! It is built only on `reactor`'s public API, as a user of the crate writes a source: it
//! implements [`EventSource`], keeps each callback in a
//! [`CallbackSlot`](reactor::source::CallbackSlot) for the deregistration guarantee, refuses a
//! second driver with a [`NotifierSlot`], and since
//! its `wait` blocks it is the blocking part of a [`Composite`](reactor::source::Composite), next
//! to passive sources such as a timer.
//!
//! It owns two descriptors: the inotify instance and an eventfd. `wait` blocks in `ppoll(2)` on
//! both, reads and dispatches the pending inotify events, and `notify` writes the eventfd.

mod event;
mod stream;
mod sys;
#[cfg(test)]
mod tests;
mod watch;

use std::any::{Any, TypeId};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reactor::source::{Notifier, NotifierSlot};
use reactor::EventSource;

pub(crate) use event::{Event, Mask};
pub(crate) use stream::EventStream;
pub(crate) use watch::Watch;
use watch::WatchTable;

/// The most bytes of inotify records one `wait` reads: a writer that never stops cannot keep a
/// wait dispatching forever. What is left makes the next `ppoll` return at once.
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
    /// The eventfd that `notify` writes and `wait` polls next to `inotify`.
    wake: File,
    /// Set by the `notify` that writes `wake`, cleared by the wait that reads it back: while it
    /// is set, `notify` costs one atomic swap and no system call.
    notified: AtomicBool,
    watches: WatchTable,
    /// Its driver: one thread at a time blocks in `wait`, so a second driver is refused.
    driver: NotifierSlot,
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
            wake: sys::eventfd()?,
            notified: AtomicBool::new(false),
            watches: WatchTable::default(),
            driver: NotifierSlot::new(),
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

    /// Reads the pending inotify records and runs the callbacks they are for; returns how many
    /// callbacks ran.
    fn dispatch(&self) -> io::Result<usize> {
        let mut buffer = [0u8; READ_BUFFER];
        let mut ran = 0;
        let mut read = 0;
        while read < MAX_READ_PER_WAIT {
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

    /// Consumes the pending notification.
    fn take_notification(&self) -> io::Result<()> {
        match (&self.shared.wake).read(&mut [0; 8]) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => return Err(error),
        }
        // After the read, never before: a `notify` between the two finds the flag still set and
        // skips its write, and this wait, which is returning, stands for it. Cleared first, that
        // notify's write would be consumed by the read and leave the flag set with an empty
        // eventfd, so every later notify would be lost.
        // Acquire pairs with the Release of every notify that found the flag set and skipped its
        // write: what those callers did before notifying is visible once this wait returns. (A
        // notify that wrote is ordered by the eventfd itself.)
        self.shared.notified.swap(false, Ordering::Acquire);
        Ok(())
    }
}

impl EventSource for Inotify {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let [events, notified] = match sys::poll_readable([&self.shared.inotify, &self.shared.wake], timeout)
        {
            Ok(ready) => ready,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(error) => return Err(error),
        };
        if notified {
            self.take_notification()?;
        }
        if events {
            return self.dispatch();
        }
        Ok(0)
    }

    fn notify(&self) {
        // Release: when this notify skips its write, the flag is all that carries what the
        // caller did before notifying to the wait that clears it (with Acquire).
        if self.shared.notified.swap(true, Ordering::Release) {
            return;
        }
        // Cannot fail: the flag keeps the counter at 1 at most, far below the overflow (EAGAIN).
        let _ = (&self.shared.wake).write(&1u64.to_ne_bytes());
    }

    fn can_block(&self) -> bool {
        true
    }

    /// Records the one composite or executor that drives this source. A blocking source is its
    /// own waiter and never calls the notifier; the slot is there to refuse a second driver,
    /// whose thread would block in `ppoll` beside the first and steal its events.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
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
