//! The `!Send` task model: `reactor::spawn_local` (and `Executor::spawn_local`) spawn onto the
//! calling thread's current `block_on`, whose thread alone runs and drops the task. Checked on a
//! worker-less executor, on several threads each running its own `block_on` of one executor
//! (each thread's local tasks stay on it, also when woken from other threads), on the default
//! runtime, and outside any `block_on` (the future is handed back). Every scenario that runs an
//! executor runs under a watchdog.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use reactor::source::Parking;
use reactor::{Builder, Executor};

mod common;
use common::{within_watchdog, DropCounter};

/// A future that stays pending until `Latch::open`, from any thread, for any number of waiters
/// (`common::Gate` keeps one waker).
#[derive(Clone, Default)]
struct Latch(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Latch {
    fn open(&self) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

fn executor(workers: usize) -> Arc<Executor<Parking>> {
    Arc::new(Builder::new().worker_threads(workers).build(Parking::new()).unwrap())
}

/// Spawns `count` local tasks that each hold an `Rc`, wait for `gate` (opened by another thread,
/// so the wake arrives from there), yield `yields` times and check, at every poll, that they run
/// on the thread that spawned them. Returns how many polls saw the right thread.
async fn local_tasks_stay_home(count: usize, yields: usize, gate: Latch) -> usize {
    let home = thread::current().id();
    let polls_at_home = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let polls_at_home = polls_at_home.clone(); // an Rc: the task is !Send
            let gate = gate.clone();
            reactor::spawn_local(async move {
                gate.wait().await;
                for _ in 0..yields {
                    assert_eq!(thread::current().id(), home, "a local task ran on another thread");
                    polls_at_home.set(polls_at_home.get() + 1);
                    reactor::yield_now().await;
                }
            })
            .expect("inside block_on")
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    polls_at_home.get()
}

#[test]
fn local_tasks_run_on_a_worker_less_executor() {
    within_watchdog("spawn_local on an executor without workers", || {
        let executor = executor(0);
        let gate = Latch::default();
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(5)); // usually after the tasks wait; either order is fine
                gate.open();
            })
        };
        // Pool tasks interleave with the local ones on the same (only) thread.
        let pool = executor.spawn(async {
            for _ in 0..50 {
                reactor::yield_now().await;
            }
        });
        let polls = executor.block_on(async {
            let polls = local_tasks_stay_home(8, 50, gate).await;
            pool.await.unwrap();
            polls
        });
        assert_eq!(polls, 8 * 50);
        opener.join().unwrap();
    });
}

#[test]
fn each_block_on_thread_keeps_its_own_local_tasks() {
    for workers in [0, 2] {
        within_watchdog("three block_on threads of one executor with local tasks", move || {
            const THREADS: usize = 3;
            let executor = executor(workers);
            let gate = Latch::default();
            let started = Arc::new(Barrier::new(THREADS + 1));
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (executor, gate, started) = (executor.clone(), gate.clone(), started.clone());
                    thread::spawn(move || {
                        executor.block_on(async {
                            // Local tasks spawned by local tasks stay home too.
                            let nested =
                                reactor::spawn_local(local_tasks_stay_home(4, 30, gate.clone())).unwrap();
                            started.wait(); // every thread is inside its block_on with tasks spawned
                            let polls = local_tasks_stay_home(4, 30, gate).await;
                            polls + nested.await.unwrap()
                        })
                    })
                })
                .collect();
            started.wait();
            gate.open(); // wakes every thread's local tasks from this one
            for handle in threads {
                assert_eq!(handle.join().unwrap(), 2 * 4 * 30);
            }
        });
    }
}

