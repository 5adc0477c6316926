//! An executor embedded in a host's event loop (`Executor::host`, `Host::turn`), over sources
//! with no fd: what a turn runs and reports, its errors, `!Send` tasks across turns, paused
//! time, and a host that leaves beside a `block_on` thread. The same behaviour over epoll, with
//! the host polling the epoll fd, is tested in `backends/epoll/tests/host.rs`.
//!
//! Every scenario runs under a watchdog: a lost wake-up or a turn that blocks is a hang.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::{Parking, PingSource};
use reactor::{Builder, Executor, Handle, HostError};
use reactor_timer::Timer;

mod common;
use common::{within_watchdog, DropCounter, Gate};

fn no_workers<S: reactor::EventSource + 'static>(source: S) -> Executor<S> {
    Builder::new().worker_threads(0).build(source).unwrap()
}

#[test]
fn a_turn_on_an_idle_executor_returns_at_once_with_the_next_timer_deadline() {
    within_watchdog("a turn on an idle executor", || {
        let timer = Timer::new();
        let executor = no_workers(timer.clone());
        let host = executor.host().unwrap();
        let turn = host.turn(16).unwrap();
        assert_eq!((turn.tasks_run(), turn.has_more(), turn.deadline()), (0, false, None));
        assert_eq!(turn.timeout(), None);

        let hour = Instant::now() + Duration::from_secs(3600);
        let sleeping = executor.spawn(timer.sleep_until(hour));
        let turn = host.turn(16).unwrap();
        assert_eq!(turn.tasks_run(), 1);
        assert!(!turn.has_more());
        let deadline = turn.deadline().expect("the sleep's deadline");
        assert!(deadline >= hour, "the deadline is the timer's, not earlier: {deadline:?} < {hour:?}");
        // Idle again: the next turn has nothing to run and reports the same deadline.
        let again = host.turn(16).unwrap();
        assert_eq!((again.tasks_run(), again.has_more(), again.deadline()), (0, false, turn.deadline()));
        assert!(!sleeping.is_finished());
    });
}

#[test]
fn a_turn_runs_at_most_its_budget_and_reports_more() {
    within_watchdog("turns with a budget", || {
        let executor = no_workers(Parking::new());
        let host = executor.host().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let ran = ran.clone();
                executor.spawn(async move { ran.fetch_add(1, Ordering::SeqCst) })
            })
            .collect();
        let mut turns = Vec::new();
        loop {
            let turn = host.turn(3).unwrap();
            turns.push((turn.tasks_run(), turn.has_more()));
            assert_eq!(turn.timeout() == Some(Duration::ZERO), turn.has_more());
            if !turn.has_more() {
                break;
            }
        }
        assert_eq!(turns, [(3, true), (3, true), (3, true), (1, false)]);
        assert_eq!(ran.load(Ordering::SeqCst), 10);
        assert!(tasks.iter().all(|task| task.is_finished()));
        // A budget of zero only dispatches.
        let spawned = executor.spawn(async {});
        let turn = host.turn(0).unwrap();
        assert_eq!((turn.tasks_run(), turn.has_more()), (0, true));
        assert!(!spawned.is_finished());
    });
}

#[test]
fn a_turn_dispatches_ready_events_and_runs_the_tasks_they_wake() {
    within_watchdog("a ping dispatched by a turn", || {
        let pings = PingSource::new();
        let executor = no_workers(pings.clone());
        let host = executor.host().unwrap();
        let gate = Gate::default();
        let (ping, _registration) = pings.register({
            let gate = gate.clone();
            move || gate.open()
        });
        let waiting = executor.spawn(gate.wait());
        assert_eq!(host.turn(8).unwrap().tasks_run(), 1);
        assert!(!waiting.is_finished());
        thread::spawn(move || ping.ping()).join().unwrap();
        let turn = host.turn(8).unwrap();
        assert_eq!((turn.tasks_run(), turn.has_more()), (1, false));
        assert!(waiting.is_finished());
    });
}

#[test]
fn a_turn_inside_a_task_is_an_error_not_a_deadlock() {
    within_watchdog("a turn inside a task", || {
        let executor = Rc::new(no_workers(Parking::new()));
        let host = Rc::new(executor.host().unwrap());
        let inner = Rc::new(Cell::new(None));
        host.spawn_local({
            let (executor, host, inner) = (executor.clone(), host.clone(), inner.clone());
            async move {
                let turn = host.turn(8).err();
                let made = executor.host().err();
                let blocked = executor.try_block_on(async {}).is_err();
                inner.set(Some((turn, made, blocked)));
            }
        })
        .detach();
        host.turn(8).unwrap();
        assert_eq!(inner.get(), Some((Some(HostError::Nested), Some(HostError::Nested), true)));
        let error = io::Error::from(HostError::Nested);
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        // Inside another executor's `block_on` too.
        let other = no_workers(Parking::new());
        assert_eq!(other.block_on(async { host.turn(1).err() }), Some(HostError::Nested));
    });
}

#[test]
fn one_host_at_a_time_and_block_on_is_refused_on_the_hosts_thread() {
    within_watchdog("a second host", || {
        let executor = no_workers(Parking::new());
        let host = executor.host().unwrap();
        assert_eq!(executor.host().err(), Some(HostError::AlreadyHosted));
        assert_eq!(io::Error::from(HostError::AlreadyHosted).kind(), io::ErrorKind::AlreadyExists);
        // block_on here would wait for events that only this thread's turns dispatch.
        assert!(executor.try_block_on(async {}).is_err());
        // On another thread it works: the host's turns dispatch for it.
        let handle = executor.handle();
        let task = handle.spawn(async { 5 });
        host.turn(4).unwrap();
        assert!(task.is_finished());
        drop(host);
        let host = executor.host().unwrap();
        assert_eq!(host.turn(1).unwrap().tasks_run(), 0);
        drop(host);
        assert_eq!(executor.block_on(async { 6 }), 6);
    });
}

