//! [`Timer`]: the shared timer state and its [`EventSource`] implementation.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::task::Waker;
use std::time::{Duration, Instant};

use reactor::source::{CallbackSlot, Notifier};
use reactor::EventSource;

use crate::clock::Clock;
use crate::dispatch::Dispatch;
use crate::queue::{Key, Tick, TimerQueue, NEVER};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Arc, Mutex};
use crate::TimerAction;

/// A deadline callback as the timer stores it.
pub(crate) type Callback = CallbackSlot<dyn FnMut(Instant) -> TimerAction + Send>;

/// What firing a timer does.
pub(crate) enum Target {
    /// Wakes a task (a [`Sleep`](crate::Sleep)). `None` once fired, until the next poll arms it.
    Waker(Option<Waker>),
    /// Runs a callback registered with [`Timer::register`].
    Callback(Arc<Callback>),
}

/// A passive event source of deadlines: sleeps, timeouts, intervals and deadline callbacks.
///
/// `Timer` is a cheap handle (an `Arc` inside): clone it freely and use it from any thread. It
/// never blocks by itself ([`can_block`](EventSource::can_block) is `false`); it is composed with
/// the blocking source of an executor (or [`Parking`](reactor::source::Parking) when used
/// alone), which it tells its earliest deadline through [`deadline`](EventSource::deadline), and
/// which it [notifies](Notifier::notify) when a timer registered from another thread becomes the
/// new earliest deadline (and only then). Its [`wait`](EventSource::wait) fires every timer that
/// is due, never one that is not.
///
/// See the [crate documentation](crate) for the data structure, its costs and the memory each
/// pending timer takes.
#[derive(Clone)]
pub struct Timer {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) clock: Clock,
    queue: Mutex<TimerQueue<Target>>,
    /// A copy of `queue.earliest()`, refreshed under the queue lock after every change, so that
    /// `deadline` and the manual clock read it without locking.
    earliest: AtomicU64,
    /// The waiter's notifier, set by `attach`.
    notifier: Mutex<Option<Notifier>>,
}

impl Timer {
    /// A timer on the real monotonic clock.
    ///
    /// In `reactor_loom` builds it runs on a manual clock, so that a model never depends on real
    /// time.
    pub fn new() -> Self {
        #[cfg(not(reactor_loom))]
        let clock = Clock::real();
        #[cfg(reactor_loom)]
        let clock = Clock::manual();
        Self::with_clock(clock)
    }

    pub(crate) fn with_clock(clock: Clock) -> Self {
        Self {
            shared: Arc::new(Shared {
                clock,
                queue: Mutex::new(TimerQueue::new()),
                earliest: AtomicU64::new(NEVER),
                notifier: Mutex::new(None),
            }),
        }
    }

    /// The current time on this timer's clock.
    ///
    /// On a real clock this is `Instant::now()`; on a [manual clock](Self::with_manual_clock) it
    /// is the clock's origin plus everything it was advanced by. Deadlines given to this timer are
    /// measured against this clock, so compute them from `now()`.
    pub fn now(&self) -> Instant {
        self.shared.clock.now_instant()
    }

    /// Number of timers waiting to fire: sleeps being awaited, callbacks scheduled.
    pub fn pending(&self) -> usize {
        self.shared.queue.lock().len()
    }

    pub(crate) fn tick_of(&self, instant: Instant) -> Tick {
        self.shared.clock.tick_of(instant)
    }

    pub(crate) fn tick_after(&self, duration: Duration) -> Tick {
        self.shared.clock.after(self.shared.clock.now(), duration)
    }
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// Registers `target` to fire at `deadline`, waking the waiter if it became the earliest.
    pub(crate) fn insert(&self, deadline: Tick, target: Target) -> Key {
        let (key, wake) = self.update(|queue| queue.insert(deadline, target));
        self.wake_if(wake);
        key
    }

    /// Queues `key` at `deadline` (moving it if queued, unqueuing it for `NEVER`); with a waker,
    /// also makes that the one to wake. Wakes the waiter if it became the earliest deadline.
    /// Returns `false` if the key is stale.
    pub(crate) fn schedule(&self, key: Key, deadline: Tick, waker: Option<&Waker>) -> bool {
        let mut replaced = None;
        let (live, wake) = self.update(|queue| {
            if let (Some(waker), Some(Target::Waker(slot))) = (waker, queue.get_mut(key)) {
                if !slot.as_ref().is_some_and(|current| current.will_wake(waker)) {
                    replaced = slot.replace(waker.clone());
                }
            }
            queue.schedule(key, deadline)
        });
        drop(replaced);
        self.wake_if(wake);
        live
    }

    /// Moves `key` to `deadline` if it is queued; returns whether it was.
    pub(crate) fn reschedule_if_queued(&self, key: Key, deadline: Tick) -> bool {
        let (queued, wake) = self.update(|queue| queue.is_queued(key) && queue.schedule(key, deadline));
        self.wake_if(wake);
        queued
    }

