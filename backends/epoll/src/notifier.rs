//! The notification handshake of a source that blocks in the kernel: a `pending` flag plus an
//! eventfd. [`FdNotifier`] is its public form, for any source that waits with `poll`, `ppoll` or
//! `epoll_wait`; [`Handshake`] is the protocol itself over any [`Edge`], which is what the loom
//! models check (with a loom-visible eventfd in place of the real one).

#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // `Edge` and `Handshake`: loom models only

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sys;

/// Something whose every [`raise`](Self::raise) makes a wait on it return: a wait in progress
/// returns, or, if none is, the next wait returns at once.
///
/// [`Eventfd`] is the real one. The loom models implement it with a loom-visible counter, so that
/// they check [`Handshake`] itself.
pub trait Edge {
    /// Raises a new edge (one `write` to an eventfd).
    fn raise(&self);

    /// Takes back every edge raised so far (one `read` of an eventfd, which resets it); returns
    /// whether there was any. Only a waiter that polls level-triggered needs it.
    ///
    /// # Errors
    ///
    /// The error of the read, other than "would block" (nothing raised: `Ok(false)`).
    fn take(&self) -> io::Result<bool>;
}

/// The flag-plus-edge handshake; see [`FdNotifier`] for the protocol and why it is correct.
///
/// Two kinds of waiter answer it: one that watches the edge edge-triggered and never takes it
/// back ([`on_edge`](Self::on_edge), the epoll source itself), and one that polls it
/// level-triggered and must take it back ([`after_wait`](Self::after_wait), [`FdNotifier`]).
#[derive(Debug)]
pub struct Handshake<E> {
    /// Whether an edge was raised (or is about to be) that the waiter has not answered yet.
    pending: AtomicBool,
    edge: E,
}

impl<E: Edge> Handshake<E> {
    /// A handshake raising edges on `edge`, with no notification pending.
    pub fn new(edge: E) -> Self {
        Self { pending: AtomicBool::new(false), edge }
    }

    /// The edge source, to wait on.
    pub fn edge(&self) -> &E {
        &self.edge
    }

    /// Makes the wait in progress return, or the next one return at once; from any thread.
    /// What the caller wrote before is visible to the waiter's re-check once it has answered.
    pub fn notify(&self) {
        // AcqRel: Release publishes the caller's writes to the waiter's clearing swap (Acquire);
        // a read-modify-write, so it reads the latest value and never mistakes a notification
        // the waiter already answered for a pending one.
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.edge.raise();
        }
    }

    /// Answers the edge, for a waiter that watches it edge-triggered and never takes it back
    /// (every raise is a new edge): to be called after a wait that reported the edge, before
    /// the waiter re-checks what it waits for. The next notify raises a new edge.
    pub fn on_edge(&self) {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifyClearIsAStore) {
            self.pending.store(false, Ordering::SeqCst);
            return;
        }
        // Acquire: the writes of every notify coalesced into this edge are visible to the
        // re-check that follows (see `FdNotifier`, "Why an acquiring swap").
        self.pending.swap(false, Ordering::Acquire);
    }

    /// Answers a notification, for a waiter that polls the edge level-triggered: to be called
    /// after every wait, before the waiter re-checks what it waits for. Takes the edge back if
    /// one is pending, then clears the flag; returns whether it answered a notification.
    ///
    /// # Errors
    ///
    /// The error of [`Edge::take`]; the flag then stays raised.
    pub fn after_wait(&self) -> io::Result<bool> {
        // Relaxed: only a fast path. Missing a notify whose swap is racing with this load loses
        // nothing: its raise is done or coming, so the next wait returns at once, and the wait
        // that reports the raise is ordered after it by the kernel, so this load then sees it.
        if !self.pending.load(Ordering::Relaxed) {
            return Ok(false);
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifierClearsBeforeTaking) {
            self.pending.swap(false, Ordering::SeqCst);
            return self.edge.take();
        }
        // First take the edge back, then clear: see `FdNotifier`, "Why take before clearing".
        if !self.edge.take()? {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(
                crate::sync::seeded_bug::Bug::NotifierClearsWithNothingTaken,
            ) {
                self.pending.swap(false, Ordering::SeqCst);
            }
            // The notify that raised the flag has not raised its edge yet: leave the flag up,
            // so that its edge is taken back by the wait it ends (see `FdNotifier`).
            return Ok(false);
        }
        // Acquire: see `FdNotifier`, "Why an acquiring swap".
        self.pending.swap(false, Ordering::Acquire);
        Ok(true)
    }
}

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
/// - [`notify`](Self::notify) swaps `pending` to true and writes the eventfd only if it was
///   false. So there is at most one write per notification period, and the eventfd's counter
///   is 0 or 1.
/// - The waiter polls the eventfd (readable) with its own fds. After the wait returns, for
///   whatever reason (its own fd, the eventfd, the timeout, a signal), it calls
///   [`after_wait`](Self::after_wait), which does nothing if `pending` is false; otherwise it
///   reads the eventfd and, if the read found the write, swaps `pending` back to false. Then
///   the waiter re-checks what it waits for (its queues, its registrations) before it waits
///   again.
///
/// Every notify is then either seen by the waiter's re-check or ends the next wait: a notify
/// that writes makes the eventfd readable until `after_wait` reads it, and a notify that finds
/// `pending` true writes nothing but coalesces into a write that `after_wait` has not
/// answered yet, so the swap that answers it comes after, and synchronises with, that notify.
///
/// # Why take before clearing
///
/// `after_wait` reads the eventfd first and clears the flag second. In the other order, a
/// notify landing between the clear and the read finds the flag down, raises it and writes; the
/// read then consumes that write. The flag is left up with an empty eventfd: every later notify
/// finds it up and writes nothing, so no notify ever ends a wait again.
///
/// And when the flag is up but the read finds nothing, the notify that raised it is between its
/// swap and its write: `after_wait` leaves the flag up, and that write ends the next wait, which
/// reads it and clears the flag. Clearing it there instead would let the write land with the
/// flag down: the eventfd stays readable, no `after_wait` reads it (the flag says nothing is
/// pending), and every poll returns at once until some later notify.
///
/// # Why an acquiring swap
///
/// A notify that finds `pending` true relies on the waiter's re-check to see what it published
/// before notifying. The waiter's clearing swap is a read-modify-write, so it reads the latest
/// value of the flag and comes after that notify's swap in the flag's modification order; every
/// write to the flag being a read-modify-write, each notify's Release swap heads a release
/// sequence that the waiter's Acquire swap reads from, so what every coalesced notifier wrote is
/// visible to the re-check. A plain store of false would acquire nothing: the re-check could
/// miss the coalesced notifier's work and the waiter block with no write left to wake it.
///
/// The protocol is model-checked with loom, each failure mode above with a seeded bug that the
/// models must catch (the workspace's `epoll_notify` models). `reactor`'s
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
