//! The notify handshake of a source that blocks in a kernel wait: a `pending` flag plus an edge
//! the wait watches (an eventfd, a pipe, a ring's poll on one).

use std::io;

use crate::sync::atomic::{AtomicBool, Ordering};

/// Something whose every [`raise`](Self::raise) makes a wait on it return: a wait in progress
/// returns, or, if none is, the next wait returns at once.
///
/// An eventfd is the usual one: `raise` writes it, [`take`](Self::take) reads it back. Its wait is
/// the source's own kernel wait, which includes the eventfd next to what the source watches
/// (`poll`, `epoll_wait`, an io_uring poll on it). A model of the kernel half (a counter under a
/// loom lock) is one too, so that a loom model checks [`Handshake`] itself.
pub trait Edge {
    /// Raises a new edge (one `write` to an eventfd). Called by [`Handshake::notify`], from any
    /// thread, at most once per notification period.
    fn raise(&self);

    /// Takes back every edge raised so far (one `read` of an eventfd, which resets it); returns
    /// whether there was any. Only [`Handshake::after_wait`] calls it, for a waiter that polls
    /// the edge level-triggered; a handshake answered only with [`Handshake::on_edge`] never
    /// takes its edge back.
    ///
    /// # Errors
    ///
    /// The error of the read, other than "would block" (nothing raised: `Ok(false)`).
    fn take(&self) -> io::Result<bool>;
}

