//! A channel for exactly one value.
//!
//! See [`oneshot`](crate::oneshot()) for how to make one.
//!
//! # Compared with tokio's `oneshot`
//!
//! The calls follow `tokio::sync::oneshot`: [`Sender::send`] hands the value back when the
//! receiver is gone or closed; [`Sender::closed`] / [`Sender::poll_closed`] wait for the receiver
//! to drop or [`close`](Receiver::close); [`Receiver::close`] makes every later send fail, while
//! a value sent before it can still be taken with [`Receiver::try_recv`] (or by awaiting the
//! receiver). Differences: the receive errors are this crate's [`RecvError`] and
//! [`TryRecvError`] (tokio's `Closed` is our `Closed`, its `Empty` our `Empty`), the blocking
//! receive is [`Receiver::recv_blocking`], and [`Sender::poll_closed`] spends no cooperative
//! budget.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::blocking::block_on;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Arc;
use crate::sync::UnsafeCell;
use crate::waker_slot::WakerSlot;
use crate::{RecvError, SendError, TryRecvError};

/// The sender stored the value in `value` and handed it to the receiver.
const SENT: usize = 0b001;
/// The sender is gone (after sending, or without sending).
const SENDER_GONE: usize = 0b010;
/// The receiver is gone or [closed](Receiver::close) the channel; a value sent now is handed back
/// to the sender. Set only while `SENT` is not set can a send still come: see [`Sender::send`].
const RECEIVER_GONE: usize = 0b100;

/// Shared by the two halves.
///
/// Ownership of `value`: the sender writes it, then sets `SENT`, but only on a state without
/// `RECEIVER_GONE` (a compare-exchange). From then on it belongs to the receiver, which may still
/// take it after [`Receiver::close`]. If `RECEIVER_GONE` was set first, `SENT` is never set and
/// the sender takes the value back: so a receiver that finds `SENT` knows the value is its own,
/// whether or not it closed since. If the receiver drops after `SENT` without taking it, it stays
/// in the cell and is dropped with `Inner`.
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    receiver_waker: WakerSlot,
    /// The waker of a [`Sender::closed`] wait, woken when `RECEIVER_GONE` is set.
    sender_waker: WakerSlot,
}

// SAFETY: `value` is accessed by one side at a time, handed over through `state` as described on
// the type, so sharing `Inner` between the two threads only ever moves a `T` across: `T: Send`
// suffices.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as for `Send`; no `&T` is ever shared.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Makes a oneshot channel: one [`Sender`] sends one value to one [`Receiver`].
///
/// # Examples
///
/// ```
/// use reactor_channel::oneshot;
/// # futures_lite::future::block_on(async {
///
/// let (tx, rx) = oneshot();
/// std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        receiver_waker: WakerSlot::new(),
        sender_waker: WakerSlot::new(),
    });
    (Sender { inner: inner.clone() }, Receiver { inner, received: false })
}

/// Sends the one value of a [`oneshot`](crate::oneshot()) channel.
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, consuming the sender. Never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` inside when the receiver is gone or [closed](Receiver::close)
    /// the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::oneshot;
    ///
    /// let (tx, rx) = oneshot();
    /// drop(rx);
    /// assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
    /// ```
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        // SAFETY: `SENT` is not set yet (only this, consuming, call sets it), so the cell is ours.
        self.inner.value.with_mut(|slot| unsafe { *slot = Some(value) });
        // Acquire (here and on a failed exchange): a take-back is ordered after everything the
        // receiver did before it released `RECEIVER_GONE`.
        let mut state = self.inner.state.load(Ordering::Acquire);
        loop {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::OneshotSendIgnoresClose) {
                // The send before `close` existed: `SENT` set whatever the state.
                state = self.inner.state.fetch_or(SENT, Ordering::AcqRel);
                break;
            }
            if state & RECEIVER_GONE != 0 {
                break;
            }
            // Release: hands the value to the receiver, which acquires `SENT`. Only on a state
            // without `RECEIVER_GONE`: a receiver that closed first never sees `SENT`, so it never
            // reads the cell that this send takes back below.
            match self.inner.state.compare_exchange_weak(
                state,
                state | SENT,
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RECEIVER_GONE != 0 {
            // SAFETY: `SENT` was not set (the exchange above never succeeded), so the receiver
            // never reads the cell: the value is still ours.
            let value = self.inner.value.with_mut(|slot| unsafe { (*slot).take() });
            return value.map_or(Ok(()), |value| Err(SendError(value)));
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::OneshotSendSkipsWake) {
            return Ok(());
        }
        self.inner.receiver_waker.wake();
        Ok(())
    }

    /// Whether the receiver is gone or [closed](Receiver::close) the channel, so
    /// [`send`](Self::send) would fail.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release of the receiver's drop or close (only a hint here).
        self.inner.state.load(Ordering::Acquire) & RECEIVER_GONE != 0
    }

    /// Polls for the receiver to be gone or [closed](Receiver::close): the building block of
    /// [`closed`](Self::closed), for hand-written futures.
    ///
    /// Returns `Pending` and wakes `cx` once the receiver drops or closes. Only the waker of the
    /// most recent call is woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_closed() {
            return Poll::Ready(());
        }
        self.inner.sender_waker.register(cx.waker());
        // Again: a close between the first look and the registration woke nobody. The
        // registration's fence and the closing side's (in `WakerSlot::wake`) make at least one of
        // the two sides see the other.
        if self.is_closed() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Waits until the receiver is gone or [closed](Receiver::close): the value is no longer
    /// wanted, so the work that would produce it can stop.
    ///
    /// Dropping the future before it completes is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::oneshot;
    /// # futures_lite::future::block_on(async {
    ///
    /// let (mut tx, rx) = oneshot::<u32>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await; // the receiver dropped
    /// assert!(tx.send(1).is_err());
    /// # });
    /// ```
    pub fn closed(&mut self) -> ClosedFuture<'_, T> {
        ClosedFuture { sender: self }
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct ClosedFuture<'a, T> {
    sender: &'a mut Sender<T>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.sender.poll_closed(cx)
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::ClosedFuture").finish_non_exhaustive()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: Release orders the send (if any) before; Acquire for symmetry with `send`, as
        // the receiver may be gone and we touch nothing else afterwards.
        let state = self.inner.state.fetch_or(SENDER_GONE, Ordering::AcqRel);
        if state & (SENT | RECEIVER_GONE) == 0 {
            self.inner.receiver_waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").field("closed", &self.is_closed()).finish()
    }
}

