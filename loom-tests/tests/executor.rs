//! Loom models of the executor's protocols, run on the real executor over `Parking`:
//!
//! - task wake vs run: a task woken from another thread while it runs, or while idle, runs
//!   again and completes exactly once (async-task's own state machine is not loom-aware; what is
//!   checked is the executor's scheduling around it);
//! - sleeper notification: work arriving for an idle pool wakes a sleeping worker (listener or
//!   poller), never zero; with one wake-up in flight at a time, the woken worker takes the
//!   tasks whose wake-up was skipped, and releases the flag so the next task wakes it again;
//! - `block_on` wake-up: the main future woken from another thread while the `block_on` thread
//!   is blocked in the source as the poller.
//!
//! A lost wake-up shows as every loom thread blocked, which loom reports as a deadlock; each
//! negative control seeds such a bug and checks that loom reports it.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::Parking;
use reactor::{Builder, Executor};
use reactor_loom::{assert_loom_catches, model, Gate};

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

/// The `block_on` thread, alone (no workers), is the poller blocked in `Parking` when another
/// thread wakes its main future.
fn block_on_woken_from_another_thread() {
    model(|| {
        let executor = executor(0);
        let gate = Gate::default();
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || gate.open())
        };
        executor.block_on(gate);
        opener.join().unwrap();
    });
}

/// With one worker the `block_on` thread may sleep either as the poller or, when the worker holds
/// the poll token, on its private event: a wake from another thread must reach it both ways.
fn block_on_beside_a_worker_woken_from_another_thread() {
    model(|| {
        let executor = executor(1);
        let gate = Gate::default();
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || gate.open())
        };
        executor.block_on(gate);
        opener.join().unwrap();
    });
}

#[test]
fn block_on_beside_a_worker_is_woken_however_it_sleeps() {
    block_on_beside_a_worker_woken_from_another_thread();
}

