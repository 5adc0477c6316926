//! `Task::abort` and task ids, checked against what tokio documents for `JoinHandle::abort` and
//! `task::id`: an aborted task never runs again and its handle reports a cancellation, unless it
//! had already completed; ids are unique and visible inside the task.
//!
//! When the future is dropped: a task running on another thread, once that poll returns; an
//! idle task, when it next runs (abort wakes it), so *after* `abort` returns: these tests await
//! the handle before they count drops.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use reactor::source::Parking;
use reactor::{task, Builder, Executor};

mod common;
use common::{within_watchdog, DropCounter, Gate};

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

#[test]
fn an_aborted_idle_task_reports_cancelled_and_its_future_is_dropped() {
    within_watchdog("abort of an idle task", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let (polled_tx, polled) = mpsc::channel();
        let counter = DropCounter(drops.clone());
        let never = Gate::default();
        let task = executor.spawn(async move {
            let _counter = counter;
            polled_tx.send(()).unwrap();
            never.wait().await;
            unreachable!("the gate is never opened");
        });
        let id = task.id();
        polled.recv().unwrap();
        task.abort();
        let error = executor.block_on(task).unwrap_err();
        assert!(error.is_cancelled(), "{error:?}");
        assert_eq!(error.id(), id);
        assert_eq!(error.to_string(), format!("task {id} was cancelled"));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_task_aborted_before_it_first_runs_never_runs() {
    within_watchdog("abort of a queued task", || {
        // No workers: the task waits in the queue until the `block_on` below.
        let executor = executor(0);
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let (ran2, counter) = (ran.clone(), DropCounter(drops.clone()));
        let task = executor.spawn(async move {
            let _counter = counter;
            ran2.fetch_add(1, Ordering::SeqCst);
        });
        task.abort();
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_task_aborted_while_running_on_a_worker_is_dropped_after_that_poll_and_never_polled_again() {
    within_watchdog("abort of a running task", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let polls = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let counter = DropCounter(drops.clone());
        let polls2 = polls.clone();
        let task = executor.spawn(async move {
            let _counter = counter;
            std::future::poll_fn(move |cx| {
                polls2.fetch_add(1, Ordering::SeqCst);
                started_tx.send(()).unwrap();
                // Blocks the worker inside the poll until the main thread has aborted.
                go_rx.recv().unwrap();
                cx.waker().wake_by_ref(); // would run again, were it not aborted
                std::task::Poll::<()>::Pending
            })
            .await;
        });
        started.recv().unwrap();
        task.abort();
        // The poll is still running on the worker: nothing may be dropped under it.
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        go.send(()).unwrap();
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn aborting_a_completed_task_still_delivers_its_output() {
    within_watchdog("abort of a completed task", || {
        let executor = executor(1);
        let task = executor.spawn(async { 5 });
        while !task.is_finished() {
            std::thread::yield_now();
        }
        task.abort();
        assert_eq!(executor.block_on(task).unwrap(), 5);
    });
}

#[test]
fn aborting_twice_and_through_an_abort_handle_is_harmless() {
    within_watchdog("abort twice", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let task = executor.spawn(async move {
            let _counter = counter;
            std::future::pending::<()>().await;
        });
        let handle = task.abort_handle();
        assert_eq!(handle.id(), task.id());
        let remote = std::thread::spawn({
            let handle = handle.clone();
            move || handle.abort()
        });
        task.abort();
        task.abort();
        remote.join().unwrap();
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        handle.abort();
        assert!(handle.is_finished());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_local_task_aborted_on_its_thread_or_from_another_reports_cancelled() {
    within_watchdog("abort of a local task", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        executor.block_on(async {
            let local = std::rc::Rc::new(());
            let spawn_pending = |drops: &Arc<AtomicUsize>| {
                let (local, counter) = (local.clone(), DropCounter(drops.clone()));
                reactor::spawn_local(async move {
                    let _keep = (local, counter);
                    std::future::pending::<()>().await;
                })
                .unwrap()
            };
            let here = spawn_pending(&drops);
            reactor::yield_now().await;
            here.abort();
            assert!(here.await.unwrap_err().is_cancelled());
            assert_eq!(drops.load(Ordering::SeqCst), 1);

            let there = spawn_pending(&drops);
            reactor::yield_now().await;
            let handle = there.abort_handle();
            std::thread::spawn(move || handle.abort()).join().unwrap();
            assert!(there.await.unwrap_err().is_cancelled());
            assert_eq!(drops.load(Ordering::SeqCst), 2);
        });
    });
}

#[test]
fn a_task_sees_its_own_id_and_ids_are_unique_across_ten_thousand_spawns() {
    within_watchdog("task ids", || {
        let executor = executor(2);
        let tasks: Vec<_> = (0..10_000).map(|_| executor.spawn(async { task::id() })).collect();
        let mut seen = HashSet::new();
        executor.block_on(async {
            assert_eq!(task::try_id(), None, "a block_on's own future is no task");
            for task in tasks {
                let id = task.id();
                assert_eq!(task.await.unwrap(), id);
                assert!(seen.insert(id), "id {id} given twice");
            }
        });
        let local = executor.block_on(async {
            let task = reactor::spawn_local(async { task::try_id() }).unwrap();
            let id = task.id();
            (task.await.unwrap(), id)
        });
        assert_eq!(local.0, Some(local.1));
        assert!(!seen.contains(&local.1));
    });
}

#[test]
fn a_join_error_names_the_task_that_panicked() {
    within_watchdog("panic with id", || {
        let executor = executor(1);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let task = executor.spawn(async { panic!("boom") });
        let id = task.id();
        let error = executor.block_on(task).unwrap_err();
        std::panic::set_hook(previous);
        assert_eq!(error.id(), id);
        assert_eq!(format!("{error:?}"), format!("JoinError::Panic({id}, \"boom\")"));
        assert_eq!(error.to_string(), format!("task {id} panicked: boom"));
    });
}

#[test]
fn an_abort_handle_sees_a_task_cancelled_by_dropping_its_handle_as_finished() {
    within_watchdog("abort handle after drop", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let task = executor.spawn(async move {
            let _counter = counter;
            std::future::pending::<()>().await;
        });
        let handle = task.abort_handle();
        drop(task);
        while !handle.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        handle.abort(); // a finished task: nothing happens
    });
}

#[test]
fn a_blocking_job_aborted_before_it_starts_never_runs_and_one_running_completes() {
    within_watchdog("abort of blocking jobs", || {
        let executor =
            Builder::new().worker_threads(1).max_blocking_threads(1).build(Parking::new()).unwrap();
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let running = executor.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            1
        });
        started.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued = executor.spawn_blocking({
            let ran = ran.clone();
            move || ran.fetch_add(1, Ordering::SeqCst)
        });
        queued.abort();
        // As in tokio: a job already running cannot be stopped; it runs to its end.
        running.abort();
        release.send(()).unwrap();
        assert_eq!(executor.block_on(running).unwrap(), 1);
        assert!(executor.block_on(queued).unwrap_err().is_cancelled());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn a_task_that_aborts_itself_is_not_polled_again() {
    within_watchdog("self abort", || {
        let executor = executor(1);
        let (handle_tx, handle_rx) = mpsc::channel::<task::AbortHandle>();
        let after = Arc::new(AtomicUsize::new(0));
        let task = executor.spawn({
            let after = after.clone();
            async move {
                handle_rx.recv().unwrap().abort();
                // Still this poll: it goes on until the yield returns `Pending`.
                reactor::yield_now().await;
                after.fetch_add(1, Ordering::SeqCst);
            }
        });
        handle_tx.send(task.abort_handle()).unwrap();
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        assert_eq!(after.load(Ordering::SeqCst), 0);
    });
}

/// A future whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("drop of an aborted future");
    }
}

#[test]
fn an_aborted_task_whose_future_panics_in_drop_still_reports_cancelled_and_the_worker_lives() {
    within_watchdog("panicking drop", || {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let executor = executor(1);
        let (polled_tx, polled) = mpsc::channel();
        let task = executor.spawn(async move {
            let _bomb = PanicsOnDrop;
            polled_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        polled.recv().unwrap(); // the bomb is live inside the future
        task.abort();
        assert!(executor.block_on(task).unwrap_err().is_cancelled());
        // The worker that dropped the future is still there to run the next task.
        assert_eq!(executor.block_on(executor.spawn(async { 5 })).unwrap(), 5);
        drop(executor);
        std::panic::set_hook(previous);
    });
}

#[test]
fn two_runtimes_abort_each_others_tasks_through_abort_handles() {
    within_watchdog("two runtimes", || {
        let (first, second) = (executor(1), executor(1));
        let (drops_a, drops_b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let task_a = first.spawn({
            let counter = DropCounter(drops_a.clone());
            async move {
                let _counter = counter;
                std::future::pending::<()>().await;
            }
        });
        let task_b = second.spawn({
            let counter = DropCounter(drops_b.clone());
            async move {
                let _counter = counter;
                std::future::pending::<()>().await;
            }
        });
        // Each runtime aborts the other's task from one of its own tasks.
        let (handle_a, handle_b) = (task_a.abort_handle(), task_b.abort_handle());
        first.block_on(first.spawn(async move { handle_b.abort() })).unwrap();
        second.block_on(second.spawn(async move { handle_a.abort() })).unwrap();
        assert!(second.block_on(task_b).unwrap_err().is_cancelled());
        assert!(first.block_on(task_a).unwrap_err().is_cancelled());
        assert_eq!((drops_a.load(Ordering::SeqCst), drops_b.load(Ordering::SeqCst)), (1, 1));
    });
}
