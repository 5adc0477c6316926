//! [`Timer`]: the shared timer state and its [`EventSource`] implementation.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::task::Waker;
use std::time::{Duration, Instant};

use reactor::source::{CallbackSlot, Notifier, NotifierSlot};
use reactor::EventSource;

use crate::clock::Clock;
use crate::dispatch::Dispatch;
use crate::queue::{Key, Tick, NEVER};
use crate::shard::Shard;
use crate::sync::{thread_ordinal, Arc, Mutex};
use crate::TimerAction;

/// A deadline callback as the timer stores it.
pub(crate) type Callback = CallbackSlot<dyn FnMut(Instant) -> TimerAction + Send>;

/// What firing a timer does.
pub(crate) enum Target {
    /// Wakes a task (a [`Sleep`](crate::Sleep)). Its slot is freed when it fires.
    Waker(Waker),
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
    /// Timers are registered in the shard of the registering thread (one shard per core), so
    /// that worker threads registering and cancelling at once do not contend for one lock.
    shards: Box<[Shard]>,
    /// The waiter never blocks past this deadline: [`deadline`](EventSource::deadline) reports
    /// at most this. The protocol that makes "an earlier deadline wakes the waiter, a later one
    /// does not" hold across shards without a lock shared by all registrations:
    ///
    /// - a registration that makes its shard's earliest deadline earlier, having stored it in
    ///   the shard, takes this lock: if its deadline is earlier than `view`, it lowers `view` to
    ///   it and wakes the waiter; otherwise the waiter wakes by `view` anyway;
    /// - `deadline` reads every shard's earliest deadline under this lock, so a registration
    ///   whose check came first is seen in its shard, and one that comes after compares against
    ///   what the waiter was told;
    /// - only `wait` (the waiter itself, before it asks for `deadline` again) raises `view`, to
    ///   the exact earliest deadline, once cancellations have left it early (early is harmless:
    ///   one spurious wake-up).
    view: Mutex<Tick>,
    /// The waiter's notifier, set by `attach`.
    notifier: NotifierSlot,
}

