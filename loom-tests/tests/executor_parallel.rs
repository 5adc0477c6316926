//! Loom model of the executor's promise that queued work never waits for a busy thread while
//! another sleeps: two tasks spawned into an idle pool of two workers run *at the same time*.
//!
//! The first task blocks its worker until the second has run, as a task does that waits on a
//! lock, a barrier or a long computation of another. With one wake-up in flight, the thread
//! picked for the first task is also the one a producer leaves the second task to when it skips
//! its own wake-up (see the executor's sleep protocol); if that thread runs its task without
//! handing the second on, the second waits for the first to finish while the other worker sleeps,
//! and here the first never finishes: every loom thread blocks, which loom reports as a
//! deadlock. An outside test (`builder_names_threads_and_runs_hooks`, two tasks meeting at a
//! barrier on two workers) hung about once in 200 runs this way.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Notify};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::Parking;
use reactor::Builder;
use reactor_loom::{assert_loom_catches, model};

/// A plain thread spawns two tasks into an idle pool of two; the first blocks its worker until
/// the second has run.
fn two_tasks_that_meet() {
    model(|| {
        let executor = Builder::new().worker_threads(2).build(Parking::new()).unwrap();
        let second_ran = Arc::new(AtomicBool::new(false));
        // loom's `Notify` holds one permit: one for the first task, one for this thread.
        let (met, done) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (ran, wake) = (second_ran.clone(), met.clone());
        executor
            .spawn(async move {
                // Blocks the worker thread, not just the task, until the second task has run.
                while !ran.load(Ordering::Acquire) {
                    wake.wait();
                }
            })
            .detach();
        let (ran, wake, signal) = (second_ran.clone(), met, done.clone());
        executor
            .spawn(async move {
                ran.store(true, Ordering::Release);
                wake.notify();
                signal.notify();
            })
            .detach();
        while !second_ran.load(Ordering::Acquire) {
            done.wait();
        }
    });
}

#[test]
fn two_tasks_spawned_into_an_idle_pool_of_two_run_at_the_same_time() {
    two_tasks_that_meet();
}

#[test]
fn negative_control_a_picked_thread_that_keeps_the_work_to_itself_is_caught() {
    assert_loom_catches("seeded_picked_thread_keeps_the_work", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_picked_thread_keeps_the_work() {
    seeded_bug::with(Bug::PickedThreadKeepsTheWork, two_tasks_that_meet);
}
