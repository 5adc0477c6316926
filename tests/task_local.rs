//! Task-local values (`reactor::task_local!`): each task sees its own value wherever it is
//! polled, siblings never see it, nested scopes restore the outer value, the value is visible in
//! the inner future's drop, a panicking poll restores the slot, and the value is dropped with its
//! future. Every scenario that runs an executor runs under a watchdog.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use reactor::source::Parking;
use reactor::task_local::AccessError;
use reactor::{Builder, Executor};

mod common;
use common::{within_watchdog, DropCounter};

reactor::task_local! {
    static ID: usize;
    static NAME: &'static str;
    static COUNTED: DropCounter;
}

fn executor(workers: usize) -> Arc<Executor<Parking>> {
    Arc::new(Builder::new().worker_threads(workers).build(Parking::new()).unwrap())
}

/// A waker that does nothing (`Waker::noop` is newer than the crate's MSRV).
struct Noop;

impl std::task::Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls `future` once on this thread with a no-op waker.
fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(&Waker::from(Arc::new(Noop))))
}

#[test]
fn each_task_sees_its_own_value_while_it_moves_between_workers() {
    within_watchdog("scoped tasks yielding on four workers", || {
        const TASKS: usize = 32;
        const YIELDS: usize = 300;
        let executor = executor(4);
        let tasks: Vec<_> = (0..TASKS)
            .map(|id| {
                executor.spawn(ID.scope(id, async move {
                    for _ in 0..YIELDS {
                        assert_eq!(ID.get(), id, "a task saw another task's value");
                        reactor::yield_now().await;
                    }
                    ID.get()
                }))
            })
            .collect();
        // Unscoped siblings, interleaved with the scoped tasks on the same workers, see nothing.
        let siblings: Vec<_> = (0..8)
            .map(|_| {
                executor.spawn(async {
                    let mut saw_a_value = false;
                    for _ in 0..YIELDS {
                        saw_a_value |= ID.try_with(|_| ()).is_ok();
                        reactor::yield_now().await;
                    }
                    saw_a_value
                })
            })
            .collect();
        for (id, task) in tasks.into_iter().enumerate() {
            assert_eq!(executor.block_on(task).unwrap(), id);
        }
        for sibling in siblings {
            assert!(!executor.block_on(sibling).unwrap(), "an unscoped task saw a scope's value");
        }
        // Between polls nothing is left in any thread's slot: this thread ran tasks too.
        assert_eq!(ID.try_with(|_| ()), Err(access_error()));
    });
}

#[test]
fn each_task_sees_its_own_value_on_the_default_runtime_across_timer_wakes() {
    within_watchdog("scoped tasks sleeping on reactor_epoll's runtime", || {
        let runtime = reactor_epoll::Runtime::builder().worker_threads(3).build().unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|id| {
                let timer = runtime.timer().clone();
                runtime.spawn(ID.scope(id, async move {
                    for round in 0..20 {
                        // Woken by the timer, from whichever thread dispatches it.
                        timer.sleep(Duration::from_micros(100 * (round % 3))).await;
                        assert_eq!(ID.get(), id);
                    }
                    ID.get()
                }))
            })
            .collect();
        for (id, task) in tasks.into_iter().enumerate() {
            assert_eq!(runtime.block_on(task).unwrap(), id);
        }
    });
}

fn access_error() -> AccessError {
    ID.try_with(|_| ()).unwrap_err()
}

#[test]
fn nested_scopes_of_one_key_restore_the_outer_value() {
    within_watchdog("nested scopes across yields", || {
        let executor = executor(2);
        let seen = executor.block_on(executor.spawn(NAME.scope("outer", async {
            let mut seen = vec![NAME.get()];
            let inner = NAME.scope("inner", async {
                reactor::yield_now().await;
                let deeper = NAME.scope("deeper", async { NAME.get() }).await;
                (deeper, NAME.get())
            });
            let (deeper, inner) = inner.await;
            seen.extend([deeper, inner]);
            reactor::yield_now().await;
            seen.push(NAME.get());
            // A synchronous scope inside an async one, restored too.
            seen.push(NAME.sync_scope("sync", || NAME.get()));
            seen.push(NAME.get());
            seen
        })));
        assert_eq!(seen.unwrap(), ["outer", "deeper", "inner", "outer", "sync", "outer"]);
    });
}

/// Records the value of `NAME` its drop sees.
struct ReadsOnDrop(Arc<Mutex<Vec<Result<&'static str, AccessError>>>>);

impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(NAME.try_with(|name| *name));
    }
}

