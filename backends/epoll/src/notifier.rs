//! The notification handshake of a source that blocks in the kernel: [`FdNotifier`], the core's
//! [`Handshake`] over an eventfd, for any source that waits with `poll`, `ppoll` or `epoll_wait`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use reactor::io::{Edge, Handshake};

use crate::sys;

/// A non-blocking, close-on-exec eventfd, used as an [`Edge`]: each write adds one to its
/// counter (a new edge, and readable until read), a read resets the counter.
pub(crate) struct Eventfd(OwnedFd);

impl Eventfd {
    /// A new eventfd.
    ///
    /// # Errors
    ///
    /// The error of `eventfd` (typically `EMFILE`).
    pub(crate) fn new() -> io::Result<Self> {
        sys::eventfd().map(Self)
    }
}

impl Edge for Eventfd {
    fn raise(&self) {
        sys::eventfd_increment(self.0.as_fd());
    }

    fn take(&self) -> io::Result<bool> {
        sys::eventfd_read(self.0.as_fd())
    }
}

impl AsFd for Eventfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl fmt::Debug for Eventfd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Eventfd").field(&self.0).finish()
    }
}

/// Wakes a thread blocked in `poll`, `ppoll` or `epoll_wait`, from any thread, and never loses a
/// wake-up: the [`notify`](reactor::EventSource::notify) half of a blocking event source that
/// waits on file descriptors of its own.
///
/// It owns an eventfd and a `pending` flag. The source's wait includes [`as_fd`](AsFd::as_fd)
/// in its poll set (readable interest) next to its own fds, and calls
/// [`after_wait`](Self::after_wait) after every wait, before it looks at what it waits for;
/// [`notify`](Self::notify) ends that wait from any thread. A notify costs one atomic swap plus,
/// when no notification is pending yet, one `write`; repeated notifies before the wait answers
/// coalesce into the first. `after_wait` costs one atomic load when nothing was notified, and a
/// `read` plus a swap when something was.
///
/// # Examples
///
/// The wait of a blocking source over a socket, with `poll(2)`:
///
/// ```
/// use std::os::fd::{AsFd, AsRawFd};
/// use std::os::unix::net::UnixDatagram;
/// use std::sync::Arc;
/// use reactor_epoll::FdNotifier;
///
/// let notifier = Arc::new(FdNotifier::new()?);
/// let (socket, _peer) = UnixDatagram::pair()?;
///
/// let remote = notifier.clone();
/// let other_thread = std::thread::spawn(move || remote.notify());
///
/// // The source's wait: its own fd and the notifier's, readable interest, no timeout.
/// let mut fds = [socket.as_raw_fd(), notifier.as_fd().as_raw_fd()]
///     .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
/// // SAFETY: `fds` is an array of two initialised pollfds, alive for the call.
/// let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
/// assert!(ready >= 0, "poll failed: {}", std::io::Error::last_os_error());
/// // After every wait, before looking at what it waits for:
/// assert!(notifier.after_wait()?); // ended by the notify, which is answered now
/// other_thread.join().unwrap();
/// assert!(!notifier.after_wait()?); // nothing pending: no system call
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Protocol
///
/// `FdNotifier` is [`Handshake`] over an eventfd, answered level-triggered
/// ([`Handshake::after_wait`]): the handshake's documentation states the protocol, why every
/// notify is either seen by the waiter's re-check or ends the next wait, and why `after_wait`
/// reads the eventfd before it clears the flag and clears it with an acquiring swap. It is
/// model-checked with loom, each failure mode with a seeded bug that the models must catch (the
/// workspace's `epoll_notify` models). `reactor`'s
/// [guide](reactor::guide#a-blocking-source-over-file-descriptors) has a complete blocking source
/// built on it.
pub struct FdNotifier {
    handshake: Handshake<Eventfd>,
}

impl FdNotifier {
    /// A notifier with no notification pending: one eventfd (non-blocking, close-on-exec).
    ///
    /// # Errors
    ///
    /// The error of `eventfd(2)`: typically `EMFILE` or `ENFILE` when out of file descriptors.
    pub fn new() -> io::Result<Self> {
        Ok(Self { handshake: Handshake::new(Eventfd::new()?) })
    }

    /// Makes the wait in progress return, or the next one return at once; from any thread, and
    /// never lost. What the caller wrote before notifying is visible to the waiter once its
    /// [`after_wait`](Self::after_wait) has answered the notification (or, if the notification
    /// is still in flight then, after the next wait).
    ///
    /// One atomic swap, plus one `write` when no notification is pending yet.
    pub fn notify(&self) {
        self.handshake.notify();
    }

    /// Answers a notification: call it after every wait that included this notifier's fd,
    /// whatever ended it, and before re-checking what the source waits for. Only the waiting
    /// thread calls it (a source's waits are serialised).
    ///
    /// Returns whether it answered a notification (a spurious `false` is fine: the eventfd then
    /// stays readable, and the next wait returns at once to answer it).
    ///
    /// # Errors
    ///
    /// The error of reading the eventfd, which does not happen for a valid one; the
    /// notification then stays pending.
    pub fn after_wait(&self) -> io::Result<bool> {
        self.handshake.after_wait()
    }

    /// Answers the edge when the eventfd is registered edge-triggered in an epoll set and never
    /// read (the epoll source's own use): no system call at all.
    pub(crate) fn on_edge(&self) {
        self.handshake.on_edge();
    }
}

/// The fd to add to the wait's poll set, with readable interest: readable while a notification
/// is pending and unanswered. Only [`after_wait`](FdNotifier::after_wait) may read it.
impl AsFd for FdNotifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.handshake.edge().as_fd()
    }
}

impl fmt::Debug for FdNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FdNotifier").field("eventfd", &self.handshake.edge().0).finish_non_exhaustive()
    }
}
