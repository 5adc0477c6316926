//! Giving the slab's memory back once most of it is free.

use super::{quarter, TimerQueue, FLOOR, NO_SLOT};

impl<T> TimerQueue<T> {
    /// Gives slab memory back once under a quarter of the slots are occupied.
    ///
    /// Keys name slot indices, so an occupied slot never moves: only the free slots at the end
    /// can go. Under a quarter occupied, whenever the last slot is free, the free slots at the
    /// end are taken off the free list and cut off at once. That costs O(slots cut): each one is
    /// unlinked in O(1), or, when the free slots that stay are fewer than those cut, the
    /// remaining slots (fewer than 5/3 of those cut, as under a quarter are occupied) are
    /// relinked in one pass. Each slot is cut at most once per time it was added, so removal
    /// stays amortised O(1). The array then shrinks to twice its length once that is under a
    /// quarter of its capacity, so a queue hovering at a threshold needs as many operations as
    /// it has slots before it reallocates again. The array is one allocation, which the
    /// allocator hands back to the system whole when it is large (no million small blocks
    /// stranded in its free lists).
    ///
    /// A timer that lives long in a high slot keeps the slots below it; that is the price of
    /// keys that stay valid without an indirection.
    #[inline]
    pub(super) fn release_free_slots(&mut self) {
        if (self.occupied as usize) < self.trim_below
            && self.slots.last().is_some_and(|last| last.target.is_none())
        {
            self.cut_free_tail();
        }
    }

    #[cold]
    #[inline(never)]
    fn cut_free_tail(&mut self) {
        // One pass from the end over the free tail: where it starts, and its newest generation.
        let mut keep = self.slots.len();
        for slot in self.slots.iter().rev() {
            if slot.target.is_some() {
                break;
            }
            // Freeing a slot bumped its generation past every key to it; `wrapping_sub` orders
            // generations the way the keys' wrapping increments do.
            if slot.generation.wrapping_sub(self.epoch) < u32::MAX / 2 {
                self.epoch = slot.generation;
            }
            keep -= 1;
        }
        let free_kept = keep - self.occupied as usize;
        if free_kept <= self.slots.len() - keep {
            // Most free slots go: relinking the few that stay (in index order, so the next
            // timers fill the lowest slots) is cheaper than unlinking the many that go.
            // SAFETY: `keep <= len`, and every slot from `keep` on is free (the pass above
            // stopped at the last occupied one). A free slot holds no target, nothing to drop,
            // so cutting them off without dropping each (as `truncate` would, one check per
            // slot) leaks nothing.
            unsafe { self.slots.set_len(keep) };
            self.free = NO_SLOT;
            for (index, slot) in self.slots.iter_mut().enumerate().rev() {
                if slot.target.is_none() {
                    slot.place = self.free;
                    // `index < slots.len() < u32::MAX` (see `insert`).
                    self.free = index as u32;
                }
            }
            let mut prev = NO_SLOT;
            let mut next = self.free;
            while let Some(slot) = self.slots.get_mut(next as usize) {
                slot.list = prev;
                (prev, next) = (next, slot.place);
            }
        } else {
            while self.slots.len() > keep {
                let index = self.slots.len() - 1;
                let (prev, next) = (self.slots[index].list, self.slots[index].place);
                // `index < u32::MAX` (see `insert`).
                if index as u32 == self.free {
                    self.free = next;
                } else {
                    self.slots[prev as usize].place = next;
                }
                if let Some(next) = self.slots.get_mut(next as usize) {
                    next.list = prev;
                }
                self.slots.pop();
            }
        }
        shrink(&mut self.slots);
        self.trim_below = quarter(self.slots.len());
    }

    /// Slots allocated (occupied and free), for tests of memory release.
    #[cfg(test)]
    pub(super) fn slot_capacity(&self) -> usize {
        self.slots.capacity()
    }
}

/// Halves or more the capacity of `vec` once it holds under a quarter of it, down to twice its
/// length and no less than `FLOOR`.
fn shrink<E>(vec: &mut Vec<E>) {
    if vec.capacity() > FLOOR && vec.len() < vec.capacity() / 4 {
        vec.shrink_to((vec.len() * 2).max(FLOOR));
    }
}
