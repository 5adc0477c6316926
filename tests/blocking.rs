//! The blocking pool: `spawn_blocking` runs closures on threads of their own, started on demand,
//! bounded, named, gone after their keep-alive; panics and cancellation reach the task handle;
//! shutdown cancels what never started and lets what runs finish.
//!
//! A stranded job is a hang, so every scenario runs under a watchdog.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use futures_lite::future;
use reactor::source::Parking;
use reactor::{Builder, Executor, Handle};

mod common;
use common::within_watchdog;

fn executor(max_blocking_threads: usize) -> Executor<Parking> {
    Builder::new().worker_threads(1).max_blocking_threads(max_blocking_threads).build(Parking::new()).unwrap()
}

/// Waits (bounded by the scenario's watchdog) until `condition` holds.
fn eventually(condition: impl Fn() -> bool) {
    while !condition() {
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_blocking_job_runs_on_a_named_pool_thread_and_returns_its_result() {
    within_watchdog("a blocking job", || {
        let executor = executor(4);
        let (name, answer) = executor.block_on(async {
            let job = executor.spawn_blocking(|| (thread::current().name().map(str::to_owned), 6 * 7));
            job.await.unwrap()
        });
        assert_eq!(answer, 42);
        assert_eq!(name.as_deref(), Some("reactor-blocking-0"));
    });
}

#[test]
fn no_blocking_thread_starts_until_a_job_needs_one() {
    within_watchdog("lazy start", || {
        let executor = executor(4);
        executor.block_on(executor.spawn(async {})).unwrap();
        assert_eq!(executor.blocking_threads(), 0);
        executor.block_on(executor.spawn_blocking(|| ())).unwrap();
        assert_eq!(executor.blocking_threads(), 1);
    });
}

#[test]
fn the_pool_runs_up_to_its_maximum_at_once_and_queues_the_rest() {
    within_watchdog("the pool's bound", || {
        const MAX: usize = 3;
        let executor = executor(MAX);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // The first MAX jobs meet at a barrier: they can only all return if MAX run at once.
        let barrier = Arc::new(Barrier::new(MAX));
        let jobs: Vec<_> = (0..40)
            .map(|index| {
                let (running, most, barrier) = (running.clone(), most.clone(), barrier.clone());
                executor.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    if index < MAX {
                        barrier.wait();
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    index
                })
            })
            .collect();
        let outputs: Vec<_> = executor.block_on(async {
            let mut outputs = Vec::new();
            for job in jobs {
                outputs.push(job.await.unwrap());
            }
            outputs
        });
        assert_eq!(outputs, (0..40).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), MAX, "never more than the maximum, and the maximum reached");
        assert_eq!(executor.blocking_threads(), MAX);
    });
}

