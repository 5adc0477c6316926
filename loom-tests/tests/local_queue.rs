//! Loom models of the executor's per-worker local queue: one owner pushing and popping, stealers
//! taking half, a full queue overflowing into the injector.
//!
//! Every model checks that each task is delivered exactly once (popped, stolen or overflowed) and
//! dropped exactly once, and the negative controls check that loom catches a stealer that reads
//! a task before its write is visible and one that takes tasks without reserving them.
#![cfg(reactor_loom)]

use std::cell::{Cell, RefCell};
use std::iter;
use std::ops::Range;

use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::loom_internals::{local_queue, LocalQueue, Overflow, Stealer, CAPACITY};
use reactor_loom::{assert_loom_catches, model};

std::thread_local! {
    /// Tasks dropped in the current execution. Loom runs every thread of a model on the OS thread
    /// that called `loom::model`, so a std thread-local is one counter per model.
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

/// A task that counts its drops.
#[derive(Debug)]
struct Task(usize);

impl Task {
    /// The task's id; the task itself is dropped.
    fn into_id(self) -> usize {
        self.0
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        DROPS.with(|drops| drops.set(drops.get() + 1));
    }
}

/// The executor's injector, reduced to recording what overflows.
#[derive(Default)]
struct Injector(RefCell<Vec<Task>>);

impl Overflow<Task> for Injector {
    fn push_batch(&self, tasks: impl Iterator<Item = Task>) {
        self.0.borrow_mut().extend(tasks);
    }
}

impl Injector {
    fn into_ids(self) -> Vec<usize> {
        self.0.into_inner().into_iter().map(Task::into_id).collect()
    }
}

/// A queue holding the tasks `ids`, its positions first advanced to `CAPACITY - 1` so that the
/// models cross the end of the ring. The tasks used to advance it are dropped: call
/// [`start_counting_drops`] once the model's queues are built.
fn queue_with(ids: Range<usize>) -> (LocalQueue<Task>, Stealer<Task>) {
    let (mut queue, stealer) = local_queue();
    let injector = Injector::default();
    for _ in 0..CAPACITY - 1 {
        queue.push_back(Task(usize::MAX), &injector);
        drop(queue.pop());
    }
    for id in ids {
        queue.push_back(Task(id), &injector);
    }
    assert!(injector.0.borrow().is_empty());
    (queue, stealer)
}

/// Forgets the drops so far (the tasks that advanced the queues), so the model counts its own.
fn start_counting_drops() {
    DROPS.with(|drops| drops.set(0));
}

/// Everything the owner can still pop.
fn drain(queue: &mut LocalQueue<Task>) -> Vec<usize> {
    iter::from_fn(|| queue.pop()).map(Task::into_id).collect()
}

/// Steals once from `victim` into a fresh queue and returns every task that brought.
fn steal_once(victim: &Stealer<Task>) -> Vec<usize> {
    let (mut mine, _) = local_queue();
    let oldest = victim.steal_into(&mut mine);
    oldest.into_iter().map(Task::into_id).chain(drain(&mut mine)).collect()
}

/// Asserts that `delivered` holds each of `0..count` exactly once and that `count` tasks were
/// dropped since [`start_counting_drops`]: none lost, none duplicated, none leaked.
fn assert_exactly_once(mut delivered: Vec<usize>, count: usize) {
    delivered.sort_unstable();
    assert_eq!(delivered, (0..count).collect::<Vec<_>>());
    assert_eq!(DROPS.with(Cell::get), count, "every task is dropped exactly once");
}

/// Runs `owner` on a queue holding tasks `0..held` while `thieves` threads each steal once, then
/// drains the queue and checks that the `total` tasks were each delivered and dropped exactly
/// once. `owner` returns the ids of the tasks it popped.
fn owner_vs_thieves(
    held: usize,
    thieves: usize,
    total: usize,
    owner: impl FnOnce(&mut LocalQueue<Task>, &Injector) -> Vec<usize>,
) {
    let (mut queue, stealer) = queue_with(0..held);
    start_counting_drops();
    let thieves: Vec<_> = iter::repeat(stealer)
        .take(thieves)
        .map(|stealer| thread::spawn(move || steal_once(&stealer)))
        .collect();
    let injector = Injector::default();
    let mut delivered = owner(&mut queue, &injector);
    delivered.extend(drain(&mut queue));
    drop(queue);
    for thief in thieves {
        delivered.extend(thief.join().unwrap());
    }
    delivered.extend(injector.into_ids());
    assert_exactly_once(delivered, total);
}

/// Pops one task, if any.
fn pop_one(queue: &mut LocalQueue<Task>) -> Vec<usize> {
    queue.pop().into_iter().map(Task::into_id).collect()
}

/// The owner pushes until the queue is full while a stealer steals: the stealer reads a task only
/// once its write is visible, the owner reuses a slot only once the stealer has read it, and
/// every task is delivered once.
fn owner_push_races_steal() {
    owner_vs_thieves(1, 1, CAPACITY + 1, |queue, injector| {
        for id in 1..=CAPACITY {
            queue.push_back(Task(id), injector);
        }
        Vec::new()
    });
}

#[test]
fn push_vs_steal() {
    model(owner_push_races_steal);
}

#[test]
fn negative_control_push_vs_steal_catches_relaxed_tail() {
    assert_loom_catches("seeded_relaxed_tail", "Causality violation");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_relaxed_tail() {
    seeded_bug::with(Bug::LocalQueueRelaxedTail, || model(owner_push_races_steal));
}

/// The owner pops the last two tasks while a stealer tries to take them.
fn owner_pop_races_steal() {
    owner_vs_thieves(2, 1, 2, |queue, _| pop_one(queue));
}

#[test]
fn pop_vs_steal() {
    model(owner_pop_races_steal);
}

#[test]
fn negative_control_pop_vs_steal_catches_unreserved_steal() {
    assert_loom_catches("seeded_unreserved_steal", "Causality violation");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_unreserved_steal() {
    seeded_bug::with(Bug::LocalQueueUnreservedSteal, || model(owner_pop_races_steal));
}

/// While a stealer steals from a full queue, the owner pops one task and pushes two: the pop
/// keeps the stealer's batch marked, and a push that finds the queue full overflows (only the new
/// task while the batch is still being read) rather than writing into the batch's slots.
#[test]
fn overflow_vs_steal() {
    model(|| {
        owner_vs_thieves(CAPACITY, 1, CAPACITY + 2, |queue, injector| {
            let popped = pop_one(queue);
            queue.push_back(Task(CAPACITY), injector);
            queue.push_back(Task(CAPACITY + 1), injector);
            popped
        });
    });
}

/// Two stealers steal while the owner pops and pushes.
#[test]
fn two_stealers_vs_owner() {
    model(|| {
        owner_vs_thieves(3, 2, 4, |queue, injector| {
            let popped = pop_one(queue);
            queue.push_back(Task(3), injector);
            popped
        });
    });
}

/// While the owner pushes two tasks into an empty queue and a thief steals, `len` seen from a
/// third thread never counts more than those two, even when it sees the thief's claim before it
/// sees the pushes.
#[test]
fn len_vs_steal() {
    model(|| {
        let (mut queue, stealer) = queue_with(0..0);
        start_counting_drops();
        let observer = stealer.clone();
        let watcher = thread::spawn(move || observer.len());
        let thief = thread::spawn(move || steal_once(&stealer));
        let injector = Injector::default();
        queue.push_back(Task(0), &injector);
        queue.push_back(Task(1), &injector);
        let mut delivered = drain(&mut queue);
        drop(queue);
        delivered.extend(thief.join().unwrap());
        assert!(watcher.join().unwrap() <= 2, "len counted tasks that never existed");
        assert_exactly_once(delivered, 2);
    });
}

/// A thief steals from the owner into its own queue, which already holds `held` tasks, while a
/// second thief steals from that queue.
fn steal_from_a_thief(held: usize) {
    let (mut queue, stealer) = queue_with(0..CAPACITY);
    let (mut first_queue, first_stealer) = queue_with(CAPACITY..CAPACITY + held);
    start_counting_drops();
    let first = thread::spawn(move || {
        let oldest = stealer.steal_into(&mut first_queue);
        oldest.into_iter().map(Task::into_id).chain(drain(&mut first_queue)).collect::<Vec<_>>()
    });
    let second = thread::spawn(move || steal_once(&first_stealer));
    let mut delivered = drain(&mut queue);
    drop(queue);
    delivered.extend(first.join().unwrap());
    delivered.extend(second.join().unwrap());
    assert_exactly_once(delivered, CAPACITY + held);
}

/// The second thief reads a task that the first moved only once its write is visible.
#[test]
fn steal_from_a_thief_that_stole() {
    model(|| steal_from_a_thief(0));
}

/// The first thief's queue is full: it writes into a slot that the second thief freed only once
/// the second has read it.
#[test]
fn steal_into_a_queue_being_stolen_from() {
    model(|| steal_from_a_thief(CAPACITY));
}

/// The owner drops its queue while a stealer steals: the tasks the stealer did not take are
/// dropped with the queue, each exactly once.
#[test]
fn drop_vs_steal() {
    model(|| {
        let (queue, stealer) = queue_with(0..3);
        start_counting_drops();
        let thief = thread::spawn(move || steal_once(&stealer));
        drop(queue);
        let stolen = thief.join().unwrap();
        assert!(stolen.iter().all(|&id| id < 3));
        assert_eq!(DROPS.with(Cell::get), 3, "stolen or not, every task is dropped exactly once");
    });
}
