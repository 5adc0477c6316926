//! The state one MPSC channel's senders and receiver share, and the constructors.

use concurrent_queue::ConcurrentQueue;
use event_listener::{Event, IntoNotification};

use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::Arc;
use crate::waker_slot::WakerSlot;
use crate::{Receiver, Sender};

/// One channel: the queue and who to wake.
///
/// Closing is the queue's own `close`: after it, pushes fail (handing the value back) while pops
/// still return every message queued before, then report the channel closed. That is what makes
/// "every message sent before the last sender drops is received" hold without a lock.
#[derive(Debug)]
pub(crate) struct Chan<T> {
    pub(crate) queue: ConcurrentQueue<T>,
    /// The receiver's waker, woken after every successful push and when the channel closes.
    pub(crate) receiver_waker: WakerSlot,
    /// Senders waiting for room in a full bounded channel. Never listened to on an unbounded
    /// channel.
    ///
    /// Invariant: while the queue has room and a sender listens, at least one listener is
    /// notified (see [`Chan::hand_room_on`]). All are notified when the channel closes.
    pub(crate) room: Event,
    /// Live [`Sender`]s; the last one to drop closes the channel.
    pub(crate) senders: AtomicUsize,
}

impl<T> Chan<T> {
    fn new(queue: ConcurrentQueue<T>) -> Arc<Self> {
        Arc::new(Self {
            queue,
            receiver_waker: WakerSlot::new(),
            room: Event::new(),
            senders: AtomicUsize::new(1),
        })
    }

    /// Closes the channel and wakes everybody waiting on it. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let closed = self.queue.close();
        if closed {
            self.receiver_waker.wake();
            self.room.notify(usize::MAX);
        }
        closed
    }

    /// Whether taking a message may have made room a sender is waiting for.
    pub(crate) fn is_bounded(&self) -> bool {
        self.queue.capacity().is_some()
    }

    /// Makes sure a sender waiting for room will take the room there is: notifies one listener
    /// unless one is already notified (or none listens).
    ///
    /// Called by the receiver after every message it takes, and by a sender that was notified
    /// and then pushed (it used up its notification, and room may be left for the next waiter).
    /// One notified sender at a time is enough: it pushes, then hands whatever room is left on
    /// (and a task sending in a loop usually fills that room with its next sends, which find it
    /// without waiting). Notifying one sender per message taken instead woke a sender task (and
    /// took the event's lock) for every message in a busy channel.
    ///
    /// # Why no sender waits on room for ever
    ///
    /// A sender listens, then tries to push again; a taker makes room, then calls this. Each
    /// side has a `SeqCst` fence between its write (the listener list, whose notified count it
    /// publishes; the queue) and its read (the queue; the notified count): the store-buffering
    /// pattern, so either the sender finds the room or this call finds the sender unnotified.
    /// The same holds between a notified sender that removed its listener and then pushed (its
    /// read of the queue is [`ConcurrentQueue::is_full`] below) and a taker that still counted
    /// it as notified: one of the two sees room with an unnotified listener, and notifies it.
    pub(crate) fn hand_room_on(&self) {
        #[cfg(reactor_loom)]
        let skip_fence = crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::HandOnSkipsFence);
        #[cfg(not(reactor_loom))]
        let skip_fence = false;
        if !skip_fence {
            fence(Ordering::SeqCst);
        }
        // `is_notified` is also true when nobody listens: nothing to do then either. Both it and
        // `is_full` read after the fence above.
        if self.room.is_notified() || self.queue.is_full() {
            return;
        }
        // Relaxed: the fence above already orders this after the caller's change to the queue.
        // Non-additional: notifies only if no listener is notified by now (checked again under
        // the event's lock).
        self.room.notify(1.relaxed());
    }
}

/// A channel that holds at most `capacity` messages; [`Sender::send`] waits while it is full.
///
/// A `capacity` of 0 is taken as 1, the smallest queue that can hold a message: this channel has
/// no rendezvous mode, and a zero capacity could never deliver anything.
///
/// # Examples
///
/// ```
/// use reactor_channel::{bounded, TrySendError};
///
/// let (tx, mut rx) = bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Chan::new(ConcurrentQueue::bounded(capacity.max(1)));
    (Sender::new(chan.clone()), Receiver::new(chan))
}

/// A channel with no capacity limit: sending never waits.
///
/// # Examples
///
/// ```
/// use reactor_channel::unbounded;
///
/// let (tx, rx) = unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Chan::new(ConcurrentQueue::unbounded());
    (Sender::new(chan.clone()), Receiver::new(chan))
}
