//! Loom models of how the executor's threads sleep and are woken, one per defect that outside
//! tests found in the earlier design (three sleep mechanisms: a shared listener event, the poll
//! token, and a private signal per `block_on` thread). Each model reproduces its defect's shape
//! with public API only:
//!
//! - a waker of executor B run by executor A's poller, inside A's dispatch, while B's `block_on`
//!   thread blocks in B's source: B must be woken (a "this thread is dispatching" shortcut that
//!   does not check *which* source it dispatches skipped the notify);
//! - `worker_threads(0)` with two `block_on` threads: a pool task spawned while one of them
//!   sleeps and the other has left must still run (the sleeper was not counted);
//! - a `block_on` that returns after holding the poll token beside a worker that went to sleep
//!   because the token was taken: somebody must go on waiting in the source;
//! - a `spawn_local` task woken from another thread while its `block_on` is exiting: its future
//!   is dropped before `block_on` returns;
//! - `worker_threads(0)`, the single-threaded flavour: the first `block_on` thread runs pool
//!   tasks from a plain queue no other thread can take from; when it returns with tasks queued
//!   there, or while a task of its is woken from another `block_on` thread, those tasks still
//!   run on the other thread.
//!
//! A lost wake-up leaves every loom thread blocked, which loom reports as a deadlock; each model
//! has a negative control that seeds the defect back and checks that loom reports it.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::{Parking, PingSource};
use reactor::{Builder, Executor};
use reactor_loom::{assert_loom_catches, model, spawn_unjoined, Gate};

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

/// Executor A (one worker, over a ping source) runs, inside its source's dispatch, the waker of
/// executor B's `block_on` (no workers), whose thread blocks in B's own source.
fn wake_across_executors() {
    model(|| {
        let pings = PingSource::new();
        let a = Builder::new().worker_threads(1).build(pings.clone()).unwrap();
        let b = executor(0);
        let gate = Gate::default();
        let (ping, registration) = pings.register({
            let gate = gate.clone();
            move || gate.open()
        });
        let pinger = thread::spawn(move || ping.ping());
        b.block_on(gate);
        pinger.join().unwrap();
        drop(registration);
        drop(a);
    });
}

#[test]
fn a_waker_run_by_another_executors_poller_wakes_its_own_executor() {
    wake_across_executors();
}

