//! A broadcast channel: many senders, many receivers, and every receiver sees every message sent
//! after it subscribed.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use reactor_channel::broadcast;
//! # futures_lite::future::block_on(async {
//!
//! let (tx, mut first) = broadcast::channel(NonZeroUsize::new(16).unwrap());
//! let mut second = tx.subscribe();
//! assert_eq!(tx.send("hello").unwrap(), 2); // two receivers will see it
//! assert_eq!(first.recv().await, Ok("hello"));
//! assert_eq!(second.recv().await, Ok("hello"));
//! drop(tx);
//! assert_eq!(first.recv().await, Err(broadcast::RecvError::Closed));
//! # });
//! ```
//!
//! # Lagging
//!
//! The channel keeps at most `capacity` messages. A send never waits for a slow receiver: when
//! the channel is full it drops the oldest message, and each receiver that had not received it
//! yet has *lagged*. Its next receive returns [`RecvError::Lagged`] with the number of messages
//! it missed, and the receive after that returns the oldest message the channel still keeps.
//! A message is dropped as soon as every receiver that was subscribed when it was sent has
//! received it (the last of them gets it moved, not cloned), so receivers that keep up never
//! lose anything.
//!
//! # Closing
//!
//! The channel closes when its last [`Sender`] drops. Each receiver still gets what is left for
//! it (a `Lagged` first, if it lagged), then [`RecvError::Closed`]. A send with no receiver
//! alive fails and hands the value back; a receiver made later (by [`Sender::subscribe`]) can
//! make sends succeed again.
//!
//! # Compared with tokio's `broadcast`
//!
//! The calls and their results follow `tokio::sync::broadcast`, with these differences:
//!
//! * [`channel`] takes a [`NonZeroUsize`] instead of panicking on 0, and keeps exactly
//!   `capacity` messages (tokio rounds the capacity up to a power of two).
//! * The channel's state sits behind one mutex, held for a message's `Clone` (as tokio holds a
//!   slot's lock for it): a `Clone` or a `Drop` of `T` that uses the same channel would deadlock.
//!   Values that leave the channel unreceived (lagged over, or left when a receiver drops) are
//!   dropped after the lock is released.
//! * There is no `Sender::closed` and no `Receiver::blocking_recv`; the blocking receive is
//!   [`Receiver::recv_blocking`], named like the crate's other channels.
//! * [`WeakSender`] is tokio's, its counts under the channel's one lock.
//! * The [`Receiver`] itself is a `Stream` of `Result<T, Lagged>` (tokio needs the
//!   `BroadcastStream` wrapper of `tokio-stream` for that): a lag is an item, the close ends it.
//! * [`Receiver::recv`] spends a unit of the executor's cooperative budget, like every receive
//!   of this crate.

mod error;
mod weak;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

pub use self::error::{Lagged, RecvError, TryRecvError};
pub use self::weak::WeakSender;
use crate::blocking::block_on;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Arc, Mutex};
use crate::SendError;

#[cfg(reactor_loom)]
use crate::sync::seeded_bug::{is_active, Bug};

/// Makes a broadcast channel that keeps at most `capacity` messages.
///
/// The receiver returned is subscribed from the start; make more with [`Sender::subscribe`] or
/// [`Receiver::resubscribe`].
///
/// # Examples
///
/// A receiver that falls behind by more than the capacity is told how many messages it missed:
///
/// ```
/// use std::num::NonZeroUsize;
/// use reactor_channel::broadcast::{self, TryRecvError};
///
/// let (tx, mut rx) = broadcast::channel(NonZeroUsize::new(2).unwrap());
/// for i in 1..=5 {
///     tx.send(i).unwrap(); // never waits, even though `rx` receives nothing
/// }
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
/// assert_eq!(rx.try_recv(), Ok(4)); // the oldest message still kept
/// assert_eq!(rx.try_recv(), Ok(5));
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// ```
pub fn channel<T: Clone>(capacity: NonZeroUsize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            slots: VecDeque::new(),
            tail: 0,
            capacity: capacity.get(),
            senders: 1,
            weak_senders: 0,
            receivers: 0,
            wakers: Vec::new(),
            free: Vec::new(),
            waiting: 0,
        }),
        tail: AtomicU64::new(0),
    });
    let receiver = Receiver::subscribe(&shared);
    (Sender { shared }, receiver)
}

