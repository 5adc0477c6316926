//! A channel for exactly one value.
//!
//! See [`oneshot`](crate::oneshot()) for how to make one.

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
/// The receiver is gone; a value sent now is handed back to the sender.
const RECEIVER_GONE: usize = 0b100;

/// Shared by the two halves.
///
/// Ownership of `value`: the sender writes it, then sets `SENT`. From then on it belongs to the
/// receiver, unless `RECEIVER_GONE` was set first, in which case the sender takes it back. If the
/// receiver drops after `SENT` without taking it, it stays in the cell and is dropped with `Inner`.
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    receiver_waker: WakerSlot,
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
    /// [`SendError`] with `value` inside when the receiver is gone.
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
        // AcqRel: Release hands the value to the receiver, which acquires `SENT`; Acquire orders a
        // take-back after the receiver's last access, which released `RECEIVER_GONE`.
        let state = self.inner.state.fetch_or(SENT, Ordering::AcqRel);
        if state & RECEIVER_GONE != 0 {
            // SAFETY: the receiver left before `SENT` was set, so it never reads the cell: the
            // value is still ours.
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

    /// Whether the receiver is gone, so [`send`](Self::send) would fail.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release of the receiver's drop (only a hint here).
        self.inner.state.load(Ordering::Acquire) & RECEIVER_GONE != 0
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
    /// sender dropped without sending, or the value was received already.
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
        if state & SENDER_GONE != 0 {
            self.received = true;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
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
        // Release: our last access to the cell happens before a sender that sees `RECEIVER_GONE`
        // takes its value back.
        self.inner.state.fetch_or(RECEIVER_GONE, Ordering::Release);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").field("closed", &self.is_closed()).finish()
    }
}
