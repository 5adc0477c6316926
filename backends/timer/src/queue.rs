//! The timer queue: a slab of timer slots ordered by a 4-ary min-heap with back-indices.
//!
//! This is a plain single-threaded data structure; [`Timer`](crate::Timer) keeps one behind a
//! mutex. Every operation is O(1) or O(log₄ n):
//!
//! - **slots** hold what a timer fires (a waker or a callback). A slot is addressed by a [`Key`]:
//!   its index plus a generation that changes each time the slot is freed, so a stale key held by
//!   a concurrent firing can never touch the slot's next occupant. Free slot indices are kept on
//!   a stack, so allocation and release are O(1) and never move a slot.
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

/// A deadline in nanoseconds since the clock's origin; [`NEVER`] for "never".
pub(crate) type Tick = u64;

/// The deadline of a timer that never fires. Such a timer is registered but never queued.
pub(crate) const NEVER: Tick = Tick::MAX;

/// `Slot::position` of a slot that is occupied but not in the heap.
const NOT_QUEUED: u32 = u32::MAX;
/// Not a slot index: `insert` never hands it out.
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
    /// The heap position of this slot's node, or `NOT_QUEUED` (always, when free).
    position: u32,
    /// `None` exactly when the slot is free.
    target: Option<T>,
}

#[derive(Clone, Copy)]
struct Node {
    deadline: Tick,
    slot: u32,
}

/// Timers ordered by deadline, each holding a `T` (what firing it wakes or runs).
pub(crate) struct TimerQueue<T> {
    slots: Vec<Slot<T>>,
    /// The free slots' indices, most recently freed last; each free slot is here once. Also
    /// the `cut` indices of slots cut off the end since, which `insert` skips: they are all
    /// gone before `slots` grows again, since it grows only when this is empty.
    free: Vec<u32>,
    /// Indices in `free` that are `slots.len()` or more.
    cut: u32,
    /// Occupied slots.
    occupied: u32,
    /// The generation a new slot starts at: above every generation a slot cut off the end of
    /// `slots` ever had, so that a stale key to a cut-off slot never matches its successor.
    epoch: u32,
    heap: Vec<Node>,
}

impl<T> TimerQueue<T> {
    pub(crate) const fn new() -> Self {
        Self { slots: Vec::new(), free: Vec::new(), cut: 0, occupied: 0, epoch: 0, heap: Vec::new() }
    }

