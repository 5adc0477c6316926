//! Loom models of the event bus, run by the real `reactor::Executor` (`cargo loom-check`; empty
//! in an ordinary build).
//!
//! - Two publishers on their own threads, each publishing one event, while the executor's
//!   `block_on` thread (and, in the second model, a worker) drives the bus: both events reach
//!   the handler. The negative control
//!   seeds `Bug::ClearAfterDrain` (the flag cleared after the queue is drained): the second
//!   publisher's event is stranded, nobody is left to wake the executor, and loom reports the
//!   deadlock.
//! - An event published before the executor exists is dispatched by its first wait. The
//!   negative control seeds `Bug::NoDeadlineWhilePending`: the first wait blocks for a notify
//!   that was sent before anybody could receive it, and loom reports the deadlock.
//! - The conformance suite's loom races on the bus (`reactor_conformance::loom`): a notify, and
//!   an event published from another thread, each racing with the start of a composite's wait.
#![cfg(reactor_loom)]

mod common;

use loom_user::{bus, Bug, EventBus, Publisher};
use reactor::sync::{seeded_bug, thread};
use reactor::{Builder, Executor};
use reactor_loom::{assert_loom_catches, model, Gate};

/// A bus whose handler opens the returned gate once it has run `events` times, driven by an
/// executor with `workers` worker threads besides the one that will call `block_on`.
fn executor_over_a_bus(workers: usize, events: usize) -> (Executor<EventBus<usize>>, Publisher<usize>, Gate) {
    let gate = Gate::default();
    let opener = gate.clone();
    let mut seen = 0;
    let (bus, publisher) = bus(move |_event: usize| {
        seen += 1;
        if seen == events {
            opener.open();
        }
    });
    let executor = Builder::new().worker_threads(workers).build(bus).unwrap();
    (executor, publisher, gate)
}

/// Two publishers on their own threads publish one event each; `block_on` waits until the
/// handler has run for both.
fn two_publishers(workers: usize) {
    model(move || {
        let (executor, publisher, gate) = executor_over_a_bus(workers, 2);
        let publishers: Vec<_> = (0..2)
            .map(|event| {
                let publisher = publisher.clone();
                thread::spawn(move || publisher.publish(event).unwrap())
            })
            .collect();
        executor.block_on(gate);
        for publisher in publishers {
            publisher.join().unwrap();
        }
    });
}

#[test]
fn two_publishers_on_their_own_threads_never_lose_an_event() {
    // No workers: the `block_on` thread drives the bus, blocking in the executor's `Parking`.
    two_publishers(0);
}

#[test]
fn two_publishers_never_lose_an_event_with_a_worker_driving_the_bus() {
    // One worker: either thread may be the one blocked in the source, or both parked; the
    // handler may run on the worker while the `block_on` thread sleeps.
    two_publishers(1);
}

#[test]
fn negative_control_clearing_the_flag_after_draining_is_caught() {
    assert_loom_catches("seeded_clear_after_drain", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_clear_after_drain() {
    seeded_bug::with(Bug::ClearAfterDrain, || two_publishers(0));
}

fn published_before_the_executor() {
    model(|| {
        let gate = Gate::default();
        let opener = gate.clone();
        let (bus, publisher) = bus(move |_event: usize| opener.open());
        publisher.publish(0).unwrap();
        let executor = Builder::new().worker_threads(0).build(bus).unwrap();
        executor.block_on(gate);
    });
}

#[test]
fn an_event_published_before_the_executor_exists_is_dispatched() {
    published_before_the_executor();
}

#[test]
fn negative_control_ignoring_pending_events_before_attach_is_caught() {
    assert_loom_catches("seeded_no_deadline_while_pending", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_no_deadline_while_pending() {
    seeded_bug::with(Bug::NoDeadlineWhilePending, published_before_the_executor);
}

#[test]
fn conformance_a_notify_racing_with_a_wait_on_the_bus_ends_it() {
    reactor_conformance::loom::notify_vs_wait(common::Buses);
}

#[test]
fn conformance_an_event_racing_with_a_wait_on_the_bus_ends_it() {
    reactor_conformance::loom::event_vs_wait(common::Buses);
}
