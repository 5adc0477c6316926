//! Firing due timers outside the queue lock, without losing any if a waker or callback panics.

use std::collections::VecDeque;
use std::mem;

use crate::clock::Clock;
use crate::queue::{Key, Tick};
use crate::shard::Shard;
use crate::timer::Fired;
use crate::TimerAction;

/// Timers are taken off the queue this many at a time, so the lock is never held for long and
/// registrations from other threads interleave with a large firing.
const BATCH: usize = 256;

/// One `Timer::wait`'s firing of everything due at `now` in one shard.
///
/// If a waker or callback panics, the panic propagates out of `wait`, and `Drop` finishes the job
/// for the timers already taken off the queue: the remaining wakers are woken and the remaining
/// callbacks are queued again at their deadline, so that the next `wait` runs them. The callback
/// that panicked stays registered but is not queued again (its action is unknown).
pub(crate) struct Dispatch<'a> {
    clock: &'a Clock,
    shard: &'a Shard,
    now: Tick,
    /// Taken off the queue, not yet fired.
    batch: VecDeque<Fired>,
    /// Callbacks that asked to fire again. They are queued only when this dispatch ends, so that
    /// one rescheduling itself into the past runs once per `wait` instead of looping forever.
    rescheduled: Vec<(Key, Tick)>,
}

impl<'a> Dispatch<'a> {
    pub(crate) fn new(clock: &'a Clock, shard: &'a Shard, now: Tick) -> Self {
        Self { clock, shard, now, batch: VecDeque::new(), rescheduled: Vec::new() }
    }

    /// Fires every timer due at `now`; returns how many wakers and callbacks ran.
    pub(crate) fn run(mut self) -> usize {
        let mut ran = 0;
        loop {
            let more = self.shard.pop_due(self.now, BATCH, &mut self.batch);
            while let Some(fired) = self.batch.pop_front() {
                ran += usize::from(self.fire(fired));
            }
            if !more {
                return ran;
            }
        }
    }

    /// Fires one timer; returns whether a waker or callback ran.
    fn fire(&mut self, fired: Fired) -> bool {
        match fired {
            Fired::Waker(waker) => {
                waker.wake();
                true
            }
            Fired::Callback { key, deadline, callback } => {
                let Some(instant) = self.clock.instant_of(deadline) else {
                    return false;
                };
                let Some(action) = callback.call(|callback| callback(instant)) else {
                    return false;
                };
                if let TimerAction::Reschedule(next) = action {
                    self.rescheduled.push((key, self.clock.tick_of(next)));
                }
                true
            }
        }
    }
}

impl Drop for Dispatch<'_> {
    fn drop(&mut self) {
        for fired in mem::take(&mut self.batch) {
            match fired {
                Fired::Waker(waker) => waker.wake(),
                Fired::Callback { key, deadline, .. } => self.rescheduled.push((key, deadline)),
            }
        }
        if self.rescheduled.is_empty() {
            return;
        }
        // A stale key (the registration was dropped meanwhile) is skipped by the queue. No wake-up
        // is needed: only the waiter dispatches, and it reads the new earliest deadline before it
        // blocks again.
        self.shard.reschedule(&self.rescheduled);
    }
}
