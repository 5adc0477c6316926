//! The registry of live tasks, so that shutdown can cancel tasks that sit in no queue.
//!
//! A task waiting on an event is referenced only by the waker some source holds. To drop its
//! future at shutdown the executor keeps one waker per live task here, wakes them all, and drops
//! each runnable that comes back through `schedule` instead of running it.

use std::cell::Cell;
use std::task::Waker;

use crate::sync::{thread_local, Mutex};

/// Wakers of the live tasks, by slot; freed slots are reused (O(1) insert and remove).
#[derive(Debug, Default)]
pub(crate) struct ActiveTasks {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
    len: usize,
}

impl ActiveTasks {
    /// The slot the next [`insert`](Self::insert) will use.
    pub(crate) fn next_slot(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Stores `waker` in the slot [`next_slot`](Self::next_slot) returned.
    pub(crate) fn insert(&mut self, waker: Waker) -> usize {
        self.len += 1;
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

    /// Frees `slot`; returns whether no task is left.
    pub(crate) fn remove(&mut self, slot: usize) -> bool {
        if let Some(entry) = self.slots.get_mut(slot) {
            if entry.take().is_some() {
                self.len -= 1;
                self.free.push(slot);
            }
        }
        self.len == 0
    }

    /// Whether no task is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes every waker out, leaving the registry empty.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.free.clear();
        self.len = 0;
        self.slots.drain(..).flatten().collect()
    }
}

/// Where a task's waker sits in an [`ActiveShards`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ActiveSlot {
    shard: usize,
    index: usize,
}

/// The live-task registry of a multi-threaded executor, split in shards so that a thread
/// spawning tasks and the threads finishing them rarely meet on one lock.
///
/// With one lock, spawning 100,000 tasks from one task on a pool of two workers spent over half
/// of its CPU time on that lock (`perf`: the contended lock path 25%, the registry's own code
/// 27%). A spawning thread takes the shards in turn, so consecutive tasks, which finish at about
/// the same time on different workers, sit behind different locks.
pub(crate) struct ActiveShards {
    shards: Box<[CachePadded<Mutex<ActiveTasks>>]>,
}

/// Keeps each shard on its own cache lines (128 bytes: two lines, for CPUs that fetch lines in
/// pairs), so that locking one does not slow threads working on its neighbours.
#[repr(align(128))]
struct CachePadded<T>(T);

thread_local! {
    /// The shard this thread's next spawn registers in.
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

impl ActiveShards {
    /// A registry for an executor run by `threads` threads.
    pub(crate) fn new(threads: usize) -> Self {
        let shards = if cfg!(reactor_loom) { 2 } else { (threads * 4).next_power_of_two() };
        Self { shards: (0..shards).map(|_| CachePadded(Mutex::new(ActiveTasks::default()))).collect() }
    }

    /// Registers a new task: `spawn` gets the task's slot and returns the waker to keep there,
    /// with whatever it wants to hand back. The shard stays locked during `spawn`, so the slot
    /// cannot be taken by another task first.
    pub(crate) fn register<R>(&self, spawn: impl FnOnce(ActiveSlot) -> (Waker, R)) -> R {
        let shard = NEXT_SHARD.with(|next| {
            let shard = next.get() % self.shards.len();
            next.set(shard.wrapping_add(1));
            shard
        });
        let mut tasks = self.shards[shard].0.lock();
        let (waker, output) = spawn(ActiveSlot { shard, index: tasks.next_slot() });
        tasks.insert(waker);
        output
    }

    /// Frees `slot`; returns whether its shard is now empty (then the whole registry may be).
    pub(crate) fn remove(&self, slot: ActiveSlot) -> bool {
        self.shards[slot.shard].0.lock().remove(slot.index)
    }

    /// Whether no task is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| shard.0.lock().is_empty())
    }

    /// Takes every waker out, leaving the registry empty.
    pub(crate) fn take_all(&self) -> Vec<Waker> {
        self.shards.iter().flat_map(|shard| shard.0.lock().take_all()).collect()
    }
}
