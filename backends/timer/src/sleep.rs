//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::queue::{Tick, NEVER};
use crate::timer::{Target, TimerKey};
use crate::Timer;

/// A future that completes once its timer's clock reaches its deadline, never before.
///
/// Created by [`Timer::sleep`], [`Timer::sleep_until`] or the ambient [`sleep`](crate::sleep) and
/// [`sleep_until`](crate::sleep_until). It registers with the timer when first polled; its place
/// in the timer is freed when the timer fires it, or at once when it is dropped before that. A
/// deadline that cannot be represented (`Duration::MAX`, an instant centuries away) never
/// arrives; one in the past completes on the first poll. (The first poll of a
/// [`sleep(d)`](Timer::sleep) with `d > 0` saves a clock read: its deadline was in the future at
/// creation, so it registers; should the deadline have passed meanwhile, the timer's next wait
/// completes it.)
///
/// `Sleep` is `Unpin` and `Send`: it can be polled, [reset](Self::reset) and dropped on any thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use reactor_timer::Timer;
///
/// let (timer, clock) = Timer::with_manual_clock();
/// let sleep = timer.sleep(Duration::from_secs(60));
/// assert!(!sleep.is_elapsed());
/// clock.advance(Duration::from_secs(60));
/// assert!(sleep.is_elapsed());
/// ```
#[must_use = "a Sleep does nothing unless awaited"]
pub struct Sleep {
    timer: Timer,
    deadline: Tick,
    registration: Registration,
    /// The waker the slot holds while it is queued, kept from the second poll on. A poll with a
    /// waker that would wake the same task skips the lock.
    armed: Option<Waker>,
}

/// Where a [`Sleep`] stands with its timer.
enum Registration {
    /// Never polled, and the deadline was in the future when the sleep was created: the first
    /// poll registers without reading the clock.
    FutureAtCreation,
    /// Not registered: never polled, or completed.
    Unregistered,
    /// Holds a timer slot while queued; its firing frees it. `tracked`: queued at the current
    /// deadline above the shard's fired-through mark, so once the mark reaches the deadline the
    /// slot is known to be freed, without the lock. `false` when unsure: the drop then removes
    /// the key under the lock (a stale key is skipped there).
    Registered { key: TimerKey, tracked: bool },
}

impl Sleep {
    pub(crate) fn new(timer: Timer, deadline: Tick) -> Self {
        Self { timer, deadline, registration: Registration::Unregistered, armed: None }
    }

    /// The deadline, or `None` if it never arrives.
    pub fn deadline(&self) -> Option<Instant> {
        self.timer.shared.clock.instant_of(self.deadline)
    }

    /// Whether the deadline has passed on the timer's clock.
    pub fn is_elapsed(&self) -> bool {
        self.deadline != NEVER && self.timer.shared.clock.is_reached(self.deadline)
    }

    /// Moves the deadline to `deadline`, earlier or later, even after the sleep completed: it
    /// then completes again at the new deadline.
    ///
    /// O(1) in the number of pending timers; no allocation. If the sleep is registered and
    /// the new deadline becomes the timer's earliest, the blocked waiter is woken to honour it.
    pub fn reset(&mut self, deadline: Instant) {
        self.reset_tick(self.timer.tick_of(deadline));
    }

    pub(crate) fn reset_tick(&mut self, deadline: Tick) {
        self.deadline = deadline;
        match self.registration {
            Registration::FutureAtCreation => self.registration = Registration::Unregistered,
            Registration::Unregistered => {}
            Registration::Registered { key, .. } => self.rearm(key, deadline),
        }
    }

    /// Moves a registered sleep to `deadline`. A queued slot keeps its waker: the task that
    /// polled it is woken at the new deadline even if it does not poll again first. A fired one is
    /// armed by the next poll.
    fn rearm(&mut self, key: TimerKey, deadline: Tick) {
        let tracked = self.timer.shared.reschedule_if_queued(key, deadline);
        self.registration = Registration::Registered { key, tracked: tracked.unwrap_or(false) };
        if tracked.is_none() {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::ResetKeepsStaleArm) {
                return;
            }
            self.armed = None;
        }
    }

    fn register(&mut self, waker: &Waker) {
        let (key, tracked) = self.timer.shared.insert_tracked(self.deadline, Target::Waker(waker.clone()));
        self.registration = Registration::Registered { key, tracked };
    }

    pub(crate) fn timer(&self) -> &Timer {
        &self.timer
    }

    pub(crate) fn deadline_tick(&self) -> Tick {
        self.deadline
    }

    fn deregister(&mut self) {
        self.armed = None;
        let Registration::Registered { key, tracked } =
            std::mem::replace(&mut self.registration, Registration::Unregistered)
        else {
            return;
        };
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::DeregisterSkipsElapsed)
            && self.is_elapsed()
        {
            return;
        }
        // A fired sleep, the common case, is done without the lock: its firing freed the slot.
        self.timer.shared.release(key, self.deadline, tracked);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let future_at_creation = matches!(self.registration, Registration::FutureAtCreation);
        if !future_at_creation && self.is_elapsed() {
            // A sleep that is ready at once (or a zero-period interval) must not starve the
            // other tasks of its worker.
            std::task::ready!(reactor::coop::poll_proceed(cx));
            self.deregister();
            return Poll::Ready(());
        }
        if self.deadline == NEVER || self.armed.as_ref().is_some_and(|armed| armed.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let shared = &self.timer.shared;
        let deadline = self.deadline;
        match self.registration {
            // A poll after the first: the timer may have been given another waker, or reset
            // while unqueued. From now on, remember the waker to skip the lock next time.
            Registration::Registered { key, .. } => match shared.schedule(key, deadline, Some(cx.waker())) {
                Some(tracked) => {
                    self.registration = Registration::Registered { key, tracked };
                    self.armed = Some(cx.waker().clone());
                }
                // Fired (its slot freed) before a reset: register again.
                None => self.register(cx.waker()),
            },
            // The first poll only registers: most sleeps are polled once before they fire, and
            // their waker is not cloned twice.
            _ => self.register(cx.waker()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("registered", &matches!(self.registration, Registration::Registered { .. }))
            .finish_non_exhaustive()
    }
}

impl Timer {
    /// A future that completes `duration` from now on this timer's clock.
    ///
    /// `Duration::MAX` (or any duration past the clock's range) never completes; it does not
    /// overflow or panic.
    pub fn sleep(&self, duration: std::time::Duration) -> Sleep {
        self.clone().into_sleep(duration)
    }

    /// A future that completes at `deadline` on this timer's clock, at once if that is past.
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        self.clone().into_sleep_until(deadline)
    }

    /// [`sleep`](Self::sleep), keeping this handle instead of a clone: the ambient functions
    /// save a reference-count increment and decrement, on a counter every thread shares.
    pub(crate) fn into_sleep(self, duration: std::time::Duration) -> Sleep {
        let clock = &self.shared.clock;
        let now = clock.now();
        let deadline = clock.after(now, duration);
        let mut sleep = Sleep::new(self, deadline);
        if deadline != NEVER && deadline > now {
            sleep.registration = Registration::FutureAtCreation;
        }
        sleep
    }

    /// [`sleep_until`](Self::sleep_until), keeping this handle instead of a clone.
    pub(crate) fn into_sleep_until(self, deadline: Instant) -> Sleep {
        let deadline = self.tick_of(deadline);
        Sleep::new(self, deadline)
    }
}
