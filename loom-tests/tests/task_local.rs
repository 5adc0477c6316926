//! Task-local values in the model build: a scoped task woken from another thread may be polled
//! by the worker or by the `block_on` thread (which runs a scope of the same key in its own main
//! future), and at every poll each future sees its own value.
//!
//! There is no cross-thread protocol to check here (the slot is a thread-local, and the value
//! moves between threads only inside its task, through the executor's queues). What this model
//! checks is the model build itself: `task_local!` expands to a *loom* thread-local there, as it
//! must, since loom runs all its threads on one OS thread, where a std thread-local would be
//! shared by the worker and the `block_on` thread and a preemption inside one's poll would show
//! it the other's value. The seeded bug `TaskLocalStdSlot` puts the slots in a std thread-local,
//! and the model catches it.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::Parking;
use reactor::Builder;
use reactor_loom::{assert_loom_catches, model, Gate};

reactor::task_local! {
    static KEY: usize;
}

/// The worker and the `block_on` thread both poll scopes of `KEY`; a task's poll may be
/// preempted in the middle, with its value in the slot.
fn scoped_task_beside_a_scoped_block_on() {
    model(|| {
        let executor = Builder::new().worker_threads(1).build(Parking::new()).unwrap();
        let (woken, finished) = (Gate::default(), Gate::default());
        // Polls of the task that saw a value other than its own.
        let wrong = Arc::new(AtomicUsize::new(0));
        executor
            .spawn({
                let (woken, finished, wrong) = (woken.clone(), finished.clone(), wrong.clone());
                KEY.scope(1, async move {
                    let before = KEY.get();
                    woken.await; // woken from the opener's thread
                    if before != 1 || KEY.get() != 1 {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    finished.open();
                })
            })
            .detach();
        let opener = thread::spawn(move || woken.open());
        let main = executor.block_on(KEY.scope(2, async move {
            let before = KEY.get();
            finished.await;
            (before, KEY.get())
        }));
        opener.join().unwrap();
        drop(executor); // joins the worker: its writes to `wrong` are visible
        assert_eq!(main, (2, 2));
        assert_eq!(wrong.load(Ordering::Relaxed), 0, "the task saw another future's value");
        assert!(KEY.try_with(|_| ()).is_err(), "a value was left on the block_on thread");
    });
}

#[test]
fn a_scoped_task_sees_its_own_value_on_whichever_thread_polls_it() {
    scoped_task_beside_a_scoped_block_on();
}

#[test]
fn negative_control_a_slot_shared_by_threads_is_caught() {
    // The block_on thread's main future finds its value gone after the worker's poll swapped
    // the shared slot under it.
    assert_loom_catches(
        "seeded_a_slot_shared_by_threads",
        "cannot access a task-local value outside of its scope",
    );
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_a_slot_shared_by_threads() {
    seeded_bug::with(Bug::TaskLocalStdSlot, scoped_task_beside_a_scoped_block_on);
}