/// What senders and receivers share.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// A copy of `State::tail`, stored under the lock after every send, so that
    /// [`Receiver::len`] needs no lock.
    tail: AtomicU64,
}

/// The ring and who waits on it. Positions count every message ever sent (a `u64` does not wrap
/// in practice).
///
/// Invariants: `slots` holds the messages at positions `head()..tail`, at most `capacity` of
/// them. Each slot's `remaining` is the number of live receivers whose `next` is at or before
/// it: receivers subscribed before it was sent that have not received it yet; a slot whose
/// `remaining` is positive holds its value. A slot at the front whose `remaining` is 0 is
/// removed at once, so a receiver whose `next` is before `head()` lagged: the channel was full
/// and dropped messages it had not received.
struct State<T> {
    slots: VecDeque<Slot<T>>,
    tail: u64,
    capacity: usize,
    senders: usize,
    /// Live [`WeakSender`]s: only reported, never decides anything.
    weak_senders: usize,
    receivers: usize,
    /// One entry per live receiver (its `waiter` index): the waker of its pending receive.
    wakers: Vec<Option<Waker>>,
    /// Entries of `wakers` no receiver uses.
    free: Vec<usize>,
    /// How many entries of `wakers` are `Some`, so a send with no waiter skips the walk.
    waiting: usize,
}

struct Slot<T> {
    value: Option<T>,
    remaining: usize,
}

impl<T> State<T> {
    fn head(&self) -> u64 {
        self.tail - self.slots.len() as u64
    }

    fn is_closed(&self) -> bool {
        self.senders == 0
    }

    /// Takes every registered waker out, to be woken once the lock is released.
    fn take_wakers(&mut self) -> Vec<Waker> {
        if self.waiting == 0 {
            return Vec::new();
        }
        self.waiting = 0;
        self.wakers.iter_mut().filter_map(Option::take).collect()
    }

    /// Removes the slots at the front that no receiver needs any more.
    fn pop_received(&mut self) {
        while self.slots.front().is_some_and(|slot| slot.remaining == 0) {
            self.slots.pop_front();
        }
    }
}

/// Sends to every [`Receiver`] of a [`broadcast`](self) channel. Clone it for more senders; the
/// channel closes when the last one drops.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver alive now, returning how many there are. Never waits:
    /// when the channel is full the oldest message is dropped, and receivers that had not
    /// received it lag (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` inside when no receiver is alive; nothing is kept then.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use reactor_channel::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(NonZeroUsize::new(4).unwrap());
    /// assert_eq!(tx.send(1), Ok(1));
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.shared.state.lock();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let evicted = if state.slots.len() == state.capacity { state.slots.pop_front() } else { None };
        let receivers = state.receivers;
        state.slots.push_back(Slot { value: Some(value), remaining: receivers });
        state.tail += 1;
        // Relaxed: only `len` reads it, as a count; the messages themselves are read under the
        // lock.
        self.shared.tail.store(state.tail, Ordering::Relaxed);
        let wakers = state.take_wakers();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
        drop(evicted);
        Ok(receivers)
    }

    /// A new receiver that sees every message sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver::subscribe(&self.shared)
    }
}

impl<T> Sender<T> {
    /// How many receivers are alive: how many a send now would reach.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().receivers
    }

    /// How many messages the channel keeps now: sent, and not yet received by every receiver
    /// that was subscribed when they were sent (at most the capacity).
    pub fn len(&self) -> usize {
        self.shared.state.lock().slots.len()
    }

    /// Whether every message sent was received by every receiver it was sent to (or dropped).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().senders += 1;
        Self { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        #[cfg(reactor_loom)]
        if state.senders == 1 && is_active(Bug::BroadcastClosesAfterWaking) {
            let wakers = state.take_wakers();
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
            self.shared.state.lock().senders = 0;
            return;
        }
        state.senders -= 1;
        // Marked closed and the waiters taken in one critical section: a receiver that looks
        // after it finds the channel closed, one that registered before it is woken.
        let wakers = if state.is_closed() { state.take_wakers() } else { Vec::new() };
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").field("receivers", &self.receiver_count()).finish()
    }
}

