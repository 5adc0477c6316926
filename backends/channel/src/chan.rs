//! The state one MPSC channel's senders and receiver share, and the constructors.

use concurrent_queue::ConcurrentQueue;
use event_listener::{Event, IntoNotification};

use crate::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
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
    /// Invariant: while the queue has room, every listener is notified, or `room_wanted` is set
    /// (and the next take that leaves room notifies it), or its sender is still to look at the
    /// queue again after listening (and finds the room). All are notified when the channel closes.
    /// See [`Chan::room_made`].
    pub(crate) room: Event,
    /// Set by a sender once it listens on `room`, cleared by the take that then notifies every
    /// listener. Written only with read-modify-writes, so that a take's Acquire swap synchronises
    /// with every sender's swap before it, not only the last one's.
    pub(crate) room_wanted: AtomicBool,
    /// Live [`Sender`]s; the last one to drop closes the channel. Never incremented from 0: a
    /// [`WeakSender`](crate::WeakSender) upgrades only while it is above 0 (a compare-exchange),
    /// so once the last sender is gone no sender ever exists again.
    pub(crate) senders: AtomicUsize,
    /// Live [`WeakSender`](crate::WeakSender)s: only reported by `weak_count`, never decides
    /// anything.
    pub(crate) weak_senders: AtomicUsize,
    /// [`Sender::closed`](crate::Sender::closed) waits listen here; notified (all of them) when
    /// the channel closes.
    pub(crate) closed: Event,
}

impl<T> Chan<T> {
    fn new(queue: ConcurrentQueue<T>) -> Arc<Self> {
        Arc::new(Self {
            queue,
            receiver_waker: WakerSlot::new(),
            room: Event::new(),
            room_wanted: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            weak_senders: AtomicUsize::new(0),
            closed: Event::new(),
        })
    }

    /// Closes the channel and wakes everybody waiting on it. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let closed = self.queue.close();
        if closed {
            self.receiver_waker.wake();
            self.room.notify(usize::MAX);
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::CloseSkipsClosedNotify) {
                return closed;
            }
            // After the queue's close (a `SeqCst` read-modify-write): a `closed` wait that
            // listened before this notify is woken, one that listens after it finds the queue
            // closed on its look after listening (see `Sender::closed`).
            self.closed.notify(usize::MAX);
        }
        closed
    }

    /// Whether taking a message may have made room a sender is waiting for.
    pub(crate) fn is_bounded(&self) -> bool {
        self.queue.capacity().is_some()
    }

    /// Wakes the senders waiting for room: every one of them, once the queue has room and one
    /// listened since the last time they were all woken.
    ///
    /// Called by the receiver after every message it takes from a bounded channel.
    ///
    /// # Why every waiting sender, and what it costs
    ///
    /// A notified sender may never run: a send future polled once and then kept unpolled (the
    /// losing arm of a `select!`) holds its notification for ever, and nothing tells it apart
    /// from a sender that is merely slow. Waking one sender at a time (a single "room" token
    /// handed from sender to sender) therefore let one forgotten future keep every other sender
    /// asleep beside an empty channel. Here room itself is what wakes: a take that leaves room
    /// notifies every listener, so a forgotten one holds back nobody but itself.
    ///
    /// This is not a wake per message. A listener is notified once; the flag `room_wanted`,
    /// set by a sender after it listens, is what makes a take go to the event at all, and the
    /// take that clears it notifies them all. So each wake pays for one send that found the
    /// channel full and listened, whatever the number of messages taken; a take with no new
    /// listener costs a fence and one or two loads, as before (the event's own `notify` would
    /// take its lock every time). The price is a herd when several senders wait for one slot: up
    /// to one wake per waiting sender per slot, of which one pushes and the others listen again.
    /// That is bounded by the number of waiting senders (tasks), not by the traffic; async-channel
    /// instead notifies one additional listener per message taken, which takes the event's lock
    /// for every message, and still leaves a sender stranded behind a forgotten one until the
    /// next take.
    ///
    /// # Why no sender waits on room for ever
    ///
    /// A sender listens, swaps `room_wanted` to true, then tries to push again; a taker makes room,
    /// then reads `room_wanted`. Each side has a `SeqCst` fence between its write (the flag; the
    /// queue) and its read (the queue; the flag): the store-buffering pattern, so either the
    /// sender finds the room or the taker finds the flag set. A taker that finds it set and the
    /// queue not full swaps it back and notifies every listener; its Acquire swap synchronises
    /// with the Release swap of every sender that set it before (all writes to the flag are
    /// read-modify-writes, one release sequence), so those senders' listeners are in the list
    /// the notification walks. A taker that finds the queue full again leaves the flag set: the
    /// room went to a push, and the next take, which must come before a sender can push again,
    /// finds it.
    pub(crate) fn room_made(&self) {
        #[cfg(reactor_loom)]
        let skip_fence = crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RoomMadeSkipsFence);
        #[cfg(not(reactor_loom))]
        let skip_fence = false;
        if !skip_fence {
            fence(Ordering::SeqCst);
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::SingleRoomToken) {
            self.pass_single_room_token();
            return;
        }
        // Relaxed: read after the fence above, which orders it after the caller's take.
        if !self.room_wanted.load(Ordering::Relaxed) || self.queue.is_full() {
            return;
        }
        // Acquire: synchronises with every sender that set the flag (see the docs). A swap, not
        // a store: a sender that sets it between the load above and here is not lost. (Only the
        // one receiver clears it, so this finds it set.)
        if self.room_wanted.swap(false, Ordering::Acquire) {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RoomMadeNotifiesOne) {
                self.room.notify(1.additional().relaxed());
                return;
            }
            // Relaxed: the fence and the Acquire above order it after the take. Non-additional
            // `usize::MAX`: every listener not notified yet.
            self.room.notify(usize::MAX.relaxed());
        }
    }

    /// Records that a sender listens on `room`; called between `listen` and the sender's fence.
    pub(crate) fn want_room(&self) {
        // Release: the listener is in the list before a taker that acquires the flag notifies.
        // A swap, not a store: see `room_wanted`.
        self.room_wanted.swap(true, Ordering::Release);
    }

    /// The single-token design this crate had before (a seeded bug now): a take notifies one
    /// listener unless one is notified already, and a notified sender that pushes hands the room
    /// left on with this same call. A forgotten notified sender keeps the token.
    #[cfg(reactor_loom)]
    pub(crate) fn pass_single_room_token(&self) {
        fence(Ordering::SeqCst);
        if self.room.is_notified() || self.queue.is_full() {
            return;
        }
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
