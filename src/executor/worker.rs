//! The scheduling loop shared by worker threads and `block_on` threads: where the next task
//! comes from, how it runs, when the source is polled.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use crate::coop;
use crate::executor::context::{self, Current, OwnedQueue, RunQueue};
use crate::executor::local_queue::{LocalQueue, CAPACITY};
use crate::executor::parker::Parker;
use crate::executor::recorder::{Recorder, Slot};
use crate::executor::shared::{Runnable, Shared};
use crate::sync::Arc;

/// Every this many tasks a thread takes from the injector first, so that tasks queued from
/// outside are not starved by local queues that never drain. Prime, so it does not resonate with
/// `EVENT_INTERVAL`.
const INJECTOR_INTERVAL: u32 = 61;

/// Every this many tasks a busy thread polls the source without blocking, so that I/O and timers
/// are not starved while no thread is idle.
pub(crate) const EVENT_INTERVAL: u32 = 67;

/// The main loop of a worker thread: run tasks until shutdown, sleep when there are none.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, queue: LocalQueue<Runnable>) {
    let current = Current {
        shared: shared.clone(),
        queue: Some(OwnedQueue::new(index, RunQueue::Stealable(queue))),
        local_tasks: None,
    };
    let Ok(_entered) = context::enter(current) else {
        return;
    };
    let (parker, _in_use) = Parker::enter();
    let _counted = CountedThread::join(&shared);
    let mut ticks = Ticks::new(index, shared.metrics.worker(index));
    // Whether this thread was picked for work and has not taken a task since.
    let mut picked = false;
    while !shared.is_shut_down() {
        match next_task(&shared, &mut ticks) {
            Some(runnable) => {
                if std::mem::take(&mut picked) {
                    shared.hand_on_work();
                }
                run_task(runnable);
                ticks.recorder.polled();
                if ticks.advance() % EVENT_INTERVAL == 0 {
                    ticks.publish(&shared);
                    shared.report(shared.poll_events());
                }
            }
            None => {
                let parked_at = ticks.recorder.parking();
                let unparked = shared.park(&parker, None, None);
                ticks.recorder.unparked(parked_at);
                picked = unparked.picked;
                shared.report(unparked.result);
            }
        }
    }
}

/// Per-thread scheduling counters.
pub(crate) struct Ticks<'a> {
    count: u32,
    /// xorshift state picking where stealing starts, so that thieves spread over victims.
    rng: Cell<u32>,
    /// What this thread counts for the runtime metrics, and the slot it publishes them in.
    pub(crate) recorder: Recorder<'a>,
}

impl<'a> Ticks<'a> {
    /// The scheduling state of a thread that counts its metrics in `slot`.
    pub(crate) fn new(seed: usize, slot: &'a Slot) -> Self {
        // Truncation is fine for a seed; `| 1` keeps xorshift away from its zero fixed point.
        Self {
            count: 0,
            rng: Cell::new((seed as u32).wrapping_mul(0x9E37_79B9) | 1),
            recorder: Recorder::new(slot),
        }
    }

    /// Publishes the metrics counted since the last publish; with the depth of this thread's
    /// queue if it is a plain one, which nobody else can read (an executor without workers).
    /// Every [`EVENT_INTERVAL`] tasks: out of line.
    #[inline(never)]
    pub(crate) fn publish(&mut self, shared: &Shared) {
        self.recorder.publish();
        if shared.stealers.is_empty() {
            if let Some(Some(depth)) =
                context::with_current(|current| current.queue.as_ref().map(OwnedQueue::len))
            {
                self.recorder.publish_plain_depth(depth);
            }
        }
    }

    /// Counts one task run; returns the new count.
    pub(crate) fn advance(&mut self) -> u32 {
        self.count = self.count.wrapping_add(1);
        self.count
    }

    fn random(&self) -> u32 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
}

/// Finds the next task for this thread: periodically the injector first, then the LIFO slot and
/// local queue, then a batch from the injector, then half of another thread's queue.
///
/// The common case, a task in this thread's own queue on a tick that does not look at the
/// injector first, is inlined into the caller; the rest is out of line.
#[inline]
pub(crate) fn next_task(shared: &Shared, ticks: &mut Ticks<'_>) -> Option<Runnable> {
    if ticks.count % INJECTOR_INTERVAL != 0 {
        if let Some(runnable) = context::pop_local(shared) {
            return Some(runnable);
        }
    }
    find_task(shared, ticks)
}

/// [`next_task`] past its fast path.
#[inline(never)]
fn find_task(shared: &Shared, ticks: &mut Ticks<'_>) -> Option<Runnable> {
    if ticks.count % INJECTOR_INTERVAL == 0 {
        if let Some(runnable) = shared.injector.pop() {
            return Some(runnable);
        }
    }
    context::with_current(|current| {
        let Some(owned) = current.queue.as_mut() else {
            return shared.injector.pop();
        };
        owned
            .pop(shared)
            .or_else(|| take_from_injector(shared, owned))
            .or_else(|| steal(shared, owned, ticks))
    })
    .flatten()
}

/// Takes one task from the injector and moves a fair share of the rest into the local queue.
///
/// Without workers (no stealers) the share is half: another `block_on` thread may be waiting
/// for the rest, and it could not take them from this thread's (plain) queue.
fn take_from_injector(shared: &Shared, owned: &mut OwnedQueue) -> Option<Runnable> {
    let queues = shared.stealers.len().max(2);
    shared.injector.pop_into(&mut owned.queue, |left| (left / queues).min(CAPACITY / 2))
}

/// Steals half of the first non-empty queue, starting at a random victim.
fn steal(shared: &Shared, owned: &mut OwnedQueue, ticks: &Ticks<'_>) -> Option<Runnable> {
    let RunQueue::Stealable(queue) = &mut owned.queue else {
        // A plain queue: the executor has no workers, so no stealable queue either.
        return None;
    };
    let victims = shared.stealers.len();
    let start = ticks.random() as usize % victims;
    let before = queue.len();
    let stolen = (0..victims)
        .map(|offset| (start + offset) % victims)
        .filter(|&victim| victim != owned.index)
        .find_map(|victim| shared.stealers[victim].steal_into(queue));
    if stolen.is_some() {
        // The task returned, and the rest of the batch, now in this thread's queue.
        ticks.recorder.stole(queue.len().saturating_sub(before) + 1);
    }
    stolen
}

/// Runs one task with a fresh cooperative budget. A panic escaping `run` (the task's own panics
/// are caught inside it, and an unclaimed output's drop inside `Unclaimed`; this is a panicking
/// drop of its future) is contained so the thread survives.
#[inline]
pub(crate) fn run_task(runnable: Runnable) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| coop::with_budget(|| runnable.run())));
}

/// Counts the current thread among the executor's threads while it lives (see
/// `paused_time.rs`), also when it unwinds.
pub(crate) struct CountedThread<'a> {
    shared: &'a Shared,
}

impl<'a> CountedThread<'a> {
    pub(crate) fn join(shared: &'a Shared) -> Self {
        shared.thread_joins();
        Self { shared }
    }
}

impl Drop for CountedThread<'_> {
    fn drop(&mut self) {
        self.shared.thread_leaves();
    }
}
