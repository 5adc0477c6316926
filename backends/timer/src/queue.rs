//! The timer queue: a slab of timer slots ordered by a 4-ary min-heap with back-indices.
//!
//! This is a plain single-threaded data structure; [`Timer`](crate::Timer) keeps one behind a
//! mutex. Every operation is O(1) or O(log₄ n):
//!
//! - **slots** hold what a timer fires (a waker or a callback). A slot is addressed by a [`Key`]:
//!   its index plus a generation that changes each time the slot is freed, so a stale key held by
//!   a concurrent firing can never touch the slot's next occupant. Free slots form a doubly
//!   linked list through the slots themselves (no memory besides the slots), so allocation,
//!   release and unlinking any free slot are O(1) and never move a slot.
//! - **heap** orders the queued slots by deadline. Each heap node is 16 bytes (deadline and slot
//!   index side by side, so sifting compares without touching the slots), and each queued slot
//!   records its node's position, so a timer is removed or moved from the middle of the heap in
//!   O(log₄ n) instead of being searched for (the O(n) cancel that calloop pays) or left behind as
//!   a tombstone until its deadline.
//!
//! - **memory** goes back once most of it is free (see `release_free_slots`): the heap halves
//!   its array when under a quarter full; the slab, whose keys must stay valid, cuts off its
//!   free tail when under a quarter occupied and shrinks once under a quarter of its capacity.
//!   Both stay amortised O(1) and never thrash around a threshold.
//!
//! A 4-ary heap halves the depth of a binary one (10 levels for a million timers) and its four
//! children share a cache line, which makes it faster than a binary heap for the sift-down that
//! every removal does.

use std::fmt;
use std::mem;

/// A deadline in nanoseconds since the clock's origin; [`NEVER`] for "never".
pub(crate) type Tick = u64;

/// The deadline of a timer that never fires. Such a timer is registered but never queued.
pub(crate) const NEVER: Tick = Tick::MAX;

/// `Slot::position` of a slot that is occupied but not in the heap.
const NOT_QUEUED: u32 = u32::MAX;
/// End of the free list. Not a slot index: `insert` never hands it out.
const NO_SLOT: u32 = u32::MAX;
/// Children per heap node. `earliest_child` compares four at once.
const ARITY: usize = 4;
const _: () = assert!(ARITY == 4);
/// Below this many slots or heap nodes (2 KiB of slots, 1 KiB of heap) memory is not given back.
/// Tiny in unit tests, so that the property test's small queues trim too.
const FLOOR: usize = if cfg!(test) { 4 } else { 64 };

/// Identifies one occupant of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

struct Slot<T> {
    /// Incremented when the slot is freed, so keys to the previous occupant stop matching.
    generation: u32,
    /// Occupied: the heap position of this slot's node, or `NOT_QUEUED`. Free: the next free
    /// slot, or `NO_SLOT`.
    position: u32,
    target: Entry<T>,
}

/// What a slot holds. As small as `Option<T>` for the timer's targets (which have spare tag
/// values), so the free list's back link costs no memory.
enum Entry<T> {
    Occupied(T),
    /// `prev` is the previous free slot; meaningless for the head of the free list.
    Free {
        prev: u32,
    },
}

impl<T> Entry<T> {
    fn is_occupied(&self) -> bool {
        matches!(self, Entry::Occupied(_))
    }

    fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Entry::Occupied(target) => Some(target),
            Entry::Free { .. } => None,
        }
    }
}

#[derive(Clone, Copy)]
struct Node {
    deadline: Tick,
    slot: u32,
}

/// Timers ordered by deadline, each holding a `T` (what firing it wakes or runs).
pub(crate) struct TimerQueue<T> {
    slots: Vec<Slot<T>>,
    /// Head of the free-slot list: the most recently freed slot.
    free: u32,
    /// Occupied slots.
    occupied: u32,
    /// The generation a new slot starts at: above every generation a slot cut off the end of
    /// `slots` ever had, so that a stale key to a cut-off slot never matches its successor.
    epoch: u32,
    heap: Vec<Node>,
    /// `quarter(slots.len())`, kept with the length so that a removal checks one number.
    trim_below: usize,
    /// `quarter(heap.capacity())`, kept with the capacity.
    shrink_below: usize,
}

