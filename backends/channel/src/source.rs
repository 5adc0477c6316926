//! Consuming channels with callbacks that run on the event loop.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::mem;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;
use reactor::source::{CallbackSlot, Notifier, NotifierSlot};
use reactor::EventSource;

use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::waker_refcount::{Arc, Weak};
use crate::Receiver;

/// How many messages one channel delivers per [`wait`](EventSource::wait) unless set with
/// [`ChannelSource::with_batch_limit`].
pub const DEFAULT_BATCH_LIMIT: usize = 128;

/// A passive event source that runs a callback on the loop for each message of its registered
/// channels.
///
/// [`register`](Self::register) a [`Receiver`] with a callback; each [`wait`](EventSource::wait)
/// then drains every channel that has messages, calling the callback for each, at most
/// [`batch_limit`](Self::with_batch_limit) messages per channel per wait so that one busy channel
/// cannot starve the others. When messages remain, [`deadline`](EventSource::deadline) is "now",
/// so the composed source does not block before the next wait: no syscall is spent on them.
///
/// There is no file descriptor per channel. A send into a registered channel wakes the channel's
/// entry, which queues it here and calls the [`Notifier`] this source was
/// [attached](EventSource::attach) with, once per transition from idle to ready (not per message),
/// so a send from any thread wakes an idle loop promptly.
///
/// Async tasks need none of this: [`Receiver::recv`] works with wakers alone. The handle is cheap
/// to clone; every clone is the same source. `reactor::Executor::new(ChannelSource::new())`
/// composes it with a parking source to block in, and code inside a task finds its executor's one
/// with `reactor::current_source::<ChannelSource>()`.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use reactor::source::{Composite, EventSource, Parking};
/// use reactor_channel::{unbounded, ChannelSource};
///
/// let channels = ChannelSource::new();
/// let source = Composite::new(Parking::new())?.with(channels.clone())?;
///
/// let (tx, rx) = unbounded();
/// let total = Arc::new(AtomicUsize::new(0));
/// let sum = total.clone();
/// let _registration = channels.register(rx, move |n: usize| {
///     sum.fetch_add(n, Ordering::Relaxed);
/// });
///
/// std::thread::spawn(move || (1..=3).for_each(|n| tx.try_send(n).unwrap())).join().unwrap();
/// while total.load(Ordering::Relaxed) < 6 {
///     source.wait(None)?; // wakes for the sends, runs the callback per message
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ChannelSource {
    shared: Arc<Shared>,
}

struct Shared {
    /// Registrations with messages (or a close) to deliver, each queued at most once (see
    /// `Entry::queued`).
    ready: ConcurrentQueue<Arc<Entry>>,
    /// Set by `attach`; called when an entry becomes ready.
    notifier: NotifierSlot,
    /// The most messages one channel delivers per dispatch.
    batch_limit: usize,
}

/// What one drain of a channel found.
enum Drained {
    /// The channel is empty (its waker is registered) or closed.
    Idle(usize),
    /// The batch limit was reached with messages possibly left.
    More(usize),
}

/// The drain of one registration: delivers up to a limit of messages through the callback,
/// registering the waker when the channel runs dry.
type Drain = dyn FnMut(&Waker, usize) -> Drained + Send;

/// One registration: a receiver and its callback, woken as a unit.
struct Entry {
    /// True from the wake that queued the entry until the dispatch that takes it off the queue,
    /// so that an entry is queued (and the loop notified) at most once per idle-to-ready change.
    queued: AtomicBool,
    /// Owns the receiver and the callback; removing it drops both.
    drain: CallbackSlot<Drain>,
    /// Weak: the ready queue holds entries, so a strong pointer back would be a cycle.
    shared: Weak<Shared>,
}

impl ChannelSource {
    /// A source with no registrations and the [`DEFAULT_BATCH_LIMIT`].
    pub fn new() -> Self {
        Self::with_batch_limit(DEFAULT_BATCH_LIMIT)
    }

