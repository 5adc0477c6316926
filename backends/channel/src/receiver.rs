//! The receiving half of an MPSC channel.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use concurrent_queue::PopError;
use futures_core::Stream;

use crate::blocking::block_on;
use crate::chan::Chan;
use crate::sync::Arc;
use crate::{RecvError, TryRecvError};

/// The receiving half of a [`bounded`](crate::bounded) or [`unbounded`](crate::unbounded) channel.
///
/// There is one receiver per channel. Consume it from a task ([`recv`](Self::recv), or as a
/// [`Stream`]), from a plain thread ([`recv_blocking`](Self::recv_blocking)), or hand it to a
/// [`ChannelSource`](crate::ChannelSource) to have a callback run on the loop for each message.
///
/// Dropping the receiver closes the channel (senders get their values back in errors) and drops
/// every message still queued, each exactly once.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Self { chan }
    }

    /// Takes the next message without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when no message is queued, [`TryRecvError::Closed`] when none is
    /// queued and the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{unbounded, TryRecvError};
    ///
    /// let (tx, mut rx) = unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(7)); // sent before the close: still delivered
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.chan.queue.pop() {
            Ok(value) => {
                self.took_one();
                Ok(value)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Receives the next message, waiting until one is sent.
    ///
    /// **Cancel-safe**: the future takes a message off the queue only in the poll that returns it,
    /// so dropping it before it completes loses nothing; the message stays queued for the next
    /// receive.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and every message sent before was received.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{unbounded, RecvError};
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, mut rx) = unbounded();
    /// std::thread::spawn(move || tx.try_send(1).unwrap());
    /// assert_eq!(rx.recv().await, Ok(1));
    /// assert_eq!(rx.recv().await, Err(RecvError)); // the sender is gone
    /// # });
    /// ```
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture { receiver: self }
    }

    /// Receives at least one message and at most `limit`, appending them to `buffer`, and
    /// returns how many it appended: waits while the channel is empty and open, then takes
    /// what is queued, up to `limit`, without waiting for more.
    ///
    /// Returns 0 only when `limit` is 0 (at once) or when the channel is closed and every message
    /// was received, as tokio's `Receiver::recv_many` does. **Cancel-safe**: messages are taken
    /// only by the poll that returns them. A batch spends one unit of the cooperative budget,
    /// like one [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::unbounded;
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, mut rx) = unbounded();
    /// for i in 0..5 {
    ///     tx.try_send(i).unwrap();
    /// }
    /// drop(tx);
    /// let mut buffer = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 3);
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 2);
    /// assert_eq!(buffer, [0, 1, 2, 3, 4]);
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 0); // closed and drained
    /// # });
    /// ```
    pub fn recv_many<'a>(&'a mut self, buffer: &'a mut Vec<T>, limit: usize) -> RecvManyFuture<'a, T> {
        RecvManyFuture { receiver: self, buffer, limit }
    }

    /// Polls for at least one message and at most `limit`, appending them to `buffer`: the
    /// building block of [`recv_many`](Self::recv_many). `Ready(0)` when `limit` is 0 or the
    /// channel is closed and drained; otherwise like [`poll_recv`](Self::poll_recv).
    pub fn poll_recv_many(&mut self, cx: &mut Context<'_>, buffer: &mut Vec<T>, limit: usize) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RecvManyEndsOnClose)
            && self.is_closed()
        {
            return Poll::Ready(0);
        }
        let first = match ready!(self.poll_recv(cx)) {
            Ok(first) => first,
            Err(RecvError) => return Poll::Ready(0),
        };
        buffer.reserve(limit.min(self.len().saturating_add(1)));
        buffer.push(first);
        let mut taken = 1;
        while taken < limit {
            match self.try_recv() {
                Ok(value) => {
                    buffer.push(value);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        Poll::Ready(taken)
    }

    /// Receives the next message from a plain OS thread, blocking it until one is sent.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and every message sent before was received.
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Polls for the next message: the building block of [`recv`](Self::recv) and the
    /// [`Stream`] implementation, for hand-written futures.
    ///
    /// Returns `Pending` and wakes `cx` when a message arrives or the channel closes. Only the
    /// waker of the most recent call is woken.
    ///
    /// Inside an executor each call spends one unit of the task's cooperative budget
    /// ([`reactor::coop::poll_proceed`]): a consumer whose channel always has a message still
    /// yields to the other tasks now and then.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        ready!(reactor::coop::poll_proceed(cx));
        self.poll_recv_unbudgeted(cx)
    }

    /// [`poll_recv`](Self::poll_recv) without the cooperative budget, for the
    /// [`ChannelSource`](crate::ChannelSource) dispatch, which has its own batch limit and runs
    /// outside any task.
    pub(crate) fn poll_recv_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        match self.look_then_try_recv() {
            Ok(value) => return Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {}
        }
        self.chan.receiver_waker.register(cx.waker());
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RecvSkipsRecheck) {
            return Poll::Pending;
        }
        // Again: a message sent between the first look and the registration woke nobody.
        match self.look_then_try_recv() {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// [`try_recv`](Self::try_recv), but an open channel that looks empty is reported empty
    /// without trying to pop: the look is one or two loads, where the queue's pop of an empty
    /// queue is a read-modify-write or a full fence. A receive that is about to wait looks twice
    /// (before and after registering its waker), so this is its common case.
    ///
    /// A look is as good as the pop for the waker protocol: the queue's emptiness and closed
    /// state are `SeqCst` loads of the atomics a push or a close writes, read after the
    /// registration's fence. Only a closed channel goes on to the pop, which alone tells whether
    /// a message sent before the close is still queued.
    fn look_then_try_recv(&mut self) -> Result<T, TryRecvError> {
        if self.chan.queue.is_empty() && !self.chan.queue.is_closed() {
            return Err(TryRecvError::Empty);
        }
        self.try_recv()
    }

    /// Closes the channel: every later send fails and hands its value back, while the messages
    /// already queued can still be received. Returns whether this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::{unbounded, TryRecvError};
    ///
    /// let (tx, mut rx) = unbounded();
    /// tx.try_send(1).unwrap();
    /// assert!(rx.close());
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed: every sender is gone, or [`close`](Self::close) was called.
    /// Messages may still be queued.
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

    /// A message left the queue: a sender waiting for room may now push.
    fn took_one(&self) {
        if self.chan.is_bounded() {
            self.chan.room_made();
        }
    }
}

impl<T> Drop for Receiver<T> {
    /// Closes the channel and drops every queued message.
    ///
    /// A message whose `Drop` panics does not stop the others from being dropped: every message
    /// is dropped, then the first panic is raised again (if the receiver is dropped while its
    /// thread already unwinds, the messages' panics are discarded, as a second panic would abort).
    fn drop(&mut self) {
        let mut first_panic = None;
        // Closing wakes the waiting senders, whose wakers are user code: the messages are dropped
        // even if one of them panics.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.chan.close())) {
            first_panic = Some(panic);
        }
        // Drop what is queued now rather than when the last sender goes: a message may hold a
        // resource (a reply channel) that its sender waits on. Pushes after the close fail.
        while let Ok(message) = self.chan.queue.pop() {
            // `catch_unwind` costs nothing unless the drop panics.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| drop(message))) {
                first_panic.get_or_insert(panic);
            }
        }
        if let Some(panic) = first_panic {
            if !std::thread::panicking() {
                resume_unwind(panic);
            }
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let queued = self.len();
        (queued, self.is_closed().then_some(queued))
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("len", &self.len()).field("closed", &self.is_closed()).finish()
    }
}

/// The future of [`Receiver::recv`]; cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll_recv(cx)
    }
}

/// The future of [`Receiver::recv_many`]; cancel-safe.
#[must_use = "futures do nothing unless awaited"]
pub struct RecvManyFuture<'a, T> {
    receiver: &'a mut Receiver<T>,
    buffer: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Future for RecvManyFuture<'_, T> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        this.receiver.poll_recv_many(cx, this.buffer, this.limit)
    }
}

impl<T> fmt::Debug for RecvManyFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvManyFuture").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}
