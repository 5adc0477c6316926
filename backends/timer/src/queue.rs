//! The timer queue: a slab of timer slots ordered by a 4-ary min-heap with back-indices.
//!
//! This is a plain single-threaded data structure; [`Timer`](crate::Timer) keeps one behind a
//! mutex. Every operation is O(1) or O(log₄ n):
//!
//! - **slots** hold what a timer fires (a waker or a callback). A slot is addressed by a [`Key`]:
//!   its index plus a generation that changes each time the slot is freed, so a stale key held by
//!   a concurrent firing can never touch the slot's next occupant. Free slots form a linked list
//!   through their `position` field, so allocation and release are O(1) and never move a slot.
//! - **heap** orders the queued slots by deadline. Each heap node is 16 bytes (deadline and slot
//!   index side by side, so sifting compares without touching the slots), and each queued slot
//!   records its node's position, so a timer is removed or moved from the middle of the heap in
//!   O(log₄ n) instead of being searched for (the O(n) cancel that calloop pays) or left behind as
//!   a tombstone until its deadline.
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
/// End of the free list.
const NO_SLOT: u32 = u32::MAX;
/// Children per heap node. `earliest_child` compares four at once.
const ARITY: usize = 4;
const _: () = assert!(ARITY == 4);

/// Identifies one occupant of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Head of the free-slot list.
    free: u32,
    heap: Vec<Node>,
}

impl<T> TimerQueue<T> {
    pub(crate) const fn new() -> Self {
        Self { slots: Vec::new(), free: NO_SLOT, heap: Vec::new() }
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
            self.slots.push(Slot { generation: 0, position: NOT_QUEUED, target: Some(target) });
            index
        } else {
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            self.free = slot.position;
            slot.position = NOT_QUEUED;
            slot.target = Some(target);
            index
        };
        let key = Key { index, generation: self.slots[index as usize].generation };
        self.schedule(key, deadline);
        key
    }

    /// Frees the slot of `key` (unqueuing it) and returns its target, or `None` for a stale key.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let position = self.slot(key)?.position;
        if position != NOT_QUEUED {
            self.unqueue(position as usize);
        }
        let free = self.free;
        let slot = &mut self.slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.position = free;
        self.free = key.index;
        slot.target.take()
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
        if self.heap.capacity() > 64 && self.heap.len() < self.heap.capacity() / 4 {
            self.heap.shrink_to(self.heap.capacity() / 2);
        }
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
    use std::collections::BTreeSet;

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