impl<T> TimerQueue<T> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NO_SLOT,
            occupied: 0,
            epoch: 0,
            heap: Vec::new(),
            trim_below: 0,
            shrink_below: 0,
        }
    }

    /// Occupies a slot with `target`, queued at `deadline` unless that is [`NEVER`].
    ///
    /// # Panics
    ///
    /// With more than 4,294,967,294 timers registered at once (about 170 GB of timers), like
    /// `Vec` panics on capacity overflow.
    pub(crate) fn insert(&mut self, deadline: Tick, target: T) -> Key {
        let index = if self.free == NO_SLOT {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&index| index != NO_SLOT)
                .expect("timer queue capacity overflow: more than u32::MAX - 1 timers");
            self.slots.push(Slot {
                generation: self.epoch,
                position: NOT_QUEUED,
                target: Entry::Occupied(target),
            });
            self.trim_below = quarter(self.slots.len());
            index
        } else {
            // The new head's back link goes stale: a head's is never read.
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            self.free = slot.position;
            slot.position = NOT_QUEUED;
            slot.target = Entry::Occupied(target);
            index
        };
        self.occupied += 1;
        let key = Key { index, generation: self.slots[index as usize].generation };
        if deadline != NEVER {
            self.enqueue(index, deadline);
        }
        key
    }

    /// Frees the slot of `key` (unqueuing it) and returns its target, or `None` for a stale key.
    #[inline(always)]
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let position = self.slot(key)?.position;
        if position != NOT_QUEUED {
            self.unqueue(position as usize);
        }
        let head = self.free;
        let slot = &mut self.slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.position = head;
        // Occupied: `slot` checked it.
        let target = match mem::replace(&mut slot.target, Entry::Free { prev: NO_SLOT }) {
            Entry::Occupied(target) => Some(target),
            Entry::Free { .. } => None,
        };
        if let Some(head) = self.slots.get_mut(head as usize) {
            head.target = Entry::Free { prev: key.index };
        }
        self.free = key.index;
        self.occupied -= 1;
        self.release_free_slots();
        target
    }

    /// Queues `key` at `deadline`, moving it if it is queued already; [`NEVER`] unqueues it.
    /// Returns `false` for a stale key.
    pub(crate) fn schedule(&mut self, key: Key, deadline: Tick) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let position = slot.position;
        match (position == NOT_QUEUED, deadline == NEVER) {
            (true, true) => {}
            (true, false) => self.enqueue(key.index, deadline),
            (false, true) => self.unqueue(position as usize),
            (false, false) => {
                let position = position as usize;
                let earlier = deadline < self.heap[position].deadline;
                self.heap[position].deadline = deadline;
                if earlier {
                    self.sift_up(position);
                } else {
                    self.sift_down(position);
                }
            }
        }
        true
    }

    /// The target of `key`, or `None` for a stale key.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slot(key)?;
        self.slots[key.index as usize].target.as_mut()
    }

    /// Whether `key` is queued (registered with a deadline that has not fired).
    pub(crate) fn is_queued(&self, key: Key) -> bool {
        self.slot(key).is_some_and(|slot| slot.position != NOT_QUEUED)
    }

    /// The earliest queued deadline, or [`NEVER`].
    pub(crate) fn earliest(&self) -> Tick {
        self.heap.first().map_or(NEVER, |node| node.deadline)
    }

    /// Number of queued timers.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Unqueues the earliest timer if its deadline is at or before `now`, leaving its slot
    /// occupied; returns its key, deadline and target.
    pub(crate) fn pop_due(&mut self, now: Tick) -> Option<(Key, Tick, &mut T)> {
        let root = *self.heap.first().filter(|root| root.deadline <= now)?;
        self.unqueue(0);
        let slot = &mut self.slots[root.slot as usize];
        let key = Key { index: root.slot, generation: slot.generation };
        Some((key, root.deadline, slot.target.as_mut()?))
    }

    fn slot(&self, key: Key) -> Option<&Slot<T>> {
        self.slots
            .get(key.index as usize)
            .filter(|slot| slot.generation == key.generation && slot.target.is_occupied())
    }

    /// Queues the unqueued slot `slot` at `deadline` (not `NEVER`).
    #[inline]
    fn enqueue(&mut self, slot: u32, deadline: Tick) {
        let position = self.heap.len();
        let grows = position == self.heap.capacity();
        self.heap.push(Node { deadline, slot });
        if grows {
            self.shrink_below = quarter(self.heap.capacity());
        }
        self.sift_up(position);
    }

    /// Removes the node at `position` from the heap and marks its slot unqueued.
    #[inline]
    fn unqueue(&mut self, position: usize) {
        let removed = self.heap.swap_remove(position);
        self.slots[removed.slot as usize].position = NOT_QUEUED;
        if position < self.heap.len() {
            if position > 0 && self.heap[position].deadline < self.heap[(position - 1) / ARITY].deadline {
                self.sift_up(position);
            } else {
                self.sift_down(position);
            }
        }
        self.release_spare_capacity();
    }

    fn sift_up(&mut self, mut position: usize) {
        let heap = &mut self.heap[..];
        let slots = &mut self.slots[..];
        let node = heap[position];
        while position > 0 {
            let parent = (position - 1) / ARITY;
            let above = heap[parent];
            if above.deadline <= node.deadline {
                break;
            }
            heap[position] = above;
            set_position(slots, above.slot, position);
            position = parent;
        }
        heap[position] = node;
        set_position(slots, node.slot, position);
    }

    fn sift_down(&mut self, mut position: usize) {
        let heap = &mut self.heap[..];
        let slots = &mut self.slots[..];
        let node = heap[position];
        loop {
            let first_child = position * ARITY + 1;
            let Some(children) = heap.get(first_child..).filter(|children| !children.is_empty()) else {
                break;
            };
            let child = first_child + earliest_child(children);
            let below = heap[child];
            if below.deadline >= node.deadline {
                break;
            }
            heap[position] = below;
            set_position(slots, below.slot, position);
            position = child;
        }
        heap[position] = node;
        set_position(slots, node.slot, position);
    }

    /// Gives memory back once the heap uses under a quarter of it, so a burst of a million
    /// timers does not pin its peak forever; amortised O(1), as each halving follows at least as
    /// many removals as it frees places.
    #[inline]
    fn release_spare_capacity(&mut self) {
        if self.heap.len() < self.shrink_below {
            self.halve_heap();
        }
    }

    #[cold]
    #[inline(never)]
    fn halve_heap(&mut self) {
        self.heap.shrink_to(self.heap.capacity() / 2);
        self.shrink_below = quarter(self.heap.capacity());
    }

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
    fn release_free_slots(&mut self) {
        if (self.occupied as usize) < self.trim_below
            && self.slots.last().is_some_and(|last| !last.target.is_occupied())
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
            if slot.target.is_occupied() {
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
            // stopped at the last occupied one). A free slot holds only indices, nothing to
            // drop, so cutting them off without dropping each (as `truncate` would, one check
            // per slot) leaks nothing.
            unsafe { self.slots.set_len(keep) };
            self.free = NO_SLOT;
            for (index, slot) in self.slots.iter_mut().enumerate().rev() {
                if !slot.target.is_occupied() {
                    slot.position = self.free;
                    // `index < slots.len() < u32::MAX` (see `insert`).
                    self.free = index as u32;
                }
            }
            let mut prev = NO_SLOT;
            let mut next = self.free;
            while let Some(slot) = self.slots.get_mut(next as usize) {
                slot.target = Entry::Free { prev };
                (prev, next) = (next, slot.position);
            }
        } else {
            while self.slots.len() > keep {
                let index = self.slots.len() - 1;
                let (prev, next) = match self.slots[index] {
                    Slot { position: next, target: Entry::Free { prev }, .. } => (prev, next),
                    Slot { target: Entry::Occupied(_), .. } => break, // `keep` says this is not
                };
                // `index < u32::MAX` (see `insert`).
                if index as u32 == self.free {
                    self.free = next;
                } else {
                    self.slots[prev as usize].position = next;
                }
                if let Some(next) = self.slots.get_mut(next as usize) {
                    next.target = Entry::Free { prev };
                }
                self.slots.pop();
            }
        }
        shrink(&mut self.slots);
        self.trim_below = quarter(self.slots.len());
    }

    /// Slots allocated (occupied and free), for tests of memory release.
    #[cfg(test)]
    fn slot_capacity(&self) -> usize {
        self.slots.capacity()
    }
}

