//! The state one MPSC channel's senders and receiver share, and the constructors.

use concurrent_queue::ConcurrentQueue;
use event_listener::Event;

use crate::sync::atomic::AtomicUsize;
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
    /// Senders waiting for room in a full bounded channel; notified once per message taken and
    /// all at once when the channel closes. Never listened to on an unbounded channel.
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
