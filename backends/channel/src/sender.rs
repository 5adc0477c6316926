//! The sending half of an MPSC channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use concurrent_queue::PushError;
use event_listener::{EventListener, Listener};

use crate::blocking::block_on;
use crate::chan::Chan;
use crate::sync::atomic::{fence, Ordering};
use crate::sync::Arc;
use crate::{SendError, SendTimeoutError, TrySendError, WeakSender};

/// The sending half of a [`bounded`](crate::bounded) or [`unbounded`](crate::unbounded) channel.
///
/// Cloneable, `Send + Sync`: any number of threads and tasks send into one channel. The channel
/// closes when the last sender is dropped; the receiver still gets every message sent before.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// A sender of `chan`, whose `senders` count already counts it.
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Self { chan }
    }

    /// Sends `value` without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when a bounded channel is full, [`TrySendError::Closed`] when the
    /// receiver is gone or closed the channel; both hand `value` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{unbounded, TrySendError};
    ///
    /// let (tx, rx) = unbounded();
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// drop(rx);
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Closed(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.queue.push(value) {
            Ok(()) => {
                self.chan.receiver_waker.wake();
                Ok(())
            }
            Err(PushError::Full(value)) => Err(TrySendError::Full(value)),
            Err(PushError::Closed(value)) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends `value`, waiting while a bounded channel is full.
    ///
    /// Dropping the future before it completes drops `value` unsent; a completed send is never
    /// undone.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` inside when the receiver is gone or closed the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::bounded;
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, mut rx) = bounded(1);
    /// tx.send("hello").await.unwrap();
    /// assert_eq!(rx.recv().await, Ok("hello"));
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            listener: None,
            #[cfg(reactor_loom)]
            notified: false,
        }
    }

    /// Sends `value` from a plain OS thread, blocking it while a bounded channel is full.
    ///
    /// Meant for threads outside any runtime; inside a task, use [`send`](Self::send), which
    /// waits without blocking the worker thread.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` inside when the receiver is gone or closed the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::bounded;
    ///
    /// let (tx, mut rx) = bounded(1);
    /// let producer = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.recv_blocking(), Ok(0));
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// assert_eq!(rx.recv_blocking(), Ok(2));
    /// producer.join().unwrap();
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on(self.send(value))
    }

    /// Sends `value`, waiting while a bounded channel is full, until `deadline` completes.
    ///
    /// `deadline` is any future that completes when time is up: this crate has no clock of its
    /// own, so the timer is the caller's (`reactor_timer::sleep(duration)` inside a reactor
    /// executor, a `Timer`'s `sleep_until`, or any other runtime's sleep). The send is tried
    /// before the deadline is polled, so a send that can complete at once does, even with a
    /// deadline already past; `send_timeout` (feature `timer`) is this
    /// with the ambient reactor timer.
    ///
    /// Cancel-safe in the same sense as [`send`](Self::send): dropping the future drops `value`
    /// unsent, and a completed send is never undone.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] when `deadline` completed first,
    /// [`SendTimeoutError::Closed`] when the receiver is gone or closed the channel; both hand
    /// `value` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{bounded, SendTimeoutError};
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, _rx) = bounded(1);
    /// tx.send_until(1, std::future::pending()).await.unwrap(); // room: sent at once
    /// let past = std::future::ready(()); // a deadline that has already come
    /// assert_eq!(tx.send_until(2, past).await, Err(SendTimeoutError::Timeout(2)));
    /// # });
    /// ```
    pub async fn send_until<D>(&self, value: T, deadline: D) -> Result<(), SendTimeoutError<T>>
    where
        D: Future<Output = ()>,
    {
        let mut send = self.send(value);
        let mut deadline = std::pin::pin!(deadline);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = Pin::new(&mut send).poll(cx) {
                return Poll::Ready(result.map_err(SendTimeoutError::from));
            }
            if deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // A pending send still holds its value (it is put back before every `Pending`).
            Poll::Ready(match send.value.take() {
                Some(value) => Err(SendTimeoutError::Timeout(value)),
                None => Ok(()),
            })
        })
        .await
    }

    /// Sends `value`, waiting at most `timeout` while a bounded channel is full, on the timer of
    /// the reactor executor this runs on (`reactor_timer::sleep`): [`send_until`](Self::send_until)
    /// with that sleep as the deadline. Only with the crate's `timer` feature.
    ///
    /// Why a feature: the channel crate is executor- and timer-agnostic (no backend depends on
    /// another, only the default runtime composes them), so the timer is an opt-in dependency;
    /// without it, `send_until(value, any_sleep)` does the same with any timer.
    ///
    /// # Errors
    ///
    /// As for [`send_until`](Self::send_until).
    ///
    /// # Panics
    ///
    /// When polled outside an executor whose source includes a `reactor_timer::Timer`, as
    /// `reactor_timer::sleep` does.
    #[cfg(feature = "timer")]
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: std::time::Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, reactor_timer::sleep(timeout)).await
    }

    /// Waits until the receiver is gone or [closed](crate::Receiver::close) the channel: the
    /// messages are no longer wanted, so the work that produces them can stop.
    ///
    /// Any number of senders (tasks sharing one sender, or clones) may wait at once; every wait
    /// completes when the channel closes. Dropping the future before it completes is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::unbounded;
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, rx) = unbounded::<u32>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await;
    /// assert!(tx.try_send(1).is_err());
    /// # });
    /// ```
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture { sender: self, listener: None }
    }

    /// A [`WeakSender`] of this channel: it does not keep the channel open, and
    /// [`upgrade`](WeakSender::upgrade)s to a sender while one is alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::unbounded;
    ///
    /// let (tx, rx) = unbounded::<u32>();
    /// let weak = tx.downgrade();
    /// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    /// weak.upgrade().unwrap().try_send(1).unwrap();
    /// drop(tx); // the last sender: the channel closes, weak senders or not
    /// assert!(rx.is_closed());
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender::new(self.chan.clone())
    }

    /// How many [`Sender`]s of this channel are alive (this one included).
    pub fn strong_count(&self) -> usize {
        // Relaxed: a snapshot for the caller, not part of any protocol.
        self.chan.senders.load(Ordering::Relaxed)
    }

    /// How many [`WeakSender`]s of this channel are alive.
    pub fn weak_count(&self) -> usize {
        // Relaxed: a snapshot for the caller, not part of any protocol.
        self.chan.weak_senders.load(Ordering::Relaxed)
    }

    /// Whether the receiver is gone or closed the channel, so every send fails.
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// The number of messages queued.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// Whether a bounded channel is full (an unbounded one never is).
    pub fn is_full(&self) -> bool {
        self.chan.queue.is_full()
    }

    /// The capacity of a bounded channel, `None` for an unbounded one.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: as for `Arc::clone`, a new sender is made from a live one, which keeps the
        // count above zero; no other memory is published by the increment.
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Self { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: Release orders this sender's pushes before the decrement; the last sender's
        // Acquire then orders every other sender's pushes before its `close`, so the receiver
        // sees all of them before it sees the channel closed.
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("len", &self.len()).field("closed", &self.is_closed()).finish()
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    /// `None` once the future completed.
    value: Option<T>,
    /// Listening for room in the full channel, after a push found it full.
    ///
    /// Dropped with the future: a listener notified but dropped unused passes its notification
    /// on to a listener not notified yet (event-listener's own rule). Progress does not depend
    /// on it, as every listener is notified when room is made (see `Chan::room_made`), but it
    /// costs nothing more than the removal from the list, which takes the same lock.
    listener: Option<EventListener>,
    /// The listener was notified (only for the seeded single-token design, see
    /// `Chan::pass_single_room_token`).
    #[cfg(reactor_loom)]
    notified: bool,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    /// Polling again after completion returns `Pending` for ever.
    ///
    /// A send spends none of the task's cooperative budget: the receive side does (see
    /// [`Receiver::poll_recv`](crate::Receiver::poll_recv)), and budgeting both ends doubled the
    /// executor's forced yields in the throughput benchmark for no gain in fairness between the
    /// two.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Some(value) = this.value.take() {
            match this.sender.try_send(value) {
                Ok(()) => {
                    // Discarded now, not whenever the completed future is dropped, and without
                    // passing a notification on: this send used the room it was notified for,
                    // and every other listener was notified with it.
                    #[cfg(reactor_loom)]
                    if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::SingleRoomToken) {
                        this.listener = None; // passes a notification it caught on
                        if this.notified {
                            this.sender.chan.pass_single_room_token();
                        }
                        return Poll::Ready(Ok(()));
                    }
                    if let Some(listener) = this.listener.take() {
                        listener.discard();
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(TrySendError::Closed(value)) => return Poll::Ready(Err(SendError(value))),
                Err(TrySendError::Full(value)) => this.value = Some(value),
            }
            // Full. Listen first and try again before waiting: room made between the failed push
            // and `listen` would otherwise go unnoticed.
            match &mut this.listener {
                None => {
                    this.listener = Some(this.sender.chan.room.listen());
                    this.sender.chan.want_room();
                    // The sender's half of the pattern in `Chan::room_made`: the flag is set
                    // (and the listener in the list) before the push is tried again.
                    fence(Ordering::SeqCst);
                }
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // Notified: the room may be taken by now, so try again, and listen again
                    // if it is.
                    this.listener = None;
                    #[cfg(reactor_loom)]
                    {
                        this.notified = true;
                    }
                }
            }
        }
        Poll::Pending
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct ClosedFuture<'a, T> {
    sender: &'a Sender<T>,
    /// Listening for the close, after a look found the channel open.
    listener: Option<EventListener>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    /// # Why no close is missed
    ///
    /// The close closes the queue and then notifies `Chan::closed`; a wait looks at the queue,
    /// listens, and looks again. A close that notified before the listener was in the list
    /// closed the queue before that, and the second look (after a `SeqCst` fence, as for room)
    /// finds it; one that notifies later notifies the listener.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if this.sender.is_closed() {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => {
                    this.listener = Some(this.sender.chan.closed.listen());
                    fence(Ordering::SeqCst);
                    #[cfg(reactor_loom)]
                    if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::ClosedSkipsRecheck) {
                        if let Some(listener) = &mut this.listener {
                            if Pin::new(listener).poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                        }
                    }
                }
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
            }
        }
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").field("waiting", &self.listener.is_some()).finish()
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").field("waiting", &self.listener.is_some()).finish_non_exhaustive()
    }
}
