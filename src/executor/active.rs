//! The registry of live tasks, so that shutdown can cancel tasks that sit in no queue.
//!
//! A task waiting on an event is referenced only by the waker some source holds. To drop its
//! future at shutdown the executor keeps the waker of every idle task here, wakes them all, and
//! drops each runnable that comes back through `schedule` instead of running it.

use std::cell::Cell;
use std::task::Waker;

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{thread_local, Mutex};

/// Wakers of tasks, by slot; freed slots are reused (O(1) insert and remove).
#[derive(Debug, Default)]
pub(crate) struct ActiveTasks {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl ActiveTasks {
    /// The slot the next [`insert`](Self::insert) will use.
    pub(crate) fn next_slot(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Stores `waker` in the slot [`next_slot`](Self::next_slot) returned.
    pub(crate) fn insert(&mut self, waker: Waker) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(waker);
                slot
            }
            None => {
                self.slots.push(Some(waker));
                self.slots.len() - 1
            }
        }
    }

    /// Frees `slot`.
    pub(crate) fn remove(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot) {
            if entry.take().is_some() {
                self.free.push(slot);
            }
        }
    }

    /// Takes every waker out, leaving the registry empty.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.free.clear();
        self.slots.drain(..).flatten().collect()
    }
}

/// A live task's place in an [`ActiveShards`]: its shard, and its slot once it has been idle.
#[derive(Debug)]
pub(crate) struct ActiveEntry {
    shard: usize,
    /// [`NOT_IDLE`] until the task is first idle (a sentinel, not an `Option`: 8 bytes less in
    /// every task).
    slot: usize,
}

/// The slot of a task that has not been idle yet.
const NOT_IDLE: usize = usize::MAX;

/// The live tasks of a multi-threaded executor: a count of them, and the wakers of those that
/// have been idle, split in shards so that a thread spawning tasks and the threads finishing them
/// rarely touch the same cache line.
///
/// A task costs nothing here but one atomic add when spawned and one subtract when done, unless
/// it returns `Pending`: only then, once, its waker is stored, since only an idle task can be out
/// of every queue at shutdown (queued ones are dropped with their queues). Storing every task's
/// waker at spawn under one lock spent over half the CPU time of spawning 100,000 tasks from one
/// task on two workers (`perf`: the contended lock path 25%, the registry's code 27%).
pub(crate) struct ActiveShards {
    shards: Box<[CachePadded<Shard>]>,
    /// `shards.len() - 1`: the count is a power of two, so a shard is picked with a mask, not a
    /// division (8 instructions of the 38 that counting a spawned task took).
    mask: usize,
}

struct Shard {
    /// Live tasks in the low 32 bits; tasks ever entered, wrapping, in the high 32 bits (so that
    /// `is_empty` can tell that a task entered while it read the other shards).
    counts: AtomicU64,
    /// Tasks ever entered, not wrapping: the metrics' spawn count (`counts` wraps its own at
    /// 2^32, which a long-running server reaches). A std atomic in every build, like the other
    /// metrics counters: it is no protocol, and loom would only see more scheduling points.
    spawned: std::sync::atomic::AtomicU64,
    idle: Mutex<IdleTasks>,
}

impl Shard {
    /// Frees the slot of a task that has been idle, out of line: many tasks never are.
    #[cold]
    fn forget_idle(&self, slot: usize) {
        self.idle.lock().tasks.remove(slot);
    }
}

/// The wakers of a shard's tasks that have been idle; closed at shutdown.
#[derive(Default)]
struct IdleTasks {
    tasks: ActiveTasks,
    closed: bool,
}

/// Keeps each shard on its own cache lines (128 bytes: two lines, for CPUs that fetch lines in
/// pairs), so that threads working on neighbouring shards do not slow each other down.
#[repr(align(128))]
struct CachePadded<T>(T);

/// One more live task, and one more ever entered.
const ENTER: u64 = 1 | 1 << 32;
const LIVE_MASK: u64 = u32::MAX as u64;