/// Receives every message sent to a [`broadcast`](self) channel after it subscribed, in order.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next message this receiver wants.
    next: u64,
    /// This receiver's entry in `State::wakers`.
    waiter: usize,
}

impl<T> Receiver<T> {
    /// A receiver at the tail of the channel, counted in `receivers`.
    fn subscribe(shared: &Arc<Shared<T>>) -> Self {
        let mut state = shared.state.lock();
        state.receivers += 1;
        let waiter = match state.free.pop() {
            Some(waiter) => waiter,
            None => {
                state.wakers.push(None);
                state.wakers.len() - 1
            }
        };
        Self { shared: shared.clone(), next: state.tail, waiter }
    }

    /// A new receiver that sees every message sent from now on, like [`Sender::subscribe`]: it
    /// starts at the tail, not where this receiver is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use reactor_channel::broadcast::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(NonZeroUsize::new(4).unwrap());
    /// tx.send(1).unwrap();
    /// let mut late = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(late.try_recv(), Ok(2));
    /// assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn resubscribe(&self) -> Self {
        Self::subscribe(&self.shared)
    }

    /// How many messages were sent since this receiver's last one and are still to be received
    /// by it, counting those it missed by lagging. As in tokio, a `len` above the capacity means
    /// the next receive returns [`RecvError::Lagged`].
    pub fn len(&self) -> usize {
        // Relaxed: a count; the send that stored it is not otherwise relied on.
        let tail = self.shared.tail.load(Ordering::Relaxed);
        usize::try_from(tail.saturating_sub(self.next)).unwrap_or(usize::MAX)
    }

    /// Whether no message is waiting for this receiver (and it has not lagged).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers of this channel are alive, this one included.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.lock().receivers
    }
}

impl<T: Clone> Receiver<T> {
    /// Takes this receiver's next message, or says why there is none, under the lock.
    fn take(&mut self, state: &mut State<T>) -> Result<T, TryRecvError> {
        let head = state.head();
        if self.next < head {
            let missed = head - self.next;
            self.next = head;
            return Err(TryRecvError::Lagged(missed));
        }
        if self.next == state.tail {
            return Err(if state.is_closed() { TryRecvError::Closed } else { TryRecvError::Empty });
        }
        // `next` is in `head..tail` (a receiver's `next` never passes `tail`).
        let index = usize::try_from(self.next - head).unwrap_or(usize::MAX);
        let slot = &mut state.slots[index];
        // Cloned before anything changes, so a panicking `Clone` leaves the state consistent.
        let value = if slot.remaining == 1 { slot.value.take() } else { slot.value.clone() };
        let value = value.expect("a slot some receiver still needs holds its value");
        slot.remaining -= 1;
        self.next += 1;
        state.pop_received();
        Ok(value)
    }