#[test]
fn negative_control_a_wake_skipped_for_any_dispatching_thread_is_caught() {
    assert_loom_catches("seeded_wake_skipped_for_any_dispatching_thread", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_wake_skipped_for_any_dispatching_thread() {
    seeded_bug::with(Bug::UnparkTrustsAnyDispatcher, wake_across_executors);
}

/// No workers: a second `block_on` thread may hold the poll token while the main thread's
/// `block_on` sleeps; a third thread spawns a pool task that the main thread awaits, then wakes
/// the second thread's future, so the second thread may return without running the task. Only
/// the main thread is left to run it.
fn pool_task_with_two_block_on_threads() {
    model(|| {
        let executor = Arc::new(executor(0));
        let (passing, awaited) = (Gate::default(), Gate::default());
        let passer = {
            let (executor, passing) = (executor.clone(), passing.clone());
            thread::spawn(move || executor.block_on(passing))
        };
        let spawner = {
            let executor = executor.clone();
            let opened_by_task = awaited.clone();
            thread::spawn(move || {
                executor.spawn(async move { opened_by_task.open() }).detach();
                passing.open();
            })
        };
        executor.block_on(awaited);
        passer.join().unwrap();
        spawner.join().unwrap();
    });
}

#[test]
fn with_no_workers_a_pool_task_runs_on_the_block_on_thread_left() {
    pool_task_with_two_block_on_threads();
}

#[test]
fn negative_control_an_uncounted_block_on_sleeper_is_caught() {
    assert_loom_catches("seeded_uncounted_block_on_sleeper", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_uncounted_block_on_sleeper() {
    seeded_bug::with(Bug::BlockOnSleepsUnlisted, pool_task_with_two_block_on_threads);
}

/// No workers, so the first `block_on` thread (the main thread) runs pool tasks from a plain
/// queue of its own. It spawns a second `block_on` thread, waiting for a gate that a pool task
/// opens, and spawns that task into its own queue, then returns before running it: the task must
/// reach the injector and the second thread (asleep, or about to be, or not yet in `block_on`)
/// must run it.
fn owner_leaving_with_a_queued_task() {
    model(|| {
        let executor = Arc::new(executor(0));
        let gate = Gate::default();
        let waiter = executor.block_on(async {
            let waiter = {
                let (executor, gate) = (executor.clone(), gate.clone());
                thread::spawn(move || executor.block_on(gate))
            };
            let opened_by_task = gate.clone();
            executor.spawn(async move { opened_by_task.open() }).detach();
            waiter
        });
        waiter.join().unwrap();
    });
}

#[test]
fn with_no_workers_a_task_left_in_a_returning_block_ons_queue_runs_on_the_other() {
    owner_leaving_with_a_queued_task();
}

#[test]
fn negative_control_a_plain_queue_kept_with_its_tasks_is_caught() {
    assert_loom_catches("seeded_plain_queue_kept_with_its_tasks", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_plain_queue_kept_with_its_tasks() {
    seeded_bug::with(Bug::PlainQueueKeptAtExit, owner_leaving_with_a_queued_task);
}

/// No workers. A pool task that ran once on the main thread (the owner of the plain queue) waits
/// on a gate that a second `block_on` thread opens while the main thread's `block_on` returns:
/// that foreign wake goes through the injector, and the task still runs (the second thread
/// waits for it).
fn foreign_wake_while_the_owner_leaves() {
    model(|| {
        let executor = Arc::new(executor(0));
        let (woken, done) = (Gate::default(), Gate::default());
        let other = executor.block_on(async {
            let (waited, finished) = (woken.clone(), done.clone());
            executor
                .spawn(async move {
                    waited.await;
                    finished.open();
                })
                .detach();
            // Let the task run once and wait on its gate.
            reactor::yield_now().await;
            let (executor, woken, done) = (executor.clone(), woken.clone(), done.clone());
            thread::spawn(move || {
                executor.block_on(async move {
                    woken.open();
                    done.await;
                })
            })
        });
        other.join().unwrap();
    });
}

#[test]
fn with_no_workers_a_task_woken_by_another_block_on_while_the_owner_leaves_runs() {
    foreign_wake_while_the_owner_leaves();
}

/// One worker. The main thread's `block_on` waits for a gate, possibly as the poller, so the
/// worker may go to sleep without the token; then `block_on` returns. A ping queued afterwards
/// needs somebody in the source to run its callback.
fn block_on_leaving_the_poll_role() {
    model(|| {
        let pings = PingSource::new();
        let executor = Builder::new().worker_threads(1).build(pings.clone()).unwrap();
        let pinged = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Notify::new());
        let (ping, registration) = pings.register({
            let (pinged, done) = (pinged.clone(), done.clone());
            move || {
                pinged.store(true, Ordering::Release);
                done.notify();
            }
        });
        let gate = Gate::default();
        let helper = {
            let gate = gate.clone();
            spawn_unjoined(move || {
                gate.open();
                ping.ping();
            })
        };
        executor.block_on(gate);
        while !pinged.load(Ordering::Acquire) {
            done.wait();
        }
        helper();
        drop(registration);
    });
}

#[test]
fn a_block_on_that_leaves_hands_the_source_to_a_sleeping_worker() {
    block_on_leaving_the_poll_role();
}

#[test]
fn negative_control_a_poll_role_abandoned_by_block_on_is_caught() {
    assert_loom_catches("seeded_poll_role_abandoned_by_block_on", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_poll_role_abandoned_by_block_on() {
    seeded_bug::with(Bug::BlockOnExitSkipsHandOff, block_on_leaving_the_poll_role);
}

/// Sets its flag when dropped: proves that a future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A `spawn_local` task waits on a gate that another thread opens while the `block_on` that owns
/// the task returns: the task's future must be dropped by the time `block_on` returns.
fn local_task_woken_while_block_on_exits() {
    model(|| {
        let executor = executor(0);
        let gate = Gate::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let opener = executor.block_on(async {
            let guard = DropFlag(dropped.clone());
            let waited = gate.clone();
            executor
                .spawn_local(async move {
                    let _guard = guard;
                    waited.await;
                })
                .unwrap()
                .detach();
            // Let the local task run once and wait on the gate.
            reactor::yield_now().await;
            let gate = gate.clone();
            spawn_unjoined(move || gate.open())
        });
        assert!(dropped.load(Ordering::Acquire), "the local task's future outlived its block_on");
        opener();
    });
}

#[test]
fn a_local_task_woken_during_block_on_exit_is_dropped_before_it_returns() {
    local_task_woken_while_block_on_exits();
}

#[test]
fn negative_control_a_local_task_leaked_at_exit_is_caught() {
    assert_loom_catches("seeded_local_task_leaked_at_exit", "outlived its block_on");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_local_task_leaked_at_exit() {
    seeded_bug::with(Bug::LocalExitSkipsInFlightWakes, local_task_woken_while_block_on_exits);
}
