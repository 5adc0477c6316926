//! Callback mode: [`Timer::register`] runs a callback on the loop at a deadline.

use std::fmt;
use std::time::Instant;

use reactor::source::CallbackSlot;

use crate::sync::Arc;
use crate::timer::TimerKey;
use crate::timer::{Callback, Target};
use crate::Timer;

/// What a deadline callback wants next, returned each time it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerAction {
    /// Do not fire again (until [`TimerRegistration::reschedule`]).
    Stop,
    /// Fire again at this instant (a past one fires on the next wait of the loop; a
    /// far-future one never fires).
    Reschedule(Instant),
}

/// Keeps a deadline callback registered; dropping it deregisters.
///
/// Once the drop has returned, the callback never runs again (if it is running on another thread
/// at that moment, the drop waits for it to return; a callback may drop its own registration).
/// The timer's memory for the callback is freed by the drop. Since the drop waits for a callback
/// running on another thread, never drop it while holding a lock that the callback takes.
pub struct TimerRegistration {
    timer: Timer,
    key: TimerKey,
    callback: Arc<Callback>,
}

impl Timer {
    /// Runs `callback` on the loop (in the timer's [`wait`](reactor::EventSource::wait)) at
    /// `deadline`, never before. It receives the deadline it was scheduled for and returns whether
    /// to fire again: [`TimerAction::Reschedule`] at a new deadline, or [`TimerAction::Stop`].
    ///
    /// Registration is O(1) in the number of pending timers and may be done from any thread;
    /// if `deadline` becomes the earliest, the blocked waiter is woken to honour it. A deadline in
    /// the past fires on the next wait, one too far away to represent never fires.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use reactor::EventSource;
    /// use reactor_timer::{Timer, TimerAction};
    ///
    /// let (timer, clock) = Timer::with_manual_clock();
    /// let period = Duration::from_millis(10);
    /// let mut fired = 0;
    /// let _registration = timer.register(timer.now() + period, move |deadline| {
    ///     fired += 1;
    ///     if fired < 3 { TimerAction::Reschedule(deadline + period) } else { TimerAction::Stop }
    /// });
    /// let mut runs = 0;
    /// while clock.advance_to_next().is_some() {
    ///     runs += timer.wait(None).unwrap();
    /// }
    /// assert_eq!(runs, 3);
    /// ```
    pub fn register(
        &self,
        deadline: Instant,
        callback: impl FnMut(Instant) -> TimerAction + Send + 'static,
    ) -> TimerRegistration {
        let callback: Arc<Callback> = Arc::new(CallbackSlot::new(Box::new(callback)));
        let key = self.shared.insert(self.tick_of(deadline), Target::Callback(callback.clone()));
        TimerRegistration { timer: self.clone(), key, callback }
    }
}

impl TimerRegistration {
    /// Schedules the callback at `deadline`, replacing its current deadline if it has one
    /// (also after it returned [`TimerAction::Stop`]). Callable from any thread; wakes the
    /// waiter if this becomes the earliest deadline.
    ///
    /// A callback running on another thread at this moment may return its own action after this
    /// call; a `Reschedule` then replaces this deadline.
    pub fn reschedule(&self, deadline: Instant) {
        self.timer.shared.schedule(self.key, self.timer.tick_of(deadline), None);
    }

    /// Stops the callback from firing until the next [`reschedule`](Self::reschedule), keeping it
    /// registered.
    pub fn pause(&self) {
        self.timer.shared.schedule(self.key, crate::queue::NEVER, None);
    }
}

impl Drop for TimerRegistration {
    fn drop(&mut self) {
        self.timer.shared.remove(self.key);
        // A dispatch that took the callback off the queue before the removal may be about to run
        // it, or running it: this waits for a run in progress and stops any later one.
        self.callback.remove();
    }
}

impl fmt::Debug for TimerRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerRegistration").finish_non_exhaustive()
    }
}
