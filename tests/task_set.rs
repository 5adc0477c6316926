//! `TaskSet`, checked against what tokio documents for `JoinSet`: results in completion order,
//! `None` once empty, abort on drop, `shutdown` waiting until every task is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reactor::source::Parking;
use reactor::{Builder, Executor, TaskSet};

mod common;
use common::{within_watchdog, DropCounter, Gate};

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

#[test]
fn join_next_gives_tasks_in_the_order_they_complete_not_the_order_they_were_spawned() {
    within_watchdog("completion order", || {
        let executor = executor(2);
        let gates: Vec<Gate> = (0..5).map(|_| Gate::default()).collect();
        executor.block_on(async {
            let mut set = TaskSet::new();
            for (i, gate) in gates.iter().enumerate() {
                let wait = gate.wait();
                set.spawn(async move {
                    wait.await;
                    i
                })
                .unwrap();
            }
            assert_eq!(set.len(), 5);
            for i in (0..5).rev() {
                gates[i].open();
                assert_eq!(set.join_next().await.unwrap().unwrap(), i);
            }
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    });
}

#[test]
fn join_next_on_an_empty_set_is_none() {
    within_watchdog("empty set", || {
        let executor = executor(0);
        assert!(executor.block_on(TaskSet::<()>::new().join_next()).is_none());
    });
}

#[test]
fn dropping_a_set_aborts_every_task() {
    within_watchdog("drop aborts", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let mut set = TaskSet::new();
        for _ in 0..10 {
            let counter = DropCounter(drops.clone());
            set.spawn_on(
                async move {
                    let _counter = counter;
                    std::future::pending::<()>().await;
                },
                &executor.handle(),
            );
        }
        drop(set);
        // The futures are dropped on the worker as the aborted tasks run: bounded by the watchdog.
        while drops.load(Ordering::SeqCst) < 10 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(drops.load(Ordering::SeqCst), 10);
    });
}

#[test]
fn shutdown_returns_once_every_task_future_is_dropped() {
    within_watchdog("shutdown", || {
        let executor = executor(2);
        let drops = Arc::new(AtomicUsize::new(0));
        executor.block_on(async {
            let mut set = TaskSet::new();
            for _ in 0..10 {
                let counter = DropCounter(drops.clone());
                set.spawn(async move {
                    let _counter = counter;
                    std::future::pending::<()>().await;
                })
                .unwrap();
            }
            reactor::yield_now().await;
            set.shutdown().await;
            assert!(set.is_empty());
            assert_eq!(drops.load(Ordering::SeqCst), 10);
        });
    });
}

#[test]
fn abort_all_makes_join_next_report_each_cancellation_and_keeps_finished_outputs() {
    within_watchdog("abort_all", || {
        let executor = executor(1);
        executor.block_on(async {
            let mut set = TaskSet::new();
            set.spawn(async { Some(1) }).unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), Some(1));
            let done = set.spawn(async { Some(2) }).unwrap();
            while !done.is_finished() {
                reactor::yield_now().await;
            }
            let pending = set.spawn(std::future::pending()).unwrap();
            set.abort_all();
            let first = set.join_next().await.unwrap();
            assert_eq!(first.unwrap(), Some(2));
            let second = set.join_next().await.unwrap().unwrap_err();
            assert!(second.is_cancelled());
            assert_eq!(second.id(), pending.id());
            assert!(set.join_next().await.is_none());
        });
    });
}

#[test]
fn detached_tasks_run_to_completion_outside_the_set() {
    within_watchdog("detach_all", || {
        let executor = executor(1);
        let done = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let mut set = TaskSet::new();
        for _ in 0..3 {
            let (done, wait) = (done.clone(), gate.wait());
            set.spawn_on(
                async move {
                    wait.await;
                    done.fetch_add(1, Ordering::SeqCst);
                },
                &executor.handle(),
            );
        }
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        gate.open();
        while done.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
fn spawning_into_a_set_outside_an_executor_hands_the_future_back() {
    let mut set = TaskSet::new();
    let error = set.spawn(async { 7 }).unwrap_err();
    assert_eq!(error.to_string(), "TaskSet::spawn must be called on a thread running an executor");
    let executor = executor(0);
    assert_eq!(executor.block_on(error.into_inner()), 7);
}