/// A quarter of `n`, or 0 (never reached) while `n` is at most `FLOOR`: the thresholds below
/// which memory is given back.
fn quarter(n: usize) -> usize {
    if n > FLOOR {
        n / 4
    } else {
        0
    }
}

/// Halves or more the capacity of `vec` once it holds under a quarter of it, down to twice its
/// length and no less than `FLOOR`.
fn shrink<E>(vec: &mut Vec<E>) {
    if vec.capacity() > FLOOR && vec.len() < vec.capacity() / 4 {
        vec.shrink_to((vec.len() * 2).max(FLOOR));
    }
}

/// The index of the earliest of the first `ARITY` (four) of `children` (at least one).
///
/// With all four present, a tournament of three comparisons and no data-dependent loop exit: this
/// runs once per level of every sift-down, the hot loop of firing.
fn earliest_child(children: &[Node]) -> usize {
    if let [a, b, c, d, ..] = children {
        let (left, left_deadline) = if b.deadline < a.deadline { (1, b.deadline) } else { (0, a.deadline) };
        let (right, right_deadline) = if d.deadline < c.deadline { (3, d.deadline) } else { (2, c.deadline) };
        return if right_deadline < left_deadline { right } else { left };
    }
    let mut earliest = 0;
    for (index, child) in children.iter().enumerate().skip(1) {
        if child.deadline < children[earliest].deadline {
            earliest = index;
        }
    }
    earliest
}

/// Records in slot `slot` that its node is at heap `position`.
fn set_position<T>(slots: &mut [Slot<T>], slot: u32, position: usize) {
    // `position < heap.len() <= slots.len() < u32::MAX` (see `insert`), so it fits.
    slots[slot as usize].position = position as u32;
}

impl<T> fmt::Debug for TimerQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerQueue")
            .field("queued", &self.heap.len())
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
