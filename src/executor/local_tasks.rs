//! `!Send` tasks spawned with `spawn_local`, run only by the `block_on` that owns them.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use concurrent_queue::ConcurrentQueue;

use crate::executor::active::ActiveTasks;
use crate::executor::shared::{Metadata, Runnable, Shared};
use crate::executor::signal::Signal;
use crate::sync::{seeded, Arc};
use crate::task::hooks::TaskKind;
use crate::task::{Abortable, Task};

/// The `!Send` tasks of one `block_on` call. They live as long as that call: when it returns,
/// the ones still pending are cancelled on its thread.
pub(crate) struct LocalTasks {
    /// Scheduled local tasks. Wakers may fire on any thread, so the queue is concurrent; the
    /// runnables are only ever run or dropped on the owning thread.
    queue: Arc<ConcurrentQueue<Runnable>>,
    signal: Arc<Signal>,
    /// The executor of the `block_on`, carried by every local task like by pool tasks (one task
    /// handle type for both).
    executor: Arc<Shared>,
    active: RefCell<ActiveTasks>,
    /// Local tasks whose future has not been dropped yet.
    live: Cell<usize>,
}

impl LocalTasks {
    pub(crate) fn new(signal: Arc<Signal>, executor: Arc<Shared>) -> Rc<Self> {
        Rc::new(Self {
            executor,
            queue: Arc::new(ConcurrentQueue::unbounded()),
            signal,
            active: RefCell::new(ActiveTasks::default()),
            live: Cell::new(0),
        })
    }

    /// Spawns `future` to run on this thread.
    pub(crate) fn spawn<F>(self: &Rc<Self>, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let slot = self.active.borrow().next_slot();
        let guard = LocalGuard { tasks: self.clone(), slot };
        self.live.set(self.live.get() + 1);
        // The guard is dropped after the spawned future, with the task's output.
        let future = move |meta: &Metadata| {
            let future = Abortable::new(future, meta);
            async move {
                let _guard = guard;
                future.await
            }
        };
        let queue = self.queue.clone();
        let signal = self.signal.clone();
        let schedule = move |runnable| {
            // The queue is never closed, so the push cannot fail and the runnable (whose future
            // may only be dropped on the owning thread) is never dropped here.
            let _ = queue.push(runnable);
            signal.notify();
        };
        let (runnable, task) = async_task::Builder::new()
            .metadata(Metadata::new(self.executor.clone(), TaskKind::Local))
            .spawn_local(future, schedule);
        self.active.borrow_mut().insert(runnable.waker());
        let waker = runnable.waker();
        runnable.schedule();
        Task::new(task, waker)
    }

    #[inline]
    pub(crate) fn pop(&self) -> Option<Runnable> {
        // `block_on` asks once per task it runs, and the queue is nearly always empty: checking
        // emptiness is a few loads where a failed `pop` of an unbounded queue costs ~60
        // instructions (callgrind, `reactor-bench --only yields reactor-1t 1`: 12% of the run).
        if self.queue.is_empty() {
            return None;
        }
        self.queue.pop().ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Drops every pending task's future, on this (the owning) thread, before returning.
    ///
    /// Every live task is woken, so each one's runnable comes to the queue, where it is dropped
    /// (which drops the future). A task that another thread is waking at this very moment is
    /// already marked scheduled, so the wake here does nothing and its runnable arrives only when
    /// that thread's schedule call pushes it: the loop waits for it rather than return and leave
    /// the future undropped for ever (nothing would ever pop that queue again).
    pub(crate) fn cancel_all(&self) {
        let wakers = self.active.borrow_mut().take_all();
        for waker in wakers {
            waker.wake();
        }
        loop {
            while let Some(runnable) = self.pop() {
                // A future whose `Drop` panics must not stop the others from being dropped.
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(runnable)));
            }
            if self.live.get() == 0 || seeded!(LocalExitSkipsInFlightWakes) {
                return;
            }
            self.signal.wait_until(&|| !self.queue.is_empty());
        }
    }
}

/// Removes a local task from the live registry when its future completes or is dropped.
struct LocalGuard {
    tasks: Rc<LocalTasks>,
    slot: usize,
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        self.tasks.live.set(self.tasks.live.get() - 1);
        self.tasks.active.borrow_mut().remove(self.slot);
    }
}
