//! The registry of live tasks, so that shutdown can cancel tasks that sit in no queue.
//!
//! A task waiting on an event is referenced only by the waker some source holds. To drop its
//! future at shutdown the executor keeps one waker per live task here, wakes them all, and drops
//! each runnable that comes back through `schedule` instead of running it.

use std::task::Waker;

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
