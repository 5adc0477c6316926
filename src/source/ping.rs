//! A user-space source: callbacks triggered from any thread, no file descriptor.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;

use crate::source::{CallbackSlot, EventSource, Notifier, NotifierSlot};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::Arc;

/// A passive source of callbacks that any thread triggers with [`Ping::ping`].
///
/// Cloning gives another handle to the same source; inside an executor over it,
/// [`current_source`](crate::current_source) finds it.
///
/// Each [`register`](Self::register) returns a [`Ping`] (cloneable, `Send + Sync`) and a
/// [`PingRegistration`]. Pings coalesce: however many arrive before the next
/// [`wait`](EventSource::wait), the callback runs once, on the thread that waits. A ping during
/// the callback runs it again on the next wait. Dropping the registration deregisters.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use reactor::Executor;
/// use reactor::source::PingSource;
///
/// let pings = PingSource::new();
/// let runs = Arc::new(AtomicUsize::new(0));
/// let counter = runs.clone();
/// let (ping, _registration) = pings.register(move || {
///     counter.fetch_add(1, Ordering::Relaxed);
/// });
/// let executor = Executor::new(pings).unwrap(); // a passive source gets a parking thread to block in
///
/// std::thread::spawn(move || ping.ping()).join().unwrap();
/// executor.block_on(async {
///     while runs.load(Ordering::Relaxed) == 0 {
///         reactor::yield_now().await;
///     }
/// });
/// ```
#[derive(Clone)]
pub struct PingSource {
    shared: Arc<Shared>,
}

struct Shared {
    /// Entries pinged since the last dispatch, each at most once (see `Entry::queued`).
    ready: ConcurrentQueue<Arc<Entry>>,
    /// Set by `attach`; woken on every ping that queues an entry.
    notifier: NotifierSlot,
}

struct Entry {
    /// True from the ping that queued the entry until the dispatch that takes it off the queue,
    /// so that an entry is queued at most once however often it is pinged.
    queued: AtomicBool,
    callback: CallbackSlot<dyn FnMut() + Send>,
}

impl PingSource {
    /// A source with no registrations.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared { ready: ConcurrentQueue::unbounded(), notifier: NotifierSlot::new() }),
        }
    }

    /// Registers `callback`, to run on the loop after each [`Ping::ping`].
    pub fn register(&self, callback: impl FnMut() + Send + 'static) -> (Ping, PingRegistration) {
        let entry = Arc::new(Entry {
            queued: AtomicBool::new(false),
            callback: CallbackSlot::new(Box::new(callback)),
        });
        let ping = Ping { shared: self.shared.clone(), entry: entry.clone() };
        (ping, PingRegistration { entry })
    }
}

impl Default for PingSource {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSource for PingSource {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        // Only what was queued when the dispatch began: a callback that pings itself runs again
        // on the next wait instead of looping here forever.
        let mut dispatched = 0;
        for _ in 0..self.shared.ready.len() {
            let Ok(entry) = self.shared.ready.pop() else {
                break;
            };
            // Cleared before the callback runs, so a ping during the callback queues the entry
            // again. Release pairs with the Acquire of that ping's swap. What the pinging thread
            // wrote before `ping` is visible here through the queue's own synchronisation.
            entry.queued.store(false, Ordering::Release);
            if entry.callback.call(|callback| callback()).is_some() {
                dispatched += 1;
            }
        }
        Ok(dispatched)
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    fn deadline(&self) -> Option<Instant> {
        (!self.shared.ready.is_empty()).then(Instant::now)
    }

    fn can_block(&self) -> bool {
        false
    }

    /// Stores the notifier that pings wake.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live: pings
    /// wake one waiter, and a second driver would take them from the first.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.notifier.attach(notifier)
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

impl fmt::Debug for PingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingSource").field("pending", &self.shared.ready.len()).finish()
    }
}

/// Triggers one [`PingSource`] registration from any thread.
#[derive(Clone)]
pub struct Ping {
    shared: Arc<Shared>,
    entry: Arc<Entry>,
}

impl Ping {
    /// Makes the registration's callback run on the next wait of its source, and wakes that wait.
    ///
    /// Pings before that wait coalesce into one run. A ping after the registration was dropped
    /// does nothing.
    pub fn ping(&self) {
        if self.entry.callback.is_removed() {
            return;
        }
        // AcqRel: Release publishes the caller's writes to the dispatching thread, which pops the
        // entry (the queue synchronises too); Acquire orders this ping after the dispatch that
        // cleared the flag.
        if !self.entry.queued.swap(true, Ordering::AcqRel) {
            // The queue is unbounded and only `PingSource` ever closes it (it never does).
            let _ = self.shared.ready.push(self.entry.clone());
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::PingSkipsNotify) {
                return;
            }
            self.shared.notifier.notify();
        }
    }
}

impl fmt::Debug for Ping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ping").field("registered", &!self.entry.callback.is_removed()).finish()
    }
}

/// Keeps a [`PingSource`] callback registered; dropping it deregisters (no run after the drop).
///
/// Dropping it waits for the callback if it is running on another thread (from inside the
/// callback, or any callback it runs, the drop returns at once), so never drop it while holding
/// a lock that the callback takes.
pub struct PingRegistration {
    entry: Arc<Entry>,
}

impl Drop for PingRegistration {
    fn drop(&mut self) {
        self.entry.callback.remove();
    }
}

impl fmt::Debug for PingRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingRegistration").finish_non_exhaustive()
    }
}
