//! Unit tests of the timer queue: its behaviour against a model, and its memory release.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::timer::Target;

/// The crate docs state the memory per pending timer; keep them honest.
#[test]
fn a_pending_timer_takes_52_bytes_and_a_sleep_48_more() {
    assert_eq!(std::mem::size_of::<Slot<Target>>() + std::mem::size_of::<u32>(), 52);
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
        let kept: usize = queue.buckets.iter().map(Vec::capacity).sum();
        assert!(kept <= LEVELS * BUCKETS * KEPT, "{kept} bucket places kept");
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
    Insert(When),
    Remove(usize),
    Schedule(usize, When),
    /// Moves the clock forward by this much and pops everything due.
    PopDue(u64),
    /// Like the waiter: moves the clock to the reported earliest deadline and pops what is due.
    WakeAtEarliest,
    /// A registration tells the queue the clock reached (a time at or before) now.
    CatchUp,
}

/// A deadline relative to the clock: past, near (level 0 to 2), far (any level), or never.
#[derive(Clone, Copy, Debug)]
enum When {
    Past(u64),
    After(u64),
    Never,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        1 => (0..5_000u64).prop_map(When::Past),
        4 => (0..3_000u64).prop_map(When::After),
        3 => (0..10_000_000u64).prop_map(When::After),
        2 => any::<u64>().prop_map(|shift| When::After(u64::MAX >> (shift % 64))),
        1 => Just(When::Never),
    ]
}

fn resolve(when: When, now: Tick) -> Tick {
    match when {
        When::Past(ago) => now.saturating_sub(ago),
        When::After(after) => now.saturating_add(after).min(NEVER - 1),
        When::Never => NEVER,
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => when().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Remove),
        2 => (any::<usize>(), when()).prop_map(|(i, w)| Op::Schedule(i, w)),
        2 => prop_oneof![0..2_000u64, 0..5_000_000u64, Just(u64::MAX / 3)].prop_map(Op::PopDue),
        2 => Just(Op::WakeAtEarliest),
        1 => Just(Op::CatchUp),
    ]
}

proptest! {
    // Under Miri every case is interpreted (about a thousand times slower), and proptest's
    // failure file would need host file access: a few cases, nothing persisted.
    #![proptest_config(if cfg!(miri) {
        ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() }
    } else {
        ProptestConfig { cases: 1_000, ..ProptestConfig::default() }
    })]

    /// Against a model (a sorted map of (deadline, id)), on a clock that only moves forward:
    /// timers pop in deadline order, exactly those due and never one early, removing or moving
    /// one never disturbs another, and the reported earliest deadline is a lower bound that
    /// `pop_due` leaves above the clock (so a waiter never spins).
    #[test]
    fn behaves_like_a_sorted_map(start in prop_oneof![Just(0u64), any::<u64>().prop_map(|t| t >> 2)],
                                 ops in proptest::collection::vec(op(), 1..300)) {
        let mut queue = TimerQueue::new();
        let mut now = start;
        queue.catch_up(now);
        let mut model: BTreeMap<(Tick, u64), Key> = BTreeMap::new();
        let mut live: Vec<(Key, u64, Tick)> = Vec::new();
        let mut next_id = 0;
        // Whether a timer was cancelled or moved: until then the earliest deadline is exact.
        let mut moved = false;
        for op in ops {
            match op {
                Op::Insert(when) => {
                    let deadline = resolve(when, now);
                    let key = queue.insert(deadline, next_id);
                    if deadline != NEVER {
                        model.insert((deadline, next_id), key);
                    }
                    live.push((key, next_id, deadline));
                    next_id += 1;
                }
                Op::Remove(i) if !live.is_empty() => {
                    let (key, id, deadline) = live.swap_remove(i % live.len());
                    prop_assert_eq!(queue.remove(key), Some(id));
                    moved = true;
                    model.remove(&(deadline, id));
                }
                Op::Schedule(i, when) if !live.is_empty() => {
                    let deadline = resolve(when, now);
                    let i = i % live.len();
                    let (key, id, old) = live[i];
                    prop_assert!(queue.schedule(key, deadline));
                    moved = true;
                    model.remove(&(old, id));
                    if deadline != NEVER {
                        model.insert((deadline, id), key);
                    }
                    live[i].2 = deadline;
                }
                Op::PopDue(_) | Op::WakeAtEarliest => {
                    if let Op::PopDue(by) = op {
                        now = now.saturating_add(by).min(NEVER - 1);
                    } else if queue.earliest() != NEVER {
                        now = now.max(queue.earliest());
                    }
                    while let Some((key, deadline, &mut id)) = queue.pop_due(now) {
                        prop_assert!(deadline <= now, "fired {} early at {}", deadline, now);
                        let first = model.pop_first().map(|(first, _)| first);
                        // Ties may come in any order.
                        prop_assert_eq!(first.map(|(d, _)| d), Some(deadline));
                        if first != Some((deadline, id)) {
                            prop_assert!(model.remove(&(deadline, id)).is_some());
                            model.insert(first.unwrap(), key);
                        }
                        let entry = live.iter_mut().find(|entry| entry.0 == key).unwrap();
                        entry.2 = NEVER;
                    }
                    prop_assert!(model.first_key_value().map_or(true, |(&(d, _), _)| d > now));
                    prop_assert!(queue.earliest() > now, "earliest {} not after {}", queue.earliest(), now);
                }
                Op::CatchUp => queue.catch_up(now),
                _ => {}
            }
            prop_assert_eq!(queue.len(), model.len());
            let first = model.first_key_value().map_or(NEVER, |(&(d, _), _)| d);
            prop_assert!(queue.earliest() <= first, "earliest {} after {}", queue.earliest(), first);
            prop_assert_eq!(queue.earliest() == NEVER, first == NEVER);
            if !moved {
                prop_assert_eq!(queue.earliest(), first);
            }
            for (&(_, id), &key) in &model {
                prop_assert!(queue.is_queued(key), "timer {} not queued", id);
            }
        }
    }

    /// A waiter that sleeps until each reported earliest deadline wakes exactly at every
    /// deadline (to the nanosecond), and at nothing else.
    #[test]
    fn a_waiter_converges_on_each_deadline_exactly(start in any::<u64>().prop_map(|t| t >> 2),
                                                   offsets in proptest::collection::vec(
                                                       prop_oneof![0..5_000u64, 0..100_000_000u64,
                                                                   0..(1u64 << 50)], 1..50)) {
        let mut queue = TimerQueue::new();
        queue.catch_up(start);
        let mut deadlines: Vec<Tick> = offsets.iter().map(|&offset| start + offset).collect();
        for (id, &deadline) in deadlines.iter().enumerate() {
            queue.insert(deadline, id);
        }
        deadlines.sort_unstable();
        deadlines.dedup();
        let mut wakes = 0;
        let mut fired_at = Vec::new();
        while queue.earliest() != NEVER {
            let now = queue.earliest();
            wakes += 1;
            while let Some((_, deadline, _)) = queue.pop_due(now) {
                prop_assert!(deadline <= now);
                if fired_at.last() != Some(&deadline) {
                    prop_assert_eq!(deadline, now, "woke late for {}", deadline);
                    fired_at.push(deadline);
                }
            }
        }
        prop_assert_eq!(&fired_at, &deadlines);
        prop_assert_eq!(wakes, deadlines.len());
    }
}
