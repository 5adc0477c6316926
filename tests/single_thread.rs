//! The single-threaded flavour: an executor without worker threads, run by its `block_on`
//! threads. The first of them runs pool tasks from a queue of its own that no other thread can
//! take from; these tests check what that must not break: a second `block_on` thread still makes
//! progress, wakes from other threads still arrive, and tasks left in that queue when its owner
//! leaves (by returning or by a panic) still run on the next `block_on`.
//!
//! A stranded task is a hang, so every scenario runs under a watchdog.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use reactor::source::Parking;
use reactor::{Builder, Executor, Task};

mod common;
use common::{within_watchdog, Gate};

fn worker_less() -> Arc<Executor<Parking>> {
    Arc::new(Builder::new().worker_threads(0).build(Parking::new()).unwrap())
}

/// Spawns `count` tasks from inside a `block_on` of `executor` on the calling thread and returns
/// before any of them ran.
fn spawn_unrun(executor: &Executor<Parking>, count: u64) -> Vec<Task<u64>> {
    (0..count).map(|i| executor.spawn(async move { i })).collect()
}

/// Awaits every handle; the sum of the outputs.
async fn sum(handles: Vec<Task<u64>>) -> u64 {
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap();
    }
    sum
}

#[test]
fn two_block_on_threads_on_a_worker_less_executor_both_make_progress() {
    within_watchdog("two block_on threads passing a token back and forth", || {
        const ROUNDS: usize = 200;
        let executor = worker_less();
        let pings: Vec<Gate> = (0..ROUNDS).map(|_| Gate::default()).collect();
        let pongs: Vec<Gate> = (0..ROUNDS).map(|_| Gate::default()).collect();
        let ran_on_other = Arc::new(AtomicUsize::new(0));
        let other = {
            let (executor, pings, pongs, ran) =
                (executor.clone(), pings.clone(), pongs.clone(), ran_on_other.clone());
            thread::spawn(move || {
                executor.block_on(async {
                    for (ping, pong) in pings.iter().zip(&pongs) {
                        ping.wait().await;
                        // A pool task spawned here, awaited here.
                        let ran = ran.clone();
                        executor.spawn(async move { ran.fetch_add(1, Ordering::SeqCst) }).await.unwrap();
                        pong.open();
                    }
                })
            })
        };
        let total = executor.block_on(async {
            let mut total = 0;
            for (ping, pong) in pings.iter().zip(&pongs) {
                // Tasks of this thread's own queue, run between the rounds.
                let handles: Vec<_> = (0..10u64).map(|i| executor.spawn(async move { i })).collect();
                ping.open();
                total += sum(handles).await;
                pong.wait().await;
            }
            total
        });
        other.join().unwrap();
        assert_eq!(total, 45 * ROUNDS as u64);
        assert_eq!(ran_on_other.load(Ordering::SeqCst), ROUNDS);
    });
}

#[test]
fn a_pool_task_woken_from_a_plain_thread_runs_on_a_worker_less_block_on() {
    within_watchdog("a pool task woken 500 times from a plain thread", || {
        const WAKES: usize = 500;
        let executor = worker_less();
        let gates: Vec<Gate> = (0..WAKES).map(|_| Gate::default()).collect();
        let (passed_tx, passed) = mpsc::channel();
        let opener = {
            let gates = gates.clone();
            thread::spawn(move || {
                for gate in &gates {
                    gate.open();
                    // One at a time: each wake finds the task idle, and the block_on likely
                    // asleep.
                    passed.recv().unwrap();
                }
            })
        };
        let passes = executor.block_on(async {
            executor
                .spawn(async move {
                    for gate in &gates {
                        gate.wait().await;
                        passed_tx.send(()).unwrap();
                    }
                    gates.len()
                })
                .await
                .unwrap()
        });
        opener.join().unwrap();
        assert_eq!(passes, WAKES);
    });
}

#[test]
fn tasks_queued_when_block_on_returns_run_in_a_later_block_on_on_another_thread() {
    within_watchdog("tasks left queued by a returning block_on", || {
        let executor = worker_less();
        // More than a stealable run queue holds.
        let handles = executor.block_on(async { spawn_unrun(&executor, 1000) });
        assert!(handles.iter().all(|handle| !handle.is_finished()), "block_on returned first");
        let later = {
            let executor = executor.clone();
            thread::spawn(move || executor.block_on(sum(handles)))
        };
        assert_eq!(later.join().unwrap(), 499_500);
    });
}

#[test]
fn tasks_left_by_a_returning_block_on_wake_a_block_on_already_asleep() {
    within_watchdog("tasks left queued while another block_on sleeps", || {
        for _ in 0..20 {
            let executor = worker_less();
            let (handles, gate) = (Arc::new(Mutex::new(Vec::new())), Gate::default());
            let (entered_tx, entered) = mpsc::channel();
            // This thread enters first, so it owns the executor's queue...
            let left = executor.block_on(async {
                // ...and the other `block_on` thread only runs what reaches the injector.
                let sleeper = {
                    let (executor, handles, gate) = (executor.clone(), handles.clone(), gate.clone());
                    thread::spawn(move || {
                        executor.block_on(async {
                            entered_tx.send(()).unwrap();
                            gate.wait().await;
                            let handles = std::mem::take(&mut *handles.lock().unwrap());
                            sum(handles).await
                        })
                    })
                };
                entered.recv().unwrap();
                *handles.lock().unwrap() = spawn_unrun(&executor, 100);
                // The other thread wakes, finds the tasks not run and sleeps again: only this
                // thread's leaving can hand them over.
                gate.open();
                sleeper
            });
            assert_eq!(left.join().unwrap(), 4950);
        }
    });
}

#[test]
fn a_panic_in_block_on_with_tasks_queued_leaves_them_to_a_later_block_on() {
    within_watchdog("tasks left queued by a panicking block_on", || {
        let executor = worker_less();
        let handles = Arc::new(Mutex::new(Vec::new()));
        let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
            executor.block_on(async {
                *handles.lock().unwrap() = spawn_unrun(&executor, 100);
                panic!("the main future panics with tasks queued");
            })
        }));
        assert!(panicked.is_err());
        let handles = std::mem::take(&mut *handles.lock().unwrap());
        assert!(handles.iter().all(|handle| !handle.is_finished()), "block_on unwound first");
        let later = {
            let executor = executor.clone();
            thread::spawn(move || executor.block_on(sum(handles)))
        };
        assert_eq!(later.join().unwrap(), 4950);
        // And on the thread that panicked, too.
        assert_eq!(executor.block_on(sum(spawn_unrun(&executor, 10))), 45);
    });
}