/// Receives the one value of a [`oneshot`](crate::oneshot()) channel: `.await` it.
///
/// **Cancel-safe**: the value is taken only by the poll that returns it, so dropping the future
/// before it completes loses nothing the receiver could have had (the value is then dropped
/// with the channel, exactly once). Awaiting a receiver that already returned gives
/// [`RecvError`].
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// Whether this receiver already returned the value (or the error).
    received: bool,
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when the value was not sent yet; [`TryRecvError::Closed`] when the
    /// sender dropped without sending, the receiver [closed](Self::close) the channel before a
    /// value was sent, or the value was received already.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.received {
            return Err(TryRecvError::Closed);
        }
        // Acquire: pairs with the Release of the send, making the value visible.
        let state = self.inner.state.load(Ordering::Acquire);
        if state & SENT != 0 {
            self.received = true;
            // SAFETY: `SENT` is set and this receiver is alive, so the cell is ours (see `Inner`).
            let value = self.inner.value.with_mut(|slot| unsafe { (*slot).take() });
            return value.ok_or(TryRecvError::Closed);
        }
        if state & (SENDER_GONE | RECEIVER_GONE) != 0 {
            self.received = true;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Closes the channel: a send from now on fails and hands its value back, and a
    /// [`Sender::closed`] wait ends. A value sent before the close can still be taken with
    /// [`try_recv`](Self::try_recv) (or by awaiting the receiver); with none, receiving reports
    /// the channel closed instead of waiting. As in tokio, call `try_recv` after `close` to find
    /// out whether a value came before it.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{oneshot, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::<u32>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    ///
    /// let (tx, mut rx) = oneshot();
    /// tx.send(2).unwrap();
    /// rx.close();
    /// assert_eq!(rx.try_recv(), Ok(2)); // sent before the close
    /// ```
    pub fn close(&mut self) {
        self.close_and_wake();
    }

    /// Sets `RECEIVER_GONE` and wakes a [`Sender::closed`] wait.
    fn close_and_wake(&self) {
        // Release: our accesses to the cell happen before a sender that sees `RECEIVER_GONE`
        // takes its value back. (A sender that set `SENT` first never takes it back, and the
        // receiver may still read the cell after this.) A read-modify-write, so that the
        // closing side's half of the pattern in `poll_closed` has its write before the fence in
        // `wake`.
        let state = self.inner.state.fetch_or(RECEIVER_GONE, Ordering::Release);
        if state & (RECEIVER_GONE | SENDER_GONE) != 0 {
            return; // closed before, or nobody left to wake
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::OneshotCloseSkipsSenderWake) {
            return;
        }
        self.inner.sender_waker.wake();
    }

    /// Waits for the value on a plain OS thread, blocking it.
    ///
    /// # Errors
    ///
    /// [`RecvError`] when the sender dropped without sending.
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        block_on(self)
    }

    /// Whether the sender is gone: the value, if any, is all that will ever come.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release of the sender's drop (only a hint here).
        self.inner.state.load(Ordering::Acquire) & SENDER_GONE != 0
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Inside an executor each poll spends one unit of the task's cooperative budget
    /// ([`reactor::coop::poll_proceed`]).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(reactor::coop::poll_proceed(cx));
        let this = &mut *self;
        match this.try_recv() {
            Ok(value) => return Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {}
        }
        this.inner.receiver_waker.register(cx.waker());
        // Again: a send or a sender drop between the first look and the registration woke nobody.
        match this.try_recv() {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close_and_wake();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").field("closed", &self.is_closed()).finish()
    }
}
