//! Loom models of `Task::abort`: the abort flag in the task's header against the task's polls.
//!
//! An abort from another thread may land before the task's first poll (it is queued), during a
//! poll on a worker, while the task is idle, or while another thread wakes it. Whatever the
//! order, the spawned future must be dropped exactly once, soon (the abort wakes the task, and
//! the poll that follows reads the flag), and never polled again after the poll in flight.
//! A lost abort leaves the future alive with every thread asleep: loom reports a deadlock.
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

/// Counts its drop and tells the waiting main thread.
struct Dropped {
    drops: Arc<AtomicUsize>,
    done: Arc<Notify>,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        // Release: the main thread's Acquire load sees the drop and everything before it.
        self.drops.fetch_add(1, Ordering::Release);
        self.done.notify();
    }
}

/// Waits until the task's future has been dropped.
fn wait_for_drop(drops: &AtomicUsize, done: &Notify) {
    while drops.load(Ordering::Acquire) == 0 {
        done.wait();
    }
}

/// A task that never completes on its own, aborted from the main thread while the worker may
/// not have polled it yet, may be polling it, or may have left it idle.
fn abort_against_poll() {
    model(|| {
        let executor = executor(1);
        let (drops, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let polls_after_abort = Arc::new(AtomicUsize::new(0));
        let aborted = Arc::new(AtomicUsize::new(0));
        let task = executor.spawn({
            let guard = Dropped { drops: drops.clone(), done: done.clone() };
            let (aborted, polls_after_abort) = (aborted.clone(), polls_after_abort.clone());
            std::future::poll_fn(move |_| {
                let _keep = &guard;
                // Acquire: pairs with the Release below. One poll may see the flag: the poll that
                // was already running when `abort` was called; any later one is a poll after the
                // abort.
                if aborted.load(Ordering::Acquire) == 1 {
                    polls_after_abort.fetch_add(1, Ordering::Relaxed);
                }
                std::task::Poll::<()>::Pending
            })
        });
        task.abort();
        aborted.store(1, Ordering::Release);
        wait_for_drop(&drops, &done);
        assert_eq!(drops.load(Ordering::Acquire), 1);
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        drop(executor);
        assert!(polls_after_abort.load(Ordering::Relaxed) <= 1, "the task was polled after its abort");
    });
}

#[test]
fn an_abort_racing_with_the_tasks_poll_drops_its_future_once() {
    abort_against_poll();
}

#[test]
fn negative_control_an_abort_that_wakes_before_setting_its_flag_is_caught() {
    assert_loom_catches("seeded_abort_waking_before_its_flag", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_abort_waking_before_its_flag() {
    seeded_bug::with(Bug::AbortWakesBeforeFlag, abort_against_poll);
}

/// A task waiting on a gate that another thread opens (waking it) while a third aborts it: the
/// wake and the abort's own wake-up may coincide, and the task may be running when either lands.
#[test]
fn an_abort_racing_with_a_wake_from_a_third_thread_drops_the_future_once() {
    model(|| {
        let executor = executor(1);
        let (drops, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let gate = Gate::default();
        let task = executor.spawn({
            let guard = Dropped { drops: drops.clone(), done: done.clone() };
            let gate = gate.clone();
            async move {
                let _guard = guard;
                gate.await;
                std::future::pending::<()>().await;
            }
        });
        let handle = task.abort_handle();
        let aborter = thread::spawn(move || handle.abort());
        gate.open();
        wait_for_drop(&drops, &done);
        aborter.join().unwrap();
        assert_eq!(drops.load(Ordering::Acquire), 1);
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        drop(executor);
    });
}

/// A `TaskSet` awaited on the `block_on` thread while its task, already waiting on a gate, is
/// woken by another thread and completes on the worker: that completion's wake and `join_next`
/// finding nothing ready are ordered by the set's lock, so `join_next` is woken.
fn task_set_join_next_against_completion() {
    model(|| {
        let executor = executor(1);
        let gate = Gate::default();
        let polled = Arc::new(Notify::new());
        let mut set = reactor::TaskSet::new();
        set.spawn_on(
            {
                let (gate, polled) = (gate.clone(), polled.clone());
                async move {
                    polled.notify();
                    gate.await;
                    7
                }
            },
            &executor.handle(),
        );
        polled.wait();
        let opener = thread::spawn(move || gate.open());
        let output = executor.block_on(async {
            let output = set.join_next().await.map(Result::unwrap);
            assert!(set.join_next().await.is_none());
            output
        });
        assert_eq!(output, Some(7));
        opener.join().unwrap();
        drop(executor);
    });
}

#[test]
fn a_task_set_task_completing_on_a_worker_wakes_join_next() {
    task_set_join_next_against_completion();
}

#[test]
fn negative_control_a_join_next_registering_after_its_check_is_caught() {
    assert_loom_catches("seeded_join_next_registering_after_its_check", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_join_next_registering_after_its_check() {
    seeded_bug::with(Bug::TaskSetRegistersAfterCheck, task_set_join_next_against_completion);
}