#[test]
fn idle_blocking_threads_exit_after_their_keep_alive() {
    within_watchdog("keep-alive", || {
        let executor = Builder::new()
            .worker_threads(1)
            .blocking_keep_alive(Duration::from_millis(20))
            .build(Parking::new())
            .unwrap();
        let jobs: Vec<_> =
            (0..4).map(|_| executor.spawn_blocking(|| thread::sleep(Duration::from_millis(5)))).collect();
        executor.block_on(async {
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert!(executor.blocking_threads() >= 1);
        eventually(|| executor.blocking_threads() == 0);
        // A job after they all left starts a thread again.
        assert_eq!(executor.block_on(executor.spawn_blocking(|| 5)).unwrap(), 5);
    });
}

#[test]
fn a_panicking_job_is_reported_through_its_task_and_the_pool_goes_on() {
    within_watchdog("a panicking job", || {
        let executor = executor(1);
        let error = executor.block_on(executor.spawn_blocking(|| panic!("the job failed"))).unwrap_err();
        assert!(error.is_panic());
        assert_eq!(error.try_into_panic().unwrap().downcast_ref::<&str>(), Some(&"the job failed"));
        // The one thread survived its job's panic: the next job runs on it, not on a new one.
        let name = executor.block_on(executor.spawn_blocking(|| thread::current().name().map(str::to_owned)));
        assert_eq!(name.unwrap().as_deref(), Some("reactor-blocking-0"));
    });
}

#[test]
fn dropping_a_task_before_its_job_started_cancels_the_job() {
    within_watchdog("cancel before start", || {
        let executor = executor(1);
        let (release, released) = mpsc::channel::<()>();
        let busy = executor.spawn_blocking(move || released.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        drop(executor.spawn_blocking(move || flag.store(true, Ordering::SeqCst)));
        release.send(()).unwrap();
        executor.block_on(busy).unwrap();
        // Jobs run in order on the one thread: once this one ran, the dropped one was skipped.
        executor.block_on(executor.spawn_blocking(|| ())).unwrap();
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn queued_jobs_start_in_the_order_they_were_submitted() {
    within_watchdog("order", || {
        let executor = executor(1);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let jobs: Vec<_> = (0..100)
            .map(|index| {
                let order = order.clone();
                executor.spawn_blocking(move || order.lock().unwrap().push(index))
            })
            .collect();
        executor.block_on(async {
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn shutdown_cancels_queued_jobs_and_lets_the_running_one_finish() {
    within_watchdog("shutdown", || {
        let executor = executor(1);
        let (started_tx, started) = mpsc::channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let running = executor.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            released.recv().unwrap();
            "finished"
        });
        let queued = executor.spawn_blocking(|| "never runs");
        let handle = executor.handle();
        started.recv().unwrap();
        // The drop cancels the queued job at once, then waits for the running one.
        let dropping = thread::spawn(move || drop(executor));
        let cancelled = future::block_on(queued).unwrap_err();
        assert!(cancelled.is_cancelled());
        // After shutdown, a new job is cancelled at once.
        assert!(future::block_on(handle.spawn_blocking(|| ())).unwrap_err().is_cancelled());
        assert!(!dropping.is_finished(), "the drop waits for the running job");
        release.send(()).unwrap();
        dropping.join().unwrap();
        assert_eq!(future::block_on(running).unwrap(), "finished");
    });
}

#[test]
fn a_blocking_job_finds_its_executor_and_may_block_on_it() {
    within_watchdog("the job's executor", || {
        let executor = Arc::new(executor(2));
        let inside = executor.clone();
        let output = executor.block_on(executor.spawn_blocking(move || {
            let handle = Handle::current().expect("a blocking job sees its executor");
            let task = handle.spawn(async { 20 });
            // Blocking on the executor from its blocking pool is allowed: this is not a task.
            inside.block_on(async { task.await.unwrap() + 1 })
        }));
        assert_eq!(output.unwrap(), 21);
        assert!(Handle::current().is_none());
    });
}

#[test]
fn many_jobs_on_a_small_pool_all_complete() {
    within_watchdog("many jobs", || {
        let executor = executor(4);
        let total: usize = executor.block_on(async {
            let jobs: Vec<_> = (0..2_000).map(|index| executor.spawn_blocking(move || index)).collect();
            let mut total = 0;
            for job in jobs {
                total += job.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..2_000).sum::<usize>());
        assert!(executor.blocking_threads() <= 4);
    });
}

#[test]
fn a_pool_of_no_threads_is_refused() {
    let error = Builder::new().max_blocking_threads(0).build(Parking::new()).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("max_blocking_threads"), "{error}");
}

#[test]
fn dropping_the_executor_waits_for_a_running_job_to_finish() {
    within_watchdog("the drop waits", || {
        let executor = executor(1);
        let (started_tx, started) = mpsc::channel::<()>();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        executor
            .spawn_blocking(move || {
                started_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(50));
                flag.store(true, Ordering::SeqCst);
            })
            .detach();
        started.recv().unwrap();
        drop(executor);
        assert!(finished.load(Ordering::SeqCst), "the drop returned before the running job finished");
    });
}

#[test]
fn shutdown_timeout_reports_a_blocking_job_still_running_at_its_deadline() {
    within_watchdog("shutdown_timeout", || {
        let executor = executor(1);
        let (release, released) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let job = executor.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            released.recv().unwrap()
        });
        started.recv().unwrap();
        assert!(!executor.shutdown_timeout(Duration::from_millis(10)));
        release.send(()).unwrap();
        future::block_on(job).unwrap();
    });
}

#[test]
fn a_thread_name_the_os_cannot_take_fails_the_job_without_a_panic() {
    within_watchdog("a bad thread name", || {
        let executor = Builder::new()
            .worker_threads(1)
            .max_blocking_threads(1)
            .blocking_thread_name(|index| format!("bad\0{index}"))
            .build(Parking::new())
            .unwrap();
        for _ in 0..3 {
            let error = executor.block_on(executor.spawn_blocking(|| ())).unwrap_err();
            assert!(error.is_cancelled());
            // The failed start gave its place back: the pool is not left counting a phantom.
            assert_eq!(executor.blocking_threads(), 0);
        }
    });
}

#[test]
fn the_start_and_stop_hooks_run_on_blocking_threads_too() {
    within_watchdog("hooks", || {
        let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (on_start, on_stop) = (started.clone(), stopped.clone());
        let executor = Builder::new()
            .worker_threads(0)
            .on_thread_start(move || {
                on_start.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                on_stop.fetch_add(1, Ordering::SeqCst);
            })
            .build(Parking::new())
            .unwrap();
        executor.block_on(executor.spawn_blocking(|| ())).unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 1);
        drop(executor); // waits for the blocking thread to exit, its stop hook included
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_blocking_job_may_host_another_executor() {
    within_watchdog("a host in a job", || {
        let host_executor = Arc::new(Builder::new().worker_threads(0).build(Parking::new()).unwrap());
        let inside = host_executor.clone();
        let executor = executor(1);
        let hosted = executor.block_on(executor.spawn_blocking(move || inside.host().is_ok())).unwrap();
        assert!(hosted);
    });
}
