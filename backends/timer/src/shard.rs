//! One shard of a timer: a timer queue behind its own lock, so that threads registering and
//! cancelling timers in different shards do not contend.

use std::collections::VecDeque;
use std::fmt;

use crate::queue::{Key, Tick, TimerQueue, NEVER};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::Mutex;
use crate::timer::{Fired, Target};

/// A timer queue and a lock-free copy of its earliest deadline.
pub(crate) struct Shard {
    queue: Mutex<TimerQueue<Target>>,
    /// `queue.earliest()`, stored under the queue lock after every change that moves it, so that
    /// the waiter reads every shard's earliest deadline without taking its lock.
    earliest: AtomicU64,
}

impl Shard {
    pub(crate) fn new() -> Self {
        Self { queue: Mutex::new(TimerQueue::new()), earliest: AtomicU64::new(NEVER) }
    }

    /// The earliest deadline in this shard, without locking.
    pub(crate) fn earliest(&self) -> Tick {
        // Acquire: pairs with the Release in `update`, so whoever sees a deadline here also sees
        // the registration that put it there.
        self.earliest.load(Ordering::Acquire)
    }

    /// Runs `change` on the locked queue and republishes the earliest deadline. Returns what
    /// `change` returned, and the new earliest deadline if it moved earlier.
    pub(crate) fn update<R>(&self, change: impl FnOnce(&mut TimerQueue<Target>) -> R) -> (R, Option<Tick>) {
        let mut queue = self.queue.lock();
        let before = queue.earliest();
        let result = change(&mut queue);
        let after = queue.earliest();
        if after != before {
            // Release: see `earliest`. Stored under the lock, so stores are published in order.
            self.earliest.store(after, Ordering::Release);
        }
        (result, (after < before).then_some(after))
    }

    /// Number of queued timers.
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Pops up to `limit` timers due at `now` into `fired`; returns whether more may be due.
    pub(crate) fn pop_due(&self, now: Tick, limit: usize, fired: &mut VecDeque<Fired>) -> bool {
        let (full, _) = self.update(|queue| {
            while fired.len() < limit {
                let Some((key, deadline, target)) = queue.pop_due(now) else {
                    return false;
                };
                match target {
                    Target::Waker(waker) => {
                        if let Some(waker) = waker.take() {
                            fired.push_back(Fired::Waker(waker));
                        }
                    }
                    Target::Callback(callback) => {
                        fired.push_back(Fired::Callback { key, deadline, callback: callback.clone() });
                    }
                }
            }
            true
        });
        full
    }

    /// Queues each rescheduled callback again (a stale key is skipped).
    pub(crate) fn reschedule(&self, rescheduled: &[(Key, Tick)]) {
        self.update(|queue| {
            for &(key, deadline) in rescheduled {
                queue.schedule(key, deadline);
            }
        });
    }
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard").field("earliest", &self.earliest()).finish_non_exhaustive()
    }
}
