//! Unit tests of the timer queue: its behaviour against a model, and its memory release.

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

/// A big burst of timers; smaller under Miri, which interprets every step.
const MANY: u64 = if cfg!(miri) { 2_000 } else { 100_000 };

/// `count` timers with deadlines 0, 1, 2, ...; their keys in slot order.
fn filled(count: u64) -> (TimerQueue<u64>, Vec<Key>) {
    let mut queue = TimerQueue::new();
    let keys = (0..count).map(|id| queue.insert(id, id)).collect();
    (queue, keys)
}

#[test]
fn cancelling_every_timer_gives_the_memory_back_in_any_order() {
    for reverse in [false, true] {
        let (mut queue, mut keys) = filled(MANY);
        assert!(queue.slot_capacity() >= MANY as usize);
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
    let (mut queue, keys) = filled(MANY);
    let (survivors, cancelled) = keys.split_at(MANY as usize / 10);
    for &key in cancelled.iter().rev().step_by(2).chain(cancelled.iter().step_by(2)) {
        queue.remove(key);
    }
    assert!(queue.slot_capacity() < MANY as usize / 2, "{} slots kept", queue.slot_capacity());
    for (id, &key) in survivors.iter().enumerate() {
        assert_eq!(queue.get_mut(key), Some(&mut (id as u64)));
    }
    // Growing back over the cut-off slots: none of their old keys matches a new occupant.
    let regrown: HashSet<Key> = (0..MANY).map(|id| queue.insert(NEVER, id + 10 * MANY)).collect();
    assert!(queue.slot_capacity() >= (MANY + MANY / 10) as usize);
    assert!(cancelled.iter().all(|key| !regrown.contains(key)));
    for &stale in cancelled {
        assert_eq!(queue.get_mut(stale), None);
        assert!(!queue.schedule(stale, 1));
        assert_eq!(queue.remove(stale), None);
    }
    // The survivors still fire, in order.
    for id in 0..MANY / 10 {
        let (key, deadline, &mut target) = queue.pop_due(u64::MAX - 1).unwrap();
        assert_eq!((key, deadline, target), (survivors[id as usize], id, id));
    }
}

#[test]
fn free_slots_below_a_cut_are_each_reused_once() {
    let (mut queue, keys) = filled(1_000);
    for &key in keys[..100].iter().skip(1).step_by(2).chain(keys[100..].iter().rev().step_by(3)) {
        queue.remove(key);
    }
    for &key in &keys[100..] {
        queue.remove(key);
    }
    assert_eq!(queue.slots.len(), 99, "slot 99 was free, so it was cut too");
    let mut live: Vec<(Key, u64)> = (0..100).step_by(2).map(|id| (keys[id as usize], id)).collect();
    live.extend((0..300).map(|id| (queue.insert(id, id + 1_000), id + 1_000)));
    assert_eq!(queue.slots.len(), 350, "the 49 free slots are reused before the slab grows");
    assert_eq!(live.iter().map(|&(key, _)| key).collect::<HashSet<_>>().len(), live.len());
    for (key, mut id) in live {
        assert_eq!(queue.get_mut(key), Some(&mut id));
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
    for round in 0..MANY {
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