#[test]
fn the_inner_future_sees_the_value_in_its_drop() {
    within_watchdog("drops of scoped futures", || {
        let executor = executor(2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        // Completed: dropped at completion, inside the scope.
        let reads = ReadsOnDrop(seen.clone());
        executor
            .block_on(executor.spawn(NAME.scope("completed", async move {
                let _reads = reads;
                reactor::yield_now().await;
            })))
            .unwrap();
        // Cancelled while pending: the task's future is dropped on a worker, inside the scope.
        let reads = ReadsOnDrop(seen.clone());
        let (started_tx, started) = std::sync::mpsc::channel();
        let task = executor.spawn(NAME.scope("cancelled", async move {
            let _reads = reads;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        }));
        started.recv().unwrap();
        executor.block_on(task.cancel());
        // Dropped unpolled, on this thread.
        drop(NAME.scope("unpolled", {
            let reads = ReadsOnDrop(seen.clone());
            async move {
                let _reads = reads;
            }
        }));
        assert_eq!(*seen.lock().unwrap(), [Ok("completed"), Ok("cancelled"), Ok("unpolled")]);
    });
}

#[test]
fn a_panicking_poll_restores_the_slot() {
    let mut scoped = pin!(NAME.scope("panics", async {
        assert_eq!(NAME.get(), "panics");
        panic!("inside the scope");
    }));
    // Inside an outer synchronous scope: the outer value is back after the unwind.
    let after = NAME.sync_scope("outer", || {
        let unwound = panic::catch_unwind(AssertUnwindSafe(|| poll_once(scoped.as_mut())));
        assert!(unwound.is_err());
        NAME.get()
    });
    assert_eq!(after, "outer");
    assert!(NAME.try_with(|_| ()).is_err());
    // A panicking synchronous scope, too.
    let unwound = panic::catch_unwind(|| NAME.sync_scope("sync", || panic!("inside sync_scope")));
    assert!(unwound.is_err());
    assert!(NAME.try_with(|_| ()).is_err());
}

#[test]
fn a_task_that_panics_in_its_scope_leaves_nothing_behind_on_its_worker() {
    within_watchdog("a panicking scoped task on one worker", || {
        let executor = executor(1);
        let panicked = executor.spawn(ID.scope(7, async { panic!("in a scoped task") }));
        assert!(executor.block_on(panicked).unwrap_err().is_panic());
        // The next task on the same worker sees no value.
        let next = executor.spawn(async { ID.try_with(|id| *id).is_err() });
        assert!(executor.block_on(next).unwrap());
    });
}

#[test]
fn with_outside_a_scope_is_an_access_error_and_panics() {
    assert_eq!(ID.try_with(|id| *id), Err(access_error()));
    assert_eq!(access_error().to_string(), "task-local value not set: not inside a scope of its key");
    let panic = panic::catch_unwind(|| ID.with(|id| *id)).unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"cannot access a task-local value outside of its scope"));
    assert!(panic::catch_unwind(|| ID.get()).is_err());
    // Inside a scope of another key, still unset.
    assert!(NAME.sync_scope("other key", || ID.try_with(|_| ()).is_err()));
}

#[test]
fn entering_a_scope_inside_with_of_the_same_key_panics_and_restores_the_slot() {
    let panic = panic::catch_unwind(|| ID.sync_scope(1, || ID.with(|_| ID.sync_scope(2, || ()))));
    let message = panic.unwrap_err().downcast_ref::<&str>().copied();
    assert_eq!(message, Some("cannot enter a task-local scope inside a `with` closure of the same key"));
    assert!(ID.try_with(|_| ()).is_err());
}

#[test]
fn the_value_is_dropped_with_its_future() {
    let drops = Arc::new(AtomicUsize::new(0));
    // Dropped unpolled.
    drop(COUNTED.scope(DropCounter(drops.clone()), async {}));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // Completed: the value stays in the future (the slot gets nothing) until the future drops.
    {
        let mut scoped = pin!(COUNTED.scope(DropCounter(drops.clone()), async {
            reactor::yield_now().await;
            COUNTED.with(|counted| Arc::strong_count(&counted.0))
        }));
        assert!(poll_once(scoped.as_mut()).is_pending());
        assert!(matches!(poll_once(scoped.as_mut()), Poll::Ready(count) if count >= 2));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(COUNTED.try_with(|_| ()).is_err());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    // Taken back after completion: the caller owns it, the future's drop leaves it alone.
    let mut scoped = pin!(COUNTED.scope(DropCounter(drops.clone()), async {}));
    assert!(poll_once(scoped.as_mut()).is_ready());
    let taken = scoped.as_mut().take_value();
    assert!(taken.is_some() && scoped.as_mut().take_value().is_none());
    drop(taken);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    // By an executor that shuts down with the task pending.
    within_watchdog("an executor dropped with a scoped task pending", move || {
        let executor = Builder::new().worker_threads(1).build(Parking::new()).unwrap();
        executor.spawn(COUNTED.scope(DropCounter(drops.clone()), std::future::pending::<()>())).detach();
        drop(executor);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn local_tasks_take_not_send_values() {
    reactor::task_local! {
        static SHARED: Rc<Cell<u32>>;
    }
    within_watchdog("a !Send task-local in spawn_local tasks", || {
        let executor = executor(1);
        let total = executor.block_on(async {
            let counter = Rc::new(Cell::new(0));
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let task = SHARED.scope(counter.clone(), async {
                        for _ in 0..10 {
                            SHARED.with(|shared| shared.set(shared.get() + 1));
                            reactor::yield_now().await;
                        }
                    });
                    reactor::spawn_local(task).unwrap()
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            counter.get()
        });
        assert_eq!(total, 40);
    });
}

#[test]
fn a_task_spawned_inside_a_scope_does_not_inherit_the_value() {
    within_watchdog("a child task spawned in a scope", || {
        let executor = executor(2);
        let inner = executor.clone();
        let (child, rebound) = executor.block_on(ID.scope(3, async move {
            let child = inner.spawn(async { ID.try_with(|id| *id).is_err() }).await.unwrap();
            let rebound = inner.spawn(ID.scope(ID.get(), async { ID.get() })).await.unwrap();
            (child, rebound)
        }));
        assert!(child, "a spawned task saw its parent's value");
        assert_eq!(rebound, 3);
    });
}

#[test]
fn a_sync_scope_around_block_on_is_seen_by_the_tasks_that_block_on_runs() {
    // Documented: everything polled inside the call sees it. No workers, so the block_on thread
    // runs the pool task.
    within_watchdog("sync_scope around a worker-less block_on", || {
        let executor = executor(0);
        let task = executor.spawn(async { ID.try_with(|id| *id) });
        assert_eq!(ID.sync_scope(9, || executor.block_on(task)).unwrap(), Ok(9));
    });
}