    /// Takes the next message without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when no message is waiting for this receiver,
    /// [`TryRecvError::Lagged`] when it missed messages (the next call returns the oldest kept
    /// one), [`TryRecvError::Closed`] when every sender is gone and nothing is left for it.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        #[cfg(reactor_loom)]
        let published_tail = self.shared.tail.load(Ordering::Relaxed);
        let shared = self.shared.clone();
        let mut state = shared.state.lock();
        #[cfg(reactor_loom)]
        if is_active(Bug::BroadcastLagCountedBeforeLock) {
            let stale_head = published_tail.saturating_sub(state.capacity as u64);
            if self.next < stale_head {
                let missed = stale_head - self.next;
                self.next = state.head();
                return Err(TryRecvError::Lagged(missed));
            }
        }
        self.take(&mut state)
    }

    /// Receives the next message, waiting until one is sent.
    ///
    /// **Cancel-safe**: a message is taken only by the poll that returns it.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] when this receiver missed messages (the next call returns the
    /// oldest kept one), [`RecvError::Closed`] when every sender is gone and nothing is left for
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use reactor_channel::broadcast;
    /// # futures_lite::future::block_on(async {
    ///
    /// let (tx, mut rx) = broadcast::channel(NonZeroUsize::new(4).unwrap());
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// assert_eq!(rx.recv().await, Ok(1));
    /// assert_eq!(rx.recv().await, Err(broadcast::RecvError::Closed));
    /// # });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }

    /// Receives the next message on a plain OS thread, blocking it until one is sent.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Polls for the next message; `cx` is woken when one is sent or the channel closes.
    ///
    /// Inside an executor each call spends one unit of the task's cooperative budget
    /// ([`reactor::coop::poll_proceed`]).
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        ready!(reactor::coop::poll_proceed(cx));
        let shared = self.shared.clone();
        let mut state = shared.state.lock();
        let result = match self.take(&mut state) {
            Ok(value) => {
                // This receive is over: a waker left from an earlier poll must not be woken
                // by the next send (its task may be waiting on something else by then).
                let stale = state.wakers[self.waiter].take();
                if stale.is_some() {
                    state.waiting -= 1;
                }
                drop(state);
                drop(stale);
                return Poll::Ready(Ok(value));
            }
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                #[cfg(reactor_loom)]
                if is_active(Bug::BroadcastRegistersAfterUnlock) {
                    drop(state);
                    state = shared.state.lock();
                }
                // Registered in the critical section that found nothing: a send takes the
                // wakers in its own, after pushing, so it either came before (and `take` saw
                // its message) or wakes this waker.
                let entry = &mut state.wakers[self.waiter];
                let was_waiting = entry.is_some();
                let replaced = match entry {
                    Some(stored) if stored.will_wake(cx.waker()) => None,
                    _ => entry.replace(cx.waker().clone()),
                };
                if !was_waiting {
                    state.waiting += 1;
                }
                drop(state);
                drop(replaced);
                return Poll::Pending;
            }
        };
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        state.receivers -= 1;
        let waker = state.wakers[self.waiter].take();
        if waker.is_some() {
            state.waiting -= 1;
        }
        state.free.push(self.waiter);
        // Give up this receiver's claim on every message it had not received; the ones nobody
        // else needs are dropped after the lock is released.
        let head = state.head();
        let from = usize::try_from(self.next.saturating_sub(head)).unwrap_or(usize::MAX);
        let mut unreceived = Vec::new();
        for slot in state.slots.iter_mut().skip(from) {
            slot.remaining -= 1;
            if slot.remaining == 0 {
                unreceived.extend(slot.value.take());
            }
        }
        state.pop_received();
        drop(state);
        drop(waker);
        drop(unreceived);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver").field("len", &self.len()).finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").finish_non_exhaustive()
    }
}

// Compile-time check that the halves can move between threads when the messages can.
const _: () = {
    const fn check<X: Send + Sync>() {}
    check::<Sender<u8>>();
    check::<Receiver<u8>>();
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver that drops gives up its claim on what it had not received: the ring empties,
    /// and the values are dropped (a receiver kept up with everything).
    #[test]
    fn a_dropped_receiver_releases_the_messages_it_had_not_received() {
        let (tx, mut rx) = channel::<u8>(NonZeroUsize::new(4).unwrap());
        let other = tx.subscribe();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(tx.len(), 2, "the other receiver still needs both");
        drop(other);
        assert_eq!(tx.len(), 1);
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(tx.is_empty());
        assert_eq!(tx.shared.state.lock().wakers.len(), 2);
        let again = tx.subscribe();
        assert_eq!(again.waiter, 1, "the freed waker entry is reused");
    }

    /// Polling again with the same waker keeps one registration, and a receive that completes
    /// removes its waker, so a later send wakes nobody for it.
    #[test]
    fn a_receiver_is_registered_at_most_once_and_not_after_its_receive_completes() {
        let (tx, mut rx) = channel::<u8>(NonZeroUsize::new(2).unwrap());
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let waker = Waker::from(std::sync::Arc::new(Noop)); // `Waker::noop` is newer than the MSRV
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert_eq!(tx.shared.state.lock().waiting, 1);
        tx.send(1).unwrap();
        assert_eq!(tx.shared.state.lock().waiting, 0, "the send took the waker");
        assert!(rx.poll_recv(&mut cx).is_ready());
        assert!(rx.poll_recv(&mut cx).is_pending());
        tx.send(2).unwrap();
        assert!(rx.poll_recv(&mut cx).is_ready());
        let state = tx.shared.state.lock();
        assert_eq!(state.waiting, 0);
        assert!(state.wakers.iter().all(Option::is_none), "no waker left behind");
    }
}