/// Identifies a registered timer: its shard and its slot there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    shard: u32,
    key: Key,
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
        #[cfg(not(reactor_loom))]
        let shards = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(64);
        // Two shards, so that the models cover registrations in different shards.
        #[cfg(reactor_loom)]
        let shards = 2;
        Self {
            shared: Arc::new(Shared {
                clock,
                shards: (0..shards).map(|_| Shard::new()).collect(),
                view: Mutex::new(NEVER),
                notifier: NotifierSlot::new(),
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
        self.shared.shards.iter().map(Shard::len).sum()
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
    /// Registers `target` to fire at `deadline` in this thread's shard, waking the waiter if it
    /// became the earliest deadline.
    pub(crate) fn insert(&self, deadline: Tick, target: Target) -> TimerKey {
        self.insert_tracked(deadline, target).0
    }

    /// [`insert`](Self::insert), also returning whether the timer is above its shard's
    /// fired-through mark (see [`is_fired_through`](Self::is_fired_through)).
    pub(crate) fn insert_tracked(&self, deadline: Tick, target: Target) -> (TimerKey, bool) {
        let index = thread_ordinal() % self.shards.len();
        let shard = &self.shards[index];
        let ((key, tracked), lowered) = shard.update(|queue| {
            if queue.len() == 0 {
                queue.catch_up(self.clock.reached());
            }
            (queue.insert(deadline, target), shard.is_above_mark(deadline))
        });
        self.lowered(lowered);
        // `shards.len() <= 64`.
        (TimerKey { shard: index as u32, key }, tracked)
    }

    /// Queues `key` at `deadline` (moving it if queued, unqueuing it for `NEVER`); with a waker,
    /// also makes that the one to wake. Wakes the waiter if it became the earliest deadline.
    /// Returns `None` if the key is stale, else whether the timer is now above its shard's
    /// fired-through mark (see [`is_fired_through`](Self::is_fired_through)).
    pub(crate) fn schedule(&self, key: TimerKey, deadline: Tick, waker: Option<&Waker>) -> Option<bool> {
        let mut replaced = None;
        let shard = self.shard(key);
        let (tracked, lowered) = shard.update(|queue| {
            if let (Some(waker), Some(Target::Waker(slot))) = (waker, queue.get_mut(key.key)) {
                if !slot.will_wake(waker) {
                    replaced = Some(std::mem::replace(slot, waker.clone()));
                }
            }
            if queue.len() == 0 {
                queue.catch_up(self.clock.reached());
            }
            queue.schedule(key.key, deadline).then(|| shard.is_above_mark(deadline))
        });
        drop(replaced);
        self.lowered(lowered);
        tracked
    }

    /// Moves `key` to `deadline` if it is queued; returns `None` if it was not, else whether it
    /// is now above its shard's fired-through mark.
    pub(crate) fn reschedule_if_queued(&self, key: TimerKey, deadline: Tick) -> Option<bool> {
        let shard = self.shard(key);
        let (tracked, lowered) = shard.update(|queue| {
            (queue.is_queued(key.key) && queue.schedule(key.key, deadline))
                .then(|| shard.is_above_mark(deadline))
        });
        self.lowered(lowered);
        tracked
    }

    /// Deregisters `key`. What it held is dropped after the lock is released, since dropping a
    /// waker or a callback runs user code. No wake-up: the earliest deadline can only move later.
    pub(crate) fn remove(&self, key: TimerKey) {
        drop(self.shard(key).remove(key.key));
    }

    /// Deregisters the waker timer `key` of a sleep that is done with it, unless its firing
    /// already freed it: known without the lock if `tracked` (queued at `deadline` above its
    /// shard's fired-through mark, not moved since) and the mark has reached `deadline`.
    pub(crate) fn release(&self, key: TimerKey, deadline: Tick, tracked: bool) {
        let shard = self.shard(key);
        if tracked && deadline <= shard.fired_through() {
            return;
        }
        drop(shard.remove(key.key));
    }

    fn shard(&self, key: TimerKey) -> &Shard {
        &self.shards[key.shard as usize]
    }

    /// A shard's earliest deadline moved earlier, to `earliest`: wakes the waiter if that is
    /// earlier than any deadline it may be blocked until (see `view`).
    #[inline]
    fn lowered(&self, earliest: Option<Tick>) {
        if let Some(earliest) = earliest {
            self.lowered_to(earliest);
        }
    }

    #[cold]
    fn lowered_to(&self, earliest: Tick) {
        let mut view = self.view.lock();
        if earliest >= *view {
            return;
        }
        *view = earliest;
        let wake = self.needs_wake(earliest);
        drop(view);
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::SkipEarliestNotify) {
            return;
        }
        if wake {
            self.notify_waiter();
        }
    }

    /// Whether the waiter must be woken for a new earliest deadline `earliest`. Called under the
    /// `view` lock.
    ///
    /// On the real clock: always, since it blocks with a timeout computed from a later one. On a
    /// manual clock the waiter blocks without a timeout until a timer is due (see `deadline`), so
    /// only when the deadline is due already; `ManualClock::advance` wakes it for deadlines that
    /// become due. An advance racing with this registration cannot be missed by both: the advance
    /// moves the clock first and then reads the shards under the `view` lock, so either its lock
    /// section comes first and the clock read here sees the new time, or this one comes first and
    /// the advance sees this deadline in its shard.
    fn needs_wake(&self, earliest: Tick) -> bool {
        !self.clock.is_manual() || earliest <= self.clock.now()
    }

    /// The earliest deadline of all shards, read under the `view` lock.
    pub(crate) fn earliest_locked(&self) -> Tick {
        let _view = self.view.lock();
        self.earliest()
    }

    /// The earliest deadline of all shards, without locking.
    pub(crate) fn earliest(&self) -> Tick {
        self.shards.iter().map(Shard::earliest).min().unwrap_or(NEVER)
    }

    /// What the waiter may block until: the earliest deadline, or `view` if that is earlier.
    fn waiter_deadline(&self) -> Tick {
        let view = self.view.lock();
        self.earliest().min(*view)
    }

    pub(crate) fn notify_waiter(&self) {
        self.notifier.notify();
    }

    /// Fires everything due at the current tick; returns how many wakers and callbacks ran.
    fn fire_due(&self) -> usize {
        let now = self.clock.note_now();
        let mut ran = 0;
        for shard in self.shards.iter() {
            // Without the lock when nothing is due, as on most waits of a busy executor. A timer
            // registered meanwhile that is already due wakes the waiter itself.
            if shard.earliest() <= now {
                ran += Dispatch::new(&self.clock, shard, now).run();
            }
        }
        // The waiter is here, not blocked: before it asks for `deadline` again, `view` may catch
        // up with cancellations (see `view`).
        let mut view = self.view.lock();
        *view = self.earliest();
        ran
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

    /// The earliest pending deadline, to the nanosecond. After the earliest timer is cancelled
    /// or moved later, it may stay earlier until the next wait (a wake-up that fires nothing).
    ///
    /// On a [manual clock](Timer::with_manual_clock) the real time means nothing: this is `None`
    /// until a timer is due, then an instant in the past.
    fn deadline(&self) -> Option<Instant> {
        let earliest = self.shared.waiter_deadline();
        if self.shared.clock.is_manual() {
            (earliest <= self.shared.clock.now()).then(|| self.shared.clock.origin())
        } else {
            self.shared.clock.instant_of(earliest)
        }
    }

    fn can_block(&self) -> bool {
        false
    }

    /// Stores the notifier that an earlier deadline wakes.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live: the timer
    /// tells one waiter its earliest deadline, and a second driver would take the wake-ups of
    /// the first (a clone is the same timer; create a `Timer` per executor).
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.notifier.attach(notifier)
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }

    /// Whether this timer is on a [paused clock](Timer::with_paused_clock).
    fn pauses_time(&self) -> bool {
        self.shared.clock.is_paused()
    }

    /// On a paused clock, moves the clock to the earliest pending deadline if it is in the
    /// future; returns whether it moved (the next wait fires that timer).
    fn advance_idle_time(&self) -> bool {
        if !self.shared.clock.is_paused() {
            return false;
        }
        let shared = &self.shared;
        let earliest = shared.earliest_locked();
        if earliest == NEVER || earliest <= shared.clock.now() {
            return false;
        }
        shared.clock.advance_to(earliest);
        true
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("manual_clock", &self.shared.clock.is_manual())
            .field("paused_clock", &self.shared.clock.is_paused())
            .field("shards", &self.shared.shards.len())
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}
