//! Runtime metrics: the counters move as a known workload says they must. Never on timing: every
//! number that is published lazily (per-thread counts are published at parks, every few dozen
//! tasks and at exit) is awaited with `eventually`, under the scenario's watchdog.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use reactor::metrics::{MetricsSnapshot, RuntimeMetrics};
use reactor::source::Parking;
use reactor::{Builder, Executor};

mod common;
use common::within_watchdog;

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

/// Waits (bounded by the scenario's watchdog) until `condition` holds.
fn eventually(condition: impl Fn() -> bool) {
    while !condition() {
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn spawned_tasks_are_counted_and_alive_tasks_return_to_zero() {
    within_watchdog("spawn and finish 200 tasks", || {
        const TASKS: u64 = 200;
        let executor = executor(2);
        let metrics = executor.metrics();
        assert_eq!((metrics.spawned_tasks_count(), metrics.num_alive_tasks()), (0, 0));
        let tasks: Vec<_> =
            (0..TASKS).map(|_| executor.spawn(async { reactor::yield_now().await })).collect();
        assert_eq!(metrics.spawned_tasks_count(), TASKS);
        executor.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        eventually(|| metrics.num_alive_tasks() == 0);
        assert_eq!(metrics.spawned_tasks_count(), TASKS, "finishing a task spawns nothing");
    });
}

#[test]
fn every_task_run_is_counted_as_a_poll() {
    within_watchdog("count the polls of 100 tasks", || {
        let executor = executor(2);
        let metrics = executor.metrics();
        let tasks: Vec<_> = (0..100).map(|_| executor.spawn(async { reactor::yield_now().await })).collect();
        executor.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        // Each task is polled twice (it yields once); the workers publish when they park.
        eventually(|| metrics.snapshot().total_polls() >= 200);
    });
}

#[test]
fn tasks_queued_on_a_blocked_worker_are_counted_as_stolen() {
    within_watchdog("steal from a blocked worker", || {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        const TASKS: usize = 100;
        let executor = executor(2);
        let metrics = executor.metrics();
        let ran = Arc::new(AtomicUsize::new(0));
        let spawner = {
            let ran = ran.clone();
            executor.spawn(async move {
                // Spawned from a worker: into that worker's own queue (the last one into its
                // LIFO slot, which nobody else may take).
                for _ in 0..TASKS {
                    let ran = ran.clone();
                    reactor::Handle::current()
                        .unwrap()
                        .spawn(async move {
                            ran.fetch_add(1, Ordering::Relaxed);
                        })
                        .detach();
                }
                // Block this worker: the others can only run those tasks by stealing them.
                while ran.load(Ordering::Relaxed) < TASKS - 1 {
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        executor.block_on(spawner).unwrap();
        eventually(|| metrics.snapshot().total_steals() >= (TASKS - 1) as u64);
        let snapshot = metrics.snapshot();
        let operations: u64 = snapshot
            .workers
            .iter()
            .chain([&snapshot.block_on_threads])
            .map(|thread| thread.steal_operations)
            .sum();
        assert!(operations >= 1 && operations <= snapshot.total_steals(), "{snapshot:?}");
    });
}

#[test]
fn an_idle_worker_parks() {
    within_watchdog("an idle worker parks", || {
        let executor = executor(1);
        let metrics = executor.metrics();
        eventually(|| metrics.worker_park_count(0).unwrap() > 0);
        // Woken by a task, it goes back to sleep afterwards: one more park.
        let before = metrics.worker_park_count(0).unwrap();
        executor.block_on(executor.spawn(async {})).unwrap();
        eventually(|| metrics.worker_park_count(0).unwrap() > before);
    });
}

#[test]
fn an_executor_without_workers_counts_its_block_on_thread() {
    within_watchdog("a single-threaded executor's metrics", || {
        let executor = executor(0);
        let metrics = executor.metrics();
        assert_eq!(metrics.num_workers(), 0);
        assert_eq!(metrics.worker(0), None, "no worker 0: None, not a panic");
        assert_eq!(metrics.worker_poll_count(0), None);
        let tasks: Vec<_> = (0..50).map(|_| executor.spawn(async {})).collect();
        executor.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        // Published when the `block_on` returned.
        let snapshot = metrics.snapshot();
        assert!(snapshot.block_on_threads.polls >= 50, "{snapshot:?}");
        assert!(snapshot.workers.is_empty());
        assert_eq!(snapshot.total_polls(), snapshot.block_on_threads.polls);
        assert_eq!(snapshot.block_on_threads.local_queue_depth, 0, "the queue was given back");
    });
}

#[test]
fn a_blocking_job_shows_in_the_pool_gauges() {
    within_watchdog("blocking pool gauges", || {
        let executor =
            Builder::new().worker_threads(1).max_blocking_threads(1).build(Parking::new()).unwrap();
        let metrics = executor.metrics();
        assert_eq!(metrics.blocking_threads(), 0);
        let (release, released) = mpsc::channel::<()>();
        let (started, has_started) = mpsc::channel();
        let first = executor.spawn_blocking(move || {
            started.send(()).unwrap();
            released.recv().unwrap();
        });
        has_started.recv().unwrap();
        // The one thread is busy: a second job waits in the queue.
        let second = executor.spawn_blocking(|| ());
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.blocking_threads, 1, "{snapshot:?}");
        assert_eq!(snapshot.blocking_idle_threads, 0, "{snapshot:?}");
        assert_eq!(snapshot.blocking_queue_depth, 1, "{snapshot:?}");
        release.send(()).unwrap();
        executor.block_on(async {
            first.await.unwrap();
            second.await.unwrap();
        });
        // Done, the thread idles for its keep-alive (10 s by default).
        eventually(|| metrics.blocking_idle_threads() == 1);
        assert_eq!((metrics.blocking_threads(), metrics.blocking_queue_depth()), (1, 0));
    });
}

#[test]
fn a_pending_timer_is_counted_until_it_fires_and_its_wait_dispatches_it() {
    within_watchdog("timers pending and source waits", || {
        let (runtime, clock) =
            reactor_epoll::Runtime::builder().worker_threads(1).build_with_manual_clock().unwrap();
        let metrics = runtime.metrics();
        assert_eq!(metrics.timers_pending(), Some(0));
        let sleeper = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_secs(3600)).await });
        eventually(|| metrics.timers_pending() == Some(1));
        let before = metrics.snapshot();
        clock.advance(Duration::from_secs(3600));
        runtime.block_on(sleeper).unwrap();
        assert_eq!(metrics.timers_pending(), Some(0));
        let after = metrics.snapshot();
        assert!(after.source_waits > before.source_waits, "{before:?}\n{after:?}");
        assert!(after.events_dispatched > before.events_dispatched, "the timer fired in a wait: {after:?}");
    });
}

#[test]
fn the_handle_sees_the_same_metrics_as_the_runtime() {
    within_watchdog("metrics through a handle", || {
        let runtime = reactor_epoll::Runtime::builder().worker_threads(1).build().unwrap();
        let from_handle = runtime.handle().metrics();
        runtime.block_on(runtime.handle().spawn(async {})).unwrap();
        assert_eq!(from_handle.spawned_tasks_count(), 1);
        assert_eq!(from_handle.timers_pending(), Some(0), "the handle's view has the timers too");
        assert_eq!(from_handle.num_workers(), runtime.metrics().num_workers());
    });
}

#[test]
fn without_a_timer_gauge_timers_pending_is_none() {
    let executor = executor(1);
    assert_eq!(executor.metrics().timers_pending(), None);
    assert_eq!(executor.metrics().snapshot().timers_pending, None);
}

#[test]
fn a_snapshot_prints_as_one_logfmt_line() {
    let executor = executor(2);
    executor.block_on(executor.spawn(async {})).unwrap();
    let line = executor.metrics().snapshot().to_string();
    assert!(!line.contains('\n'), "{line}");
    for key in
        ["workers=2", "polls=", "spawned_tasks=1", "alive_tasks=", "source_waits=", "blocking_threads=0"]
    {
        assert!(line.contains(key), "{key} missing from {line}");
    }
}

#[test]
fn counters_never_go_back_between_snapshots() {
    within_watchdog("counters are monotone under load", || {
        let executor = executor(2);
        let metrics = executor.metrics();
        let reader = {
            let metrics: RuntimeMetrics = metrics.clone();
            thread::spawn(move || {
                let mut last = MetricsSnapshot::default();
                for _ in 0..200 {
                    let now = metrics.snapshot();
                    assert!(now.spawned_tasks >= last.spawned_tasks);
                    assert!(now.source_waits >= last.source_waits);
                    for (now, last) in now.workers.iter().zip(&last.workers) {
                        assert!(
                            now.polls >= last.polls && now.parks >= last.parks && now.steals >= last.steals
                        );
                        assert!(now.busy >= last.busy && now.parked >= last.parked);
                    }
                    last = now;
                    thread::yield_now();
                }
            })
        };
        executor.block_on(async {
            let tasks: Vec<_> = (0..2000)
                .map(|_| reactor::Handle::current().unwrap().spawn(async { reactor::yield_now().await }))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        reader.join().unwrap();
    });
}