    /// Deregisters `key`. What it held is dropped after the lock is released, since dropping a
    /// waker or a callback runs user code.
    pub(crate) fn remove(&self, key: Key) {
        let (removed, _) = self.update(|queue| queue.remove(key));
        drop(removed);
    }

    /// Fires everything due at the current tick; returns how many wakers and callbacks ran.
    fn fire_due(&self) -> usize {
        let now = self.clock.now();
        // Without the lock when nothing is due, as on most waits of a busy executor. A timer
        // registered meanwhile that is already due wakes the waiter itself (see `update`).
        if self.earliest() > now {
            return 0;
        }
        Dispatch::new(self, now).run()
    }

    /// Runs `change` on the locked queue and republishes the earliest deadline. The flag says
    /// whether the waiter must be woken for it (see `needs_wake`).
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut TimerQueue<Target>) -> R) -> (R, bool) {
        let mut queue = self.queue.lock();
        let before = queue.earliest();
        let result = change(&mut queue);
        let after = queue.earliest();
        if before == after {
            return (result, false);
        }
        // Decided under the lock: see `needs_wake`.
        let wake = after < before && self.needs_wake(after);
        // Release: a lock-free reader of the new deadline (`deadline`) also sees the queue
        // change that produced it. Stored under the lock, so stores are published in order.
        self.earliest.store(after, Ordering::Release);
        drop(queue);
        (result, wake)
    }

    /// Whether the waiter must be woken for a new earliest deadline `earliest`. Called under the
    /// queue lock.
    ///
    /// On the real clock: always, since it blocks with a timeout computed from the previous one.
    /// On a manual clock the waiter blocks without a timeout (see `deadline`), so only when the
    /// deadline is due already; `ManualClock::advance` wakes it for deadlines that become due.
    /// An advance racing with this registration cannot be missed by both: the advance moves the
    /// clock first and then reads the earliest deadline under this same lock, so either its lock
    /// section comes first and the clock read here sees the new time, or this one comes first and
    /// the advance sees this deadline.
    fn needs_wake(&self, earliest: Tick) -> bool {
        !self.clock.is_manual() || earliest <= self.clock.now()
    }

    /// The earliest deadline, read under the queue lock (see `needs_wake`).
    pub(crate) fn earliest_locked(&self) -> Tick {
        self.queue.lock().earliest()
    }

    /// Wakes the waiter, if any.
    pub(crate) fn wake_if(&self, wake: bool) {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::SkipEarliestNotify) {
            return;
        }
        if wake {
            self.notify_waiter();
        }
    }

    pub(crate) fn notify_waiter(&self) {
        let notifier = self.notifier.lock().clone();
        if let Some(notifier) = notifier {
            notifier.notify();
        }
    }

    /// The earliest deadline, without locking.
    pub(crate) fn earliest(&self) -> Tick {
        // Acquire: pairs with the Release store in `update`.
        self.earliest.load(Ordering::Acquire)
    }

    /// Pops up to `limit` due timers into `fired`; returns whether more may be due.
    pub(crate) fn pop_due(&self, now: Tick, limit: usize, fired: &mut Vec<Fired>) -> bool {
        let (full, _) = self.update(|queue| {
            while fired.len() < limit {
                let Some((key, deadline, target)) = queue.pop_due(now) else {
                    return false;
                };
                match target {
                    Target::Waker(waker) => fired.extend(waker.take().map(Fired::Waker)),
                    Target::Callback(callback) => {
                        fired.push(Fired::Callback { key, deadline, callback: callback.clone() });
                    }
                }
            }
            true
        });
        full
    }
}

/// A timer taken off the queue, to be fired outside the lock.
pub(crate) enum Fired {
    Waker(Waker),
    Callback { key: Key, deadline: Tick, callback: Arc<Callback> },
}

impl EventSource for Timer {
    /// Fires every timer that is due: wakes the tasks sleeping on them and runs the callbacks.
    /// Never blocks, and never fires a timer before its deadline.
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        Ok(self.shared.fire_due())
    }

    fn notify(&self) {
        self.shared.notify_waiter();
    }

    /// The earliest pending deadline, to the nanosecond.
    ///
    /// On a [manual clock](Timer::with_manual_clock) the real time means nothing: this is `None`
    /// until a timer is due, then an instant in the past.
    fn deadline(&self) -> Option<Instant> {
        let earliest = self.shared.earliest();
        if self.shared.clock.is_manual() {
            (earliest <= self.shared.clock.now()).then(|| self.shared.clock.origin())
        } else {
            self.shared.clock.instant_of(earliest)
        }
    }

    fn can_block(&self) -> bool {
        false
    }

    fn attach(&self, notifier: Notifier) {
        *self.shared.notifier.lock() = Some(notifier);
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("manual_clock", &self.shared.clock.is_manual())
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}