/// The notify half of a blocking [`EventSource`](crate::EventSource) that waits in the kernel:
/// makes the source's wait return from any thread, never loses a wake-up, and costs one atomic
/// swap when a notification is pending already.
///
/// It keeps a `pending` flag next to an [`Edge`] (typically an eventfd) that the source's kernel
/// wait watches beside its own fds. [`notify`](Self::notify) swaps the flag to true and raises
/// the edge only if it was false, so repeated notifies before the waiter answers coalesce into
/// one system call. Two kinds of waiter answer it:
///
/// - one that watches the edge **edge-triggered** and never takes it back (an eventfd in an
///   epoll set with `EPOLLET`, or under an io_uring multishot poll): every raise ends a wait, and
///   the waiter answers with [`on_edge`](Self::on_edge) when its wait reports the edge;
/// - one that polls it **level-triggered** (`poll`, `ppoll`): the edge stays readable until it is
///   taken back, so the waiter calls [`after_wait`](Self::after_wait) after every wait, whatever
///   ended it, which takes it back.
///
/// Either way the waiter answers *before* it re-checks what it waits for (its queues, its
/// registrations), and waits again only if that re-check finds nothing.
///
/// # Examples
///
/// A handshake over a stand-in edge (a flag and a condition variable; a real source uses an
/// eventfd and its kernel wait), answered level-triggered:
///
/// ```
/// use std::io;
/// use std::sync::{Arc, Condvar, Mutex};
///
/// use reactor::io::{Edge, Handshake};
///
/// #[derive(Default)]
/// struct Counter {
///     raised: Mutex<u64>,
///     changed: Condvar,
/// }
///
/// impl Edge for Counter {
///     fn raise(&self) {
///         *self.raised.lock().unwrap() += 1;
///         self.changed.notify_all();
///     }
///
///     fn take(&self) -> io::Result<bool> {
///         Ok(std::mem::take(&mut *self.raised.lock().unwrap()) > 0)
///     }
/// }
///
/// impl Counter {
///     /// The source's wait: returns once an edge is raised (level-triggered: it stays raised).
///     fn wait(&self) {
///         let raised = self.raised.lock().unwrap();
///         drop(self.changed.wait_while(raised, |raised| *raised == 0).unwrap());
///     }
/// }
///
/// let handshake = Arc::new(Handshake::new(Counter::default()));
/// let remote = handshake.clone();
/// let other_thread = std::thread::spawn(move || {
///     remote.notify();
///     remote.notify(); // coalesces into the first: no second raise
/// });
/// handshake.edge().wait();
/// other_thread.join().unwrap();
/// // After every wait, before re-checking what the source waits for:
/// assert!(handshake.after_wait()?); // answered, and the edge taken back
/// assert!(!handshake.after_wait()?); // nothing pending: no call into the edge
/// # Ok::<(), io::Error>(())
/// ```
///
/// # Protocol
///
/// - [`notify`](Self::notify) swaps `pending` to true and raises the edge only if it was false.
///   So there is at most one raise per notification period (an eventfd's counter is 0 or 1).
/// - The waiter waits on the edge together with its own events. An edge-triggered waiter calls
///   [`on_edge`](Self::on_edge) when its wait reports the edge, which swaps `pending` back to
///   false. A level-triggered waiter calls [`after_wait`](Self::after_wait) after every wait,
///   which does nothing if `pending` is false; otherwise it takes the edge back and, if that
///   found the raise, swaps `pending` back to false. Then the waiter re-checks what it waits for
///   before it waits again.
///
/// Every notify is then either seen by the waiter's re-check or ends the next wait: a notify that
/// raises ends a wait (and, level-triggered, keeps ending waits until it is taken back), and a
/// notify that finds `pending` true raises nothing but coalesces into a raise the waiter has not
/// answered yet, so the swap that answers it comes after, and synchronises with, that notify.
///
/// # Why take before clearing
///
/// `after_wait` takes the edge back first and clears the flag second. In the other order, a
/// notify landing between the clear and the take finds the flag down, raises it and raises the
/// edge; the take then consumes that raise. The flag is left up with nothing raised: every later
/// notify finds it up and raises nothing, so no notify ever ends a wait again.
///
/// And when the flag is up but the take finds nothing, the notify that raised the flag is between
/// its swap and its raise: `after_wait` leaves the flag up, and that raise ends the next wait,
/// whose `after_wait` takes it back and clears the flag. Clearing it there instead would let the
/// raise land with the flag down: the edge stays raised, no `after_wait` takes it back (the flag
/// says nothing is pending), and every level-triggered wait returns at once until some later
/// notify.
///
/// # Why an acquiring swap
///
/// A notify that finds `pending` true relies on the waiter's re-check to see what it published
/// before notifying. The waiter's clearing swap is a read-modify-write, so it reads the latest
/// value of the flag and comes after that notify's swap in the flag's modification order; every
/// write to the flag being a read-modify-write, each notify's Release swap heads a release
/// sequence that the waiter's Acquire swap reads from, so what every coalesced notifier wrote is
/// visible to the re-check. A plain store of false would acquire nothing: the re-check could miss
/// the coalesced notifier's work and the waiter block with no raise left to wake it.
///
/// The handshake is built on [`sync`](crate::sync), so a loom model checks it over a model of
/// the edge; the workspace's own models do, each failure mode above with a seeded bug that they
/// must catch. `reactor-epoll`'s `FdNotifier` is this handshake over an eventfd, and the
/// [guide](crate::guide#a-blocking-source-over-file-descriptors) has a complete blocking source
/// built on it.
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

    /// The edge, for the waiter to wait on (an eventfd's fd to add to its wait).
    pub fn edge(&self) -> &E {
        &self.edge
    }

    /// Makes the wait in progress return, or the next one return at once; from any thread, and
    /// never lost. What the caller wrote before notifying is visible to the waiter's re-check once
    /// it has answered the notification.
    ///
    /// One atomic swap, plus one [`raise`](Edge::raise) when no notification is pending yet.
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
        if crate::sync::seeded!(NotifyClearIsAStore) {
            self.pending.store(false, Ordering::SeqCst);
            return;
        }
        // Acquire: the writes of every notify coalesced into this edge are visible to the
        // re-check that follows (see "Why an acquiring swap" above).
        self.pending.swap(false, Ordering::Acquire);
    }

    /// Answers a notification, for a waiter that polls the edge level-triggered: to be called
    /// after every wait, whatever ended it, before the waiter re-checks what it waits for. Takes
    /// the edge back if a notification is pending, then clears the flag; returns whether it
    /// answered a notification (a spurious `false` is fine: the edge then stays raised, and the
    /// next wait returns at once to answer it). Only the waiting thread calls it.
    ///
    /// # Errors
    ///
    /// The error of [`Edge::take`]; the notification then stays pending.
    pub fn after_wait(&self) -> io::Result<bool> {
        // Relaxed: only a fast path. Missing a notify whose swap is racing with this load loses
        // nothing: its raise is done or coming, so the next wait returns at once, and the wait
        // that reports the raise is ordered after it by the kernel, so this load then sees it.
        if !self.pending.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if crate::sync::seeded!(NotifierClearsBeforeTaking) {
            self.pending.swap(false, Ordering::SeqCst);
            return self.edge.take();
        }
        // First take the edge back, then clear: see "Why take before clearing" above.
        if !self.edge.take()? {
            if crate::sync::seeded!(NotifierClearsWithNothingTaken) {
                self.pending.swap(false, Ordering::SeqCst);
            }
            // The notify that raised the flag has not raised its edge yet: leave the flag up,
            // so that its edge is taken back after the wait it ends.
            return Ok(false);
        }
        // Acquire: see "Why an acquiring swap" above.
        self.pending.swap(false, Ordering::Acquire);
        Ok(true)
    }
}