#[test]
fn a_turn_after_shutdown_reports_it() {
    within_watchdog("a turn after shutdown", || {
        let executor = no_workers(Parking::new());
        let host = executor.host().unwrap();
        let handle = executor.handle();
        drop(executor);
        assert_eq!(host.turn(4).err(), Some(HostError::ShutDown));
        assert!(handle.try_spawn(async {}).is_err());
        drop(host);
        let executor = no_workers(Parking::new());
        executor.handle(); // a fresh executor is unaffected
        drop(executor);
    });
}

#[test]
fn local_tasks_run_in_turns_and_are_dropped_with_the_host() {
    within_watchdog("a host's local tasks", || {
        let executor = no_workers(Parking::new());
        let host = executor.host().unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let runs = Rc::new(Cell::new(0));
        let waiting = host.spawn_local({
            let (runs, guard, gate) = (runs.clone(), DropCounter(drops.clone()), gate.clone());
            async move {
                let _guard = guard;
                runs.set(runs.get() + 1);
                gate.wait().await;
                runs.set(runs.get() + 1);
            }
        });
        // From inside a turn, `Executor::spawn_local` finds the host's local tasks too.
        let executor = Rc::new(executor);
        let spawned_inside = Rc::new(Cell::new(false));
        host.spawn_local({
            let (executor, spawned_inside) = (executor.clone(), spawned_inside.clone());
            async move {
                let inner = executor.spawn_local(async move { spawned_inside.set(true) });
                inner.unwrap_or_else(|_| panic!("spawn_local refused inside a turn")).await.unwrap();
            }
        })
        .detach();
        host.turn(8).unwrap();
        assert!(spawned_inside.get());
        assert_eq!(runs.get(), 1);
        // Opened from another thread between turns: the next turn runs the task.
        let opener = gate.clone();
        thread::spawn(move || opener.open()).join().unwrap();
        let turn = host.turn(8).unwrap();
        assert_eq!((turn.tasks_run(), runs.get()), (1, 2));
        assert!(waiting.is_finished());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // A task still pending when the host drops is dropped with it, on this thread.
        let pending = host.spawn_local({
            let guard = DropCounter(drops.clone());
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }
        });
        host.turn(8).unwrap();
        drop(host);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(pending.is_finished() || executor.block_on(pending).is_err());
    });
}

#[test]
fn ambient_apis_find_the_executor_inside_a_turn_and_not_after() {
    within_watchdog("ambient APIs in a turn", || {
        let pings = PingSource::new();
        let executor = no_workers(pings.clone());
        let host = executor.host().unwrap();
        let found = executor.spawn(async {
            (Handle::current().is_some(), reactor::current_source::<PingSource>().is_some())
        });
        host.turn(4).unwrap();
        assert!(found.is_finished());
        assert!(Handle::current().is_none());
        assert!(reactor::current_source::<PingSource>().is_none());
        assert!(executor.spawn_local(async {}).is_err(), "outside a turn, use Host::spawn_local");
        drop(host);
        assert_eq!(executor.block_on(async { 0 }), 0);
    });
}

#[test]
fn a_host_that_leaves_hands_the_source_to_a_block_on_thread() {
    within_watchdog("a block_on left alone by the host", || {
        let pings = PingSource::new();
        let executor = Arc::new(no_workers(pings.clone()));
        let host = executor.host().unwrap();
        let gate = Gate::default();
        let (ping, _registration) = pings.register({
            let gate = gate.clone();
            move || gate.open()
        });
        let (started_tx, started) = mpsc::channel();
        let waiter = {
            let executor = executor.clone();
            thread::spawn(move || {
                executor.block_on(async {
                    started_tx.send(()).unwrap();
                    gate.wait().await;
                })
            })
        };
        started.recv().unwrap();
        host.turn(4).unwrap();
        // Let the block_on thread fall asleep without the poll role (the host holds it), the
        // state in which it needs the hand-off; the test passes however the threads interleave.
        thread::sleep(Duration::from_millis(50));
        // The host leaves without dispatching the ping: the block_on thread must take over.
        drop(host);
        ping.ping();
        waiter.join().unwrap();
    });
}

#[test]
fn paused_time_moves_when_the_host_and_every_thread_are_idle() {
    within_watchdog("paused time under a host", || {
        let (timer, clock) = Timer::with_paused_clock();
        let executor = no_workers(timer.clone());
        let host = executor.host().unwrap();
        let start = clock.now();
        let sleeping = executor.spawn({
            let timer = timer.clone();
            async move { timer.sleep(Duration::from_secs(30)).await }
        });
        let mut turns = 0;
        while !sleeping.is_finished() {
            let turn = host.turn(8).unwrap();
            assert!(turn.deadline().is_none() || turn.has_more(), "a paused clock is no reason to sleep");
            assert!(turn.has_more() || sleeping.is_finished(), "an idle host moves paused time");
            turns += 1;
            assert!(turns < 100, "paused time never moved");
        }
        assert_eq!(clock.now() - start, Duration::from_secs(30));
    });
}
