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
    /// The fired-through mark: no timer with a deadline at or before it is queued, as of the
    /// last `pop_due` (which raises it, under the lock, to just below the earliest deadline left,
    /// at most to its `now`). A waker slot is freed when it fires, so a sleep that was queued at a
    /// deadline above the mark (see `is_above_mark`), without moving since, knows its slot is gone
    /// once the mark reaches its deadline, and completes without taking the lock.
    fired_through: AtomicU64,
}

impl Shard {
    pub(crate) fn new() -> Self {
        Self {
            queue: Mutex::new(TimerQueue::new()),
            earliest: AtomicU64::new(NEVER),
            fired_through: AtomicU64::new(0),
        }
    }

    /// The earliest deadline in this shard, without locking.
    pub(crate) fn earliest(&self) -> Tick {
        // Acquire: pairs with the Release in `update`, so whoever sees a deadline here also sees
        // the registration that put it there.
        self.earliest.load(Ordering::Acquire)
    }

    /// The fired-through mark (see `fired_through`), without locking.
    pub(crate) fn fired_through(&self) -> Tick {
        // Acquire: pairs with the Release in `pop_due`, so whoever sees the mark at a sleep's
        // deadline also sees the firing that freed its slot (nothing of it is touched after, but
        // a reader of the mark then knows the slot's fate from the queue's own order).
        self.fired_through.load(Ordering::Acquire)
    }

    /// Whether a timer just queued at `deadline` is above the fired-through mark: once the mark
    /// reaches `deadline`, that timer has been popped. Call only from inside `update`, under the
    /// lock, in the same lock hold that queued it.
    pub(crate) fn is_above_mark(&self, deadline: Tick) -> bool {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::IgnoreFiredThroughMark) {
            return deadline != NEVER;
        }
        // Relaxed: the mark is only stored under the lock the caller holds.
        deadline != NEVER && deadline > self.fired_through.load(Ordering::Relaxed)
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

    /// Removes `key` (see `TimerQueue::remove`): `update` without its bookkeeping for an earlier
    /// deadline, which a removal never makes. One of the two hot paths of a cancel.
    pub(crate) fn remove(&self, key: Key) -> Option<Target> {
        let mut queue = self.queue.lock();
        let before = queue.earliest();
        let removed = queue.remove(key);
        let after = queue.earliest();
        if after != before {
            // Release: see `earliest`.
            self.earliest.store(after, Ordering::Release);
        }
        removed
    }

    /// Number of queued timers.
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Pops up to `limit` timers due at `now` into `fired`; returns whether more may be due.
    ///
    /// A waker's slot is freed as it is popped (its sleep learns that from the fired-through
    /// mark, raised here); a callback's stays, for its registration to reschedule.
    pub(crate) fn pop_due(&self, now: Tick, limit: usize, fired: &mut VecDeque<Fired>) -> bool {
        let (full, _) = self.update(|queue| {
            let mut full = true;
            while fired.len() < limit {
                let Some((key, deadline, target)) = queue.pop_due(now) else {
                    full = false;
                    break;
                };
                if let Target::Callback(callback) = target {
                    fired.push_back(Fired::Callback { key, deadline, callback: callback.clone() });
                } else if let Some(Target::Waker(waker)) = queue.remove(key) {
                    fired.push_back(Fired::Waker(waker));
                }
            }
            // Every timer before the earliest deadline left has been popped.
            let through = now.min(queue.earliest().saturating_sub(1));
            // Relaxed load: stored only under this lock. Release store: see `fired_through`.
            if through > self.fired_through.load(Ordering::Relaxed) {
                self.fired_through.store(through, Ordering::Release);
            }
            full
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