thread_local! {
    /// The shard this thread's next spawn counts in: each thread takes the shards in turn.
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

impl ActiveShards {
    /// A registry for an executor run by `threads` threads.
    pub(crate) fn new(threads: usize) -> Self {
        let shards = if cfg!(reactor_loom) { 2 } else { (threads * 4).next_power_of_two() };
        let shard = || {
            CachePadded(Shard {
                counts: AtomicU64::new(0),
                spawned: std::sync::atomic::AtomicU64::new(0),
                idle: Mutex::new(IdleTasks::default()),
            })
        };
        Self { shards: (0..shards).map(|_| shard()).collect(), mask: shards - 1 }
    }

    /// Counts a new live task.
    #[inline]
    pub(crate) fn enter(&self) -> ActiveEntry {
        let shard = NEXT_SHARD.with(|next| {
            let shard = next.get() & self.mask;
            next.set(shard.wrapping_add(1));
            shard
        });
        // Relaxed: a count read by `is_empty`, which orders its reads itself (see there).
        let counts = &self.shards[shard].0;
        counts.counts.fetch_add(ENTER, Ordering::Relaxed);
        // Relaxed: a metrics counter, which publishes nothing. An atomic add: threads share the
        // shards. It costs little beside the add above, on the same cache line, which this
        // thread holds exclusively at this point.
        counts.spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ActiveEntry { shard, slot: NOT_IDLE }
    }

    /// Records that the task of `entry` is idle, with `waker` to wake it at shutdown; once per
    /// task. After shutdown has taken the wakers, wakes the task instead, so that its runnable
    /// comes back to the (shut down) scheduler and is dropped.
    #[inline]
    pub(crate) fn idle(&self, entry: &mut ActiveEntry, waker: &Waker) {
        if entry.slot == NOT_IDLE {
            self.record_idle(entry, waker);
        }
    }

    /// The first [`idle`](Self::idle) of a task, out of line: a task is polled far more often
    /// than it becomes idle for the first time.
    #[cold]
    fn record_idle(&self, entry: &mut ActiveEntry, waker: &Waker) {
        let mut idle = self.shards[entry.shard].0.idle.lock();
        if idle.closed {
            drop(idle);
            waker.wake_by_ref();
            return;
        }
        entry.slot = idle.tasks.insert(waker.clone());
    }

    /// Forgets a task that completed or was dropped; returns whether its shard now counts no live
    /// task (then the whole registry may be empty).
    #[inline]
    pub(crate) fn leave(&self, entry: &ActiveEntry) -> bool {
        let shard = &self.shards[entry.shard].0;
        if entry.slot != NOT_IDLE {
            shard.forget_idle(entry.slot);
        }
        // Release: pairs with the Acquire loads of `is_empty`, so a caller told "no task is
        // live" sees everything the tasks did.
        shard.counts.fetch_sub(1, Ordering::Release) & LIVE_MASK == 1
    }

    /// Whether no task is live.
    ///
    /// The shards are read one by one, so a task may be spawned into a shard already read by a
    /// task that leaves a shard read later. The spawn counts are read before and after: if none
    /// moved, every task spawned before the last read was seen.
    pub(crate) fn is_empty(&self) -> bool {
        // Acquire: pairs with the Release in `leave`.
        let counts = || self.shards.iter().map(|shard| shard.0.counts.load(Ordering::Acquire));
        let before: Vec<u64> = counts().collect();
        before.iter().all(|count| count & LIVE_MASK == 0) && counts().eq(before.iter().copied())
    }

    /// How many tasks are live, and how many were ever spawned, for the metrics: each shard read
    /// once, without ordering, so the two may be from slightly different moments.
    pub(crate) fn counts(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(live, spawned), shard| {
            // Relaxed: a metrics read; nothing is read through these counts.
            let counts = shard.0.counts.load(Ordering::Relaxed);
            (
                live + (counts & LIVE_MASK),
                spawned + shard.0.spawned.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    /// Takes the wakers of every idle task out and closes the registry: tasks that become idle
    /// later are woken at once (see [`idle`](Self::idle)).
    pub(crate) fn take_all(&self) -> Vec<Waker> {
        self.shards
            .iter()
            .flat_map(|shard| {
                let mut idle = shard.0.idle.lock();
                idle.closed = true;
                idle.tasks.take_all()
            })
            .collect()
    }
}