#[test]
fn negative_control_block_on_wake_skipping_the_event_is_caught() {
    assert_loom_catches("seeded_block_on_wake_skipping_the_event", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_block_on_wake_skipping_the_event() {
    seeded_bug::with(Bug::UnparkSkipsThreadUnpark, block_on_beside_a_worker_woken_from_another_thread);
}

#[test]
fn block_on_wake_from_another_thread_is_never_lost() {
    block_on_woken_from_another_thread();
}

#[test]
fn negative_control_block_on_wake_skipping_the_source_is_caught() {
    assert_loom_catches("seeded_block_on_wake_skipping_the_source", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_block_on_wake_skipping_the_source() {
    seeded_bug::with(Bug::UnparkSkipsSourceNotify, block_on_woken_from_another_thread);
}

/// A task woken from another thread, while it runs or while it is idle, runs again and completes
/// exactly once.
///
/// Completion is reported through loom's `Notify`, not by awaiting the task's handle: the handle's
/// waker travels through async-task's own atomics, which loom cannot see (async-task has no loom
/// support), so loom would flag the hand-off as unsynchronised.
#[test]
fn task_woken_from_another_thread_runs_and_completes_once() {
    model(|| {
        let executor = executor(1);
        let gate = Gate::default();
        let completions = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(Notify::new());
        executor
            .spawn({
                let (gate, completions, done) = (gate.clone(), completions.clone(), done.clone());
                async move {
                    gate.await;
                    completions.fetch_add(1, Ordering::Release);
                    done.notify();
                }
            })
            .detach();
        let opener = thread::spawn(move || gate.open());
        while completions.load(Ordering::Acquire) == 0 {
            done.wait();
        }
        opener.join().unwrap();
        drop(executor);
        assert_eq!(completions.load(Ordering::Acquire), 1);
    });
}

/// A task spawned from a plain thread into a pool whose only worker may already sleep (as the
/// poller, blocked in the source). The spawning thread does not help: only the worker can run it.
fn spawn_into_idle_pool() {
    model(|| {
        let executor = executor(1);
        let done = Arc::new(Notify::new());
        let signal = done.clone();
        executor.spawn(async move { signal.notify() }).detach();
        done.wait();
    });
}

#[test]
fn work_arriving_for_an_idle_pool_wakes_a_sleeper() {
    spawn_into_idle_pool();
}

#[test]
fn negative_control_forgetting_the_poller_is_caught() {
    assert_loom_catches("seeded_forgetting_the_poller", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_forgetting_the_poller() {
    seeded_bug::with(Bug::NotifyIdleForgetsPoller, spawn_into_idle_pool);
}

#[test]
fn two_spawns_into_an_idle_pool_of_two_both_run() {
    model(|| {
        let executor = executor(2);
        let finished = Arc::new(AtomicUsize::new(0));
        // loom's `Notify` holds one permit, not a count: wait until the counter says both ran.
        let done = Arc::new(Notify::new());
        for _ in 0..2 {
            let (finished, done) = (finished.clone(), done.clone());
            executor
                .spawn(async move {
                    finished.fetch_add(1, Ordering::Release);
                    done.notify();
                })
                .detach();
        }
        while finished.load(Ordering::Acquire) < 2 {
            done.wait();
        }
    });
}

/// Two tasks spawned one after the other from a plain thread into a pool of `workers`: the
/// first wake-up must be released once the thread picked for it is up, or the second task's is
/// skipped. With two workers, a worker may be picked while it cancels its own sleep because it
/// found the task itself; it must release the flag all the same.
fn spawns_one_after_the_other(workers: usize) {
    model(move || {
        let executor = executor(workers);
        let finished = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(Notify::new());
        for expected in 1..=2 {
            let (finished_by_task, signal) = (finished.clone(), done.clone());
            executor
                .spawn(async move {
                    finished_by_task.fetch_add(1, Ordering::Release);
                    signal.notify();
                })
                .detach();
            while finished.load(Ordering::Acquire) < expected {
                done.wait();
            }
        }
    });
}

#[test]
fn a_pool_woken_once_is_woken_again() {
    spawns_one_after_the_other(1);
}

#[test]
fn negative_control_keeping_the_wake_flag_is_caught() {
    assert_loom_catches("seeded_keeping_the_wake_flag", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_keeping_the_wake_flag() {
    seeded_bug::with(Bug::WokenThreadKeepsWakeFlag, || spawns_one_after_the_other(1));
}

#[test]
fn the_wake_in_flight_flag_is_released_with_two_workers() {
    spawns_one_after_the_other(2);
}

#[test]
fn negative_control_a_wake_flag_kept_by_a_thread_that_found_work_is_caught() {
    assert_loom_catches("seeded_wake_flag_kept_by_a_thread_that_found_work", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_wake_flag_kept_by_a_thread_that_found_work() {
    seeded_bug::with(Bug::CancelledParkKeepsWakeFlag, || spawns_one_after_the_other(2));
}

/// Counts the drops of the future that owns it.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// One worker runs two tasks until each waits on a gate. One gate is opened by another thread
/// while the executor is dropped, the other never. Whatever the order, both futures are dropped
/// exactly once by the time the drop returns: run to completion, or cancelled (idle, or woken
/// too late to run, the drop waiting for that wake to hand the task over).
fn shutdown_with_idle_tasks() {
    model(|| {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let waiting = Arc::new(AtomicUsize::new(0));
        let parked = Arc::new(Notify::new());
        let (opened, never) = (Gate::default(), Gate::default());
        for gate in [opened.clone(), never] {
            let (counter, waiting, parked) = (DropCount(drops.clone()), waiting.clone(), parked.clone());
            executor
                .spawn(async move {
                    let _counter = counter;
                    waiting.fetch_add(1, Ordering::Release);
                    parked.notify();
                    gate.await;
                })
                .detach();
        }
        while waiting.load(Ordering::Acquire) < 2 {
            parked.wait();
        }
        let opener = thread::spawn(move || opened.open());
        drop(executor);
        assert_eq!(drops.load(Ordering::Acquire), 2, "a task's future outlived its executor");
        opener.join().unwrap();
        assert_eq!(drops.load(Ordering::Acquire), 2, "a task's future was dropped twice");
    });
}

#[test]
fn shutdown_drops_every_idle_task_even_one_woken_meanwhile() {
    shutdown_with_idle_tasks();
}

#[test]
fn negative_control_shutdown_forgetting_idle_tasks_is_caught() {
    assert_loom_catches("seeded_shutdown_forgetting_idle_tasks", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_shutdown_forgetting_idle_tasks() {
    seeded_bug::with(Bug::ShutdownSkipsIdleTasks, shutdown_with_idle_tasks);
}