    /// A source that delivers at most `limit` messages per channel per
    /// [`wait`](EventSource::wait) (a `limit` of 0 is taken as 1).
    pub fn with_batch_limit(limit: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                ready: ConcurrentQueue::unbounded(),
                notifier: NotifierSlot::new(),
                batch_limit: limit.max(1),
            }),
        }
    }

    /// Runs `callback` on the loop for every message of `receiver`, in order.
    ///
    /// Messages already queued are delivered on the next wait. Once every sender is gone and the
    /// last message was delivered, the registration goes quiet (the callback is not told; send a
    /// final message if the loop must know). Dropping the returned [`ChannelRegistration`]
    /// deregisters: once the drop returns the callback never runs again, and the receiver is
    /// dropped (closing the channel, see [`Receiver`]).
    ///
    /// A callback that panics loses the message it was given; the panic propagates out of
    /// [`wait`](EventSource::wait) and the channel's remaining messages are delivered by the next
    /// wait.
    pub fn register<T: Send + 'static>(
        &self,
        mut receiver: Receiver<T>,
        mut callback: impl FnMut(T) + Send + 'static,
    ) -> ChannelRegistration {
        let drain = move |waker: &Waker, limit: usize| {
            let mut cx = Context::from_waker(waker);
            for delivered in 0..limit {
                match receiver.poll_recv_unbudgeted(&mut cx) {
                    Poll::Ready(Ok(message)) => callback(message),
                    Poll::Ready(Err(_)) | Poll::Pending => return Drained::Idle(delivered),
                }
            }
            Drained::More(limit)
        };
        let entry = Arc::new(Entry {
            queued: AtomicBool::new(false),
            drain: CallbackSlot::new(Box::new(drain)),
            shared: Arc::downgrade(&self.shared),
        });
        // Queue it once so the first wait delivers what is already there and registers the waker.
        entry.wake_by_ref();
        ChannelRegistration { entry }
    }
}

impl Default for ChannelSource {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    fn notify(&self) {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::SourceSkipsNotify) {
            return;
        }
        self.notifier.notify();
    }

    /// Queues `entry` unless it is queued already; returns whether this call queued it.
    fn enqueue(&self, entry: &Arc<Entry>) -> bool {
        // AcqRel: Acquire orders this after the dispatch that cleared the flag; Release together
        // with the queue's own synchronisation publishes the entry to the dispatching thread.
        if entry.queued.swap(true, Ordering::AcqRel) {
            return false;
        }
        // The queue is unbounded and never closed.
        let _ = self.ready.push(entry.clone());
        true
    }
}

/// Queues an entry again if its callback panics mid-drain: the channel's waker is not registered
/// then, so without this no later send would ever wake the entry and its messages would stall.
struct RequeueOnPanic<'a> {
    shared: &'a Shared,
    entry: &'a Arc<Entry>,
}

impl Drop for RequeueOnPanic<'_> {
    fn drop(&mut self) {
        self.shared.enqueue(self.entry);
    }
}

impl EventSource for ChannelSource {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        let shared = &self.shared;
        let mut delivered = 0;
        // Only the entries queued when the dispatch began: one re-queued below for its remaining
        // messages waits for the next dispatch, after the other channels had their turn.
        for _ in 0..shared.ready.len() {
            let Ok(entry) = shared.ready.pop() else {
                break;
            };
            // Cleared before the drain, so a send during the drain queues the entry again.
            // Release pairs with the Acquire of that wake's swap.
            entry.queued.store(false, Ordering::Release);
            let waker = Waker::from(entry.clone());
            let requeue_on_panic = RequeueOnPanic { shared, entry: &entry };
            let drained = entry.drain.call(|drain| drain(&waker, shared.batch_limit));
            mem::forget(requeue_on_panic);
            match drained {
                Some(Drained::Idle(count)) => delivered += count,
                Some(Drained::More(count)) => {
                    delivered += count;
                    // No notify: `deadline` now says "now", so the next wait comes without one.
                    shared.enqueue(&entry);
                }
                None => {}
            }
        }
        Ok(delivered)
    }

    fn notify(&self) {
        self.shared.notify();
    }

    fn deadline(&self) -> Option<Instant> {
        (!self.shared.ready.is_empty()).then(Instant::now)
    }

    fn can_block(&self) -> bool {
        false
    }

    /// Stores the notifier that a channel becoming ready wakes.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live: a second
    /// one would take the wake-ups of the first (a clone is the same source).
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.notifier.attach(notifier)
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

impl fmt::Debug for ChannelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSource")
            .field("ready", &self.shared.ready.len())
            .field("batch_limit", &self.shared.batch_limit)
            .finish()
    }
}

impl Wake for Entry {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.drain.is_removed() {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if shared.enqueue(self) {
            shared.notify();
        }
    }
}

/// Keeps a [`ChannelSource`] callback registered; dropping it deregisters and drops the receiver.
///
/// Dropping it waits for the callback if it is running on another thread (from inside the
/// callback, the drop returns at once), so never drop it while holding a lock that the callback
/// takes.
pub struct ChannelRegistration {
    entry: Arc<Entry>,
}

impl Drop for ChannelRegistration {
    fn drop(&mut self) {
        self.entry.drain.remove();
    }
}

impl fmt::Debug for ChannelRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRegistration").finish_non_exhaustive()
    }
}
