//! The notification handshake of a source that blocks in the kernel: a `pending` flag plus an
//! edge-triggered eventfd ([`EdgeNotifier`]).

#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // public only for the loom models

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sys;

/// Something whose every [`raise`](Self::raise) reaches a waiter as a new edge: a wait in
/// progress returns, or, if none is, the next wait returns at once.
///
/// [`Eventfd`] is the real one. The loom models implement it with a loom-visible counter, so that
/// they check [`EdgeNotifier`] itself.
pub trait Edge {
    /// Raises a new edge.
    fn raise(&self);
}

/// Makes a blocked wait return, from any thread, for the price of one atomic swap plus, when no
/// notification is pending yet, one [`raise`](Edge::raise) (one `write` for an [`Eventfd`]);
/// the wait that sees the edge spends no system call on it.
///
/// # Protocol
///
/// The edge source (an eventfd) is registered edge-triggered with the waiter's epoll set and is
/// never read: every write is a new edge, so nothing needs draining or re-arming.
///
/// - [`notify`](Self::notify) swaps `pending` to true and raises an edge only if it was false.
///   Notifications coalesce: while one is pending, more cost one swap each.
/// - The waiter, after a wait that reported the edge, calls [`on_edge`](Self::on_edge), which
///   swaps `pending` back to false; it then re-checks whatever it waits for (its run queue...)
///   before it waits again.
///
/// A notify that finds `pending` true raises nothing: it relies on the edge of the notify that
/// set it, which the waiter has not yet answered with `on_edge`, so the wait in progress (or the
/// next) returns, or has returned and is about to clear the flag. Either way the waiter's
/// `on_edge` comes after that notify's swap, and its re-check must see what the notifier wrote
/// before notifying: hence `on_edge` is a read-modify-write with Acquire, which synchronises
/// with every notifier whose swap preceded it (all writes to `pending` are read-modify-writes,
/// so each continues the release sequence of the ones before). A plain store of false would not
/// acquire anything, and the waiter could re-check, miss the coalesced notifier's work and block
/// with no edge left to wake it.
#[derive(Debug)]
pub struct EdgeNotifier<E> {
    /// Whether an edge was raised that the waiter has not answered with `on_edge` yet.
    pending: AtomicBool,
    edge: E,
}

impl<E: Edge> EdgeNotifier<E> {
    /// A notifier raising edges on `edge`, with no notification pending.
    pub fn new(edge: E) -> Self {
        Self { pending: AtomicBool::new(false), edge }
    }

    /// The edge source, to register with the waiter's epoll set.
    pub fn edge(&self) -> &E {
        &self.edge
    }

    /// Makes the wait in progress return, or the next one return at once; from any thread.
    /// What the caller wrote before is visible to the waiter once it has called
    /// [`on_edge`](Self::on_edge).
    pub fn notify(&self) {
        // AcqRel: Release publishes the caller's writes to the waiter's `on_edge` (Acquire); a
        // read-modify-write, so it reads the latest value and never mistakes a notification
        // the waiter already answered for a pending one.
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.edge.raise();
        }
    }

    /// Answers the edge: to be called by the waiter after a wait that reported it, before the
    /// waiter re-checks what it waits for. The next notify raises a new edge.
    pub fn on_edge(&self) {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifyClearIsAStore) {
            self.pending.store(false, Ordering::SeqCst);
            return;
        }
        // Acquire: see the protocol above; the writes of every notify coalesced into this edge
        // are visible to the re-check that follows.
        self.pending.swap(false, Ordering::Acquire);
    }
}

/// A non-blocking, close-on-exec eventfd, used as an [`Edge`]: registered edge-triggered and
/// never read, each write (adding one to its counter) is a new edge.
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