#[test]
fn pending_local_tasks_are_dropped_on_their_own_thread_when_block_on_returns() {
    within_watchdog("block_on returning with local tasks pending, on three threads", || {
        let executor = executor(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (executor, drops) = (executor.clone(), drops.clone());
                thread::spawn(move || {
                    let (dropped_on, dropped) = mpsc::channel::<ThreadId>();
                    /// Reports the thread its drop runs on; holds an Rc (the task is !Send).
                    struct OnDrop(
                        mpsc::Sender<ThreadId>,
                        #[allow(dead_code)] Rc<()>,
                        #[allow(dead_code)] DropCounter,
                    );
                    impl Drop for OnDrop {
                        fn drop(&mut self) {
                            let _ = self.0.send(thread::current().id());
                        }
                    }
                    let mut handle = None;
                    executor.block_on(async {
                        let guard = OnDrop(dropped_on, Rc::new(()), DropCounter(drops));
                        let task = reactor::spawn_local(async move {
                            let _guard = guard;
                            std::future::pending::<()>().await;
                        })
                        .unwrap();
                        reactor::yield_now().await; // the task has started
                        handle = Some(task);
                    });
                    // Cancelled, and dropped on this thread, before block_on returned.
                    assert_eq!(dropped.try_recv(), Ok(thread::current().id()));
                    assert!(executor.block_on(handle.unwrap()).unwrap_err().is_cancelled());
                })
            })
            .collect();
        for handle in threads {
            handle.join().unwrap();
        }
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn local_tasks_run_on_the_default_runtime() {
    for workers in [0, 2] {
        within_watchdog("spawn_local on reactor_epoll's runtime", move || {
            let runtime = reactor_epoll::Runtime::builder().worker_threads(workers).build().unwrap();
            let home = thread::current().id();
            let log = Rc::new(RefCell::new(Vec::new()));
            let seen = runtime.block_on(async {
                let timer = runtime.timer().clone();
                // Through the runtime and through the free function: the same local executor.
                let first = runtime
                    .spawn_local({
                        let (log, timer) = (log.clone(), timer.clone());
                        async move {
                            timer.sleep(Duration::from_millis(1)).await; // woken by the timer
                            log.borrow_mut().push(("runtime", thread::current().id()));
                        }
                    })
                    .unwrap();
                let second = reactor::spawn_local({
                    let log = log.clone();
                    async move {
                        timer.sleep(Duration::from_millis(2)).await;
                        log.borrow_mut().push(("free fn", thread::current().id()));
                    }
                })
                .unwrap();
                first.await.unwrap();
                second.await.unwrap();
                log.take()
            });
            assert_eq!(seen, [("runtime", home), ("free fn", home)]);
        });
    }
}

#[test]
fn spawn_local_outside_a_block_on_hands_the_future_back() {
    within_watchdog("spawn_local with no block_on on the thread", || {
        let executor = executor(1);
        // On a plain thread.
        let error = reactor::spawn_local(async { 5 }).unwrap_err();
        assert_eq!(
            error.to_string(),
            "spawn_local must be called on a thread running this executor's block_on"
        );
        // The future comes back unpolled, to run some other way.
        assert_eq!(executor.block_on(error.into_inner()), 5);
        assert!(executor.spawn_local(async {}).is_err());
        // In a pool task on a worker (the block_on here only waits for the task's outcome).
        let (tx, rx) = mpsc::channel();
        executor
            .spawn(async move {
                tx.send(reactor::spawn_local(async {}).is_err()).unwrap();
            })
            .detach();
        assert!(rx.recv().unwrap(), "a worker has no local executor");
        // In a blocking job.
        let from_blocking =
            executor.block_on(executor.spawn_blocking(|| reactor::spawn_local(async {}).is_err()));
        assert!(from_blocking.unwrap());
        // After block_on returned, on the same thread.
        executor.block_on(async {});
        assert!(reactor::spawn_local(async {}).is_err());
    });
}

#[test]
fn on_a_worker_less_executor_pool_tasks_may_spawn_local_tasks_on_the_block_on_thread() {
    within_watchdog("spawn_local from a pool task, one block_on thread, no workers", || {
        let executor = executor(0);
        let home = thread::current().id();
        let pool = executor.spawn(async move {
            let shared = Rc::new(7); // created and used on the local task's thread only
            let local = reactor::spawn_local(async move { (*shared, thread::current().id()) });
            local.expect("polled by the only thread, inside its block_on").await.unwrap()
        });
        assert_eq!(executor.block_on(pool).unwrap(), (7, home));
    });
}