    /// Occupies a slot with `target`, queued at `deadline` unless that is [`NEVER`].
    ///
    /// # Panics
    ///
    /// With more than 4,294,967,294 timers registered at once (about 170 GB of timers), like
    /// `Vec` panics on capacity overflow.
    pub(crate) fn insert(&mut self, deadline: Tick, target: T) -> Key {
        let index = match self.pop_free() {
            Some(index) => {
                self.slots[index as usize].target = Some(target);
                index
            }
            None => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&index| index != NO_SLOT)
                    .expect("timer queue capacity overflow: more than u32::MAX - 1 timers");
                self.slots.push(Slot { generation: self.epoch, position: NOT_QUEUED, target: Some(target) });
                index
            }
        };
        self.occupied += 1;
        let key = Key { index, generation: self.slots[index as usize].generation };
        self.schedule(key, deadline);
        key
    }

    /// Frees the slot of `key` (unqueuing it) and returns its target, or `None` for a stale key.
    #[inline]
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let position = self.slot(key)?.position;
        if position != NOT_QUEUED {
            self.unqueue(position as usize);
        }
        let slot = &mut self.slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let target = slot.target.take();
        self.free.push(key.index);
        self.occupied -= 1;
        self.release_free_slots();
        target
    }

    /// The most recently freed slot still in `slots`, if any.
    #[inline]
    fn pop_free(&mut self) -> Option<u32> {
        loop {
            let index = self.free.pop()?;
            if (index as usize) < self.slots.len() {
                return Some(index);
            }
            self.cut -= 1;
        }
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
            (true, false) => {
                let position = self.heap.len();
                self.heap.push(Node { deadline, slot: key.index });
                self.sift_up(position);
            }
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
            .filter(|slot| slot.generation == key.generation && slot.target.is_some())
    }

    /// Removes the node at `position` from the heap and marks its slot unqueued.
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
    fn release_spare_capacity(&mut self) {
        if self.heap.capacity() > FLOOR && self.heap.len() < self.heap.capacity() / 4 {
            self.heap.shrink_to(self.heap.capacity() / 2);
        }
    }

    /// Gives slab memory back once under a quarter of the slots are occupied.
    ///
    /// Keys name slot indices, so an occupied slot never moves: only the free slots at the end
    /// can go. Under a quarter occupied, whenever the last slot is free, the free slots at the
    /// end are cut off at once (each slot is cut at most once per time it was added, so this is
    /// amortised O(1)); their indices stay in `free` until `insert` skips them, or are purged
    /// once they are most of it. The arrays shrink to twice what they hold once that is under a
    /// quarter of their capacity, so a queue hovering at a threshold needs as many operations
    /// as it has slots before it reallocates again. Each array is one allocation, which the
    /// allocator hands back to the system whole when it is large (no million small blocks
    /// stranded in its free lists).
    ///
    /// A timer that lives long in a high slot keeps the slots below it; that is the price of
    /// keys that stay valid without an indirection.
    #[inline]
    fn release_free_slots(&mut self) {
        let len = self.slots.len();
        if len > FLOOR && (self.occupied as usize) < len / 4 && self.slots[len - 1].target.is_none() {
            self.cut_free_tail();
        }
    }

    #[cold]
    #[inline(never)]
    fn cut_free_tail(&mut self) {
        let keep = self.slots.iter().rposition(|slot| slot.target.is_some()).map_or(0, |last| last + 1);
        for slot in &self.slots[keep..] {
            // Freeing a slot bumped its generation past every key to it; `wrapping_sub` orders
            // generations the way the keys' wrapping increments do.
            if slot.generation.wrapping_sub(self.epoch) < u32::MAX / 2 {
                self.epoch = slot.generation;
            }
        }
        // `slots.len() < u32::MAX` (see `insert`).
        self.cut += (self.slots.len() - keep) as u32;
        self.slots.truncate(keep);
        if self.cut as usize == self.free.len() {
            self.free.clear();
            self.cut = 0;
        } else if self.cut as usize > self.free.len() / 2 {
            let len = self.slots.len();
            self.free.retain(|&index| (index as usize) < len);
            self.cut = 0;
        }
        shrink(&mut self.slots);
        shrink(&mut self.free);
    }

    /// Slots allocated (occupied and free), for tests of memory release.
    #[cfg(test)]
    fn slot_capacity(&self) -> usize {
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
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::timer::Target;

    /// The crate docs state the memory per pending timer; keep them honest.
    #[test]
    fn a_pending_timer_takes_48_bytes_and_a_sleep_48_more() {
        assert_eq!(std::mem::size_of::<Slot<Target>>() + std::mem::size_of::<Node>(), 48);
        assert_eq!(std::mem::size_of::<crate::Sleep>(), 48);
    }

    #[test]
    fn a_freed_slot_is_reused_and_its_stale_key_rejected() {
        let mut queue = TimerQueue::new();
        let first = queue.insert(5, "first");
        assert_eq!(queue.remove(first), Some("first"));
        let second = queue.insert(5, "second");
        assert_eq!(queue.slots.len(), 1);
        assert_eq!(queue.remove(first), None);
        assert!(!queue.schedule(first, 1));
        assert_eq!(queue.get_mut(second), Some(&mut "second"));
    }

    /// `count` timers with deadlines 0, 1, 2, ...; their keys in slot order.
    fn filled(count: u64) -> (TimerQueue<u64>, Vec<Key>) {
        let mut queue = TimerQueue::new();
        let keys = (0..count).map(|id| queue.insert(id, id)).collect();
        (queue, keys)
    }

    #[test]
    fn cancelling_every_timer_gives_the_memory_back_in_any_order() {
        for reverse in [false, true] {
            let (mut queue, mut keys) = filled(100_000);
            assert!(queue.slot_capacity() >= 100_000);
            if reverse {
                keys.reverse();
            }
            for (removed, key) in keys.into_iter().enumerate() {
                assert!(queue.remove(key).is_some(), "timer {removed}");
            }
            assert_eq!(queue.len(), 0);
            assert!(queue.slot_capacity() <= 2 * FLOOR, "{} slots kept", queue.slot_capacity());
            assert!(queue.heap.capacity() <= 2 * FLOOR, "{} heap nodes kept", queue.heap.capacity());
        }
    }

    #[test]
    fn survivors_keep_their_keys_when_the_free_end_is_cut_off() {
        let (mut queue, keys) = filled(100_000);
        let (survivors, cancelled) = keys.split_at(10_000);
        for &key in cancelled.iter().rev().step_by(2).chain(cancelled.iter().step_by(2)) {
            queue.remove(key);
        }
        assert!(queue.slot_capacity() < 50_000, "{} slots kept", queue.slot_capacity());
        for (id, &key) in survivors.iter().enumerate() {
            assert_eq!(queue.get_mut(key), Some(&mut (id as u64)));
        }
        // Growing back over the cut-off slots: none of their old keys matches a new occupant.
        let regrown: HashSet<Key> = (0..100_000).map(|id| queue.insert(NEVER, id + 1_000_000)).collect();
        assert!(queue.slot_capacity() >= 110_000);
        assert!(cancelled.iter().all(|key| !regrown.contains(key)));
        for &stale in cancelled {
            assert_eq!(queue.get_mut(stale), None);
            assert!(!queue.schedule(stale, 1));
            assert_eq!(queue.remove(stale), None);
        }
        // The survivors still fire, in order.
        for id in 0..10_000 {
            let (key, deadline, &mut target) = queue.pop_due(u64::MAX - 1).unwrap();
            assert_eq!((key, deadline, target), (survivors[id as usize], id, id));
        }
    }

    #[test]
    fn hovering_at_a_quarter_full_does_not_shrink_and_grow_again_and_again() {
        let (mut queue, keys) = filled(4_096);
        // Keep the top slot occupied so the end cannot be cut off, and go to just under a
        // quarter occupied.
        for &key in &keys[..3_073] {
            queue.remove(key);
        }
        let mut capacity = queue.slot_capacity();
        let mut changes = 0;
        for round in 0..100_000u64 {
            let key = queue.insert(round, round);
            queue.remove(key);
            changes += usize::from(queue.slot_capacity() != capacity);
            capacity = queue.slot_capacity();
        }
        assert_eq!(changes, 0);
        assert_eq!(capacity, 4_096);
        assert_eq!(queue.len(), 1_023);
    }

    #[test]
    fn a_slab_trimmed_at_the_threshold_regrows_without_thrashing() {
        let (mut queue, keys) = filled(4_096);
        for &key in keys[1_000..].iter().rev() {
            queue.remove(key);
        }
        let trimmed = queue.slot_capacity();
        assert!(trimmed < 4_096, "{trimmed} slots kept");
        // Insert and cancel in waves just around the size it was trimmed to.
        let mut capacities = vec![trimmed];
        for _ in 0..1_000 {
            let wave: Vec<_> = (0..16).map(|id| queue.insert(id, id)).collect();
            for key in wave {
                queue.remove(key);
            }
            if capacities.last() != Some(&queue.slot_capacity()) {
                capacities.push(queue.slot_capacity());
            }
        }
        assert_eq!(capacities, [trimmed]);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Tick),
        Remove(usize),
        Schedule(usize, Tick),
        PopDue(Tick),
    }

    fn deadline() -> impl Strategy<Value = Tick> {
        prop_oneof![8 => 0..50u64, 1 => Just(NEVER)]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            deadline().prop_map(Op::Insert),
            any::<usize>().prop_map(Op::Remove),
            (any::<usize>(), deadline()).prop_map(|(i, d)| Op::Schedule(i, d)),
            (0..60u64).prop_map(Op::PopDue),
        ]
    }

    proptest! {
        // Under Miri every case is interpreted (about a thousand times slower), and proptest's
        // failure file would need host file access: a few cases, nothing persisted.
        #![proptest_config(if cfg!(miri) {
            ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() }
        } else {
            ProptestConfig::default()
        })]

        /// Against a model (a sorted set of (deadline, id)): timers pop in deadline order, exactly
        /// those due, and removing or moving one never disturbs another.
        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec(op(), 1..200)) {
            let mut queue = TimerQueue::new();
            let mut model: BTreeSet<(Tick, u64)> = BTreeSet::new();
            let mut live: Vec<(Key, u64, Tick)> = Vec::new();
            let mut next_id = 0;
            for op in ops {
                match op {
                    Op::Insert(deadline) => {
                        let key = queue.insert(deadline, next_id);
                        if deadline != NEVER {
                            model.insert((deadline, next_id));
                        }
                        live.push((key, next_id, deadline));
                        next_id += 1;
                    }
                    Op::Remove(i) if !live.is_empty() => {
                        let (key, id, deadline) = live.swap_remove(i % live.len());
                        prop_assert_eq!(queue.remove(key), Some(id));
                        model.remove(&(deadline, id));
                    }
                    Op::Schedule(i, deadline) if !live.is_empty() => {
                        let i = i % live.len();
                        let (key, id, old) = live[i];
                        prop_assert!(queue.schedule(key, deadline));
                        model.remove(&(old, id));
                        if deadline != NEVER {
                            model.insert((deadline, id));
                        }
                        live[i].2 = deadline;
                    }
                    Op::PopDue(now) => {
                        while let Some((key, deadline, &mut id)) = queue.pop_due(now) {
                            let first = model.pop_first();
                            prop_assert_eq!(first.map(|(d, _)| d), Some(deadline));
                            prop_assert!(model.remove(&(deadline, id)) || first == Some((deadline, id)));
                            if let Some(first) = first.filter(|&first| first != (deadline, id)) {
                                model.insert(first);
                            }
                            let entry = live.iter_mut().find(|entry| entry.0 == key).unwrap();
                            entry.2 = NEVER;
                        }
                        prop_assert!(model.first().map_or(true, |&(d, _)| d > now));
                    }
                    _ => {}
                }
                prop_assert_eq!(queue.len(), model.len());
                prop_assert_eq!(queue.earliest(), model.first().map_or(NEVER, |&(d, _)| d));
            }
        }
    }
}
