//! [`TaskSet`]: a set of tasks awaited in the order they complete (tokio's `JoinSet`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::executor::NoExecutorError;
use crate::sync::{seeded, Arc, Mutex};
use crate::task::{AbortHandle, JoinError, Task, TaskId};
use crate::Handle;

/// A set of spawned tasks, awaited in the order they complete; dropping it aborts them all.
///
/// Compared with tokio's `JoinSet`:
///
/// - [`spawn`](Self::spawn) returns an error instead of panicking outside an executor;
///   there is no `spawn_local` or `spawn_blocking` into a set (yet);
/// - [`join_next`](Self::join_next) gives tasks in the order their completion was noticed:
///   tasks that completed before the set first looked at them come in spawn order;
/// - the set is `Send` when `T` is; aborting ([`abort_all`](Self::abort_all), the drop) has
///   the semantics of [`Task::abort`].
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Executor, TaskSet};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// let sum = executor.block_on(async {
///     let mut set = TaskSet::new();
///     for i in 0..10u32 {
///         set.spawn(async move { i }).unwrap();
///     }
///     let mut sum = 0;
///     while let Some(output) = set.join_next().await {
///         sum += output.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
pub struct TaskSet<T> {
    /// Each task with the waker its handle is polled with, which queues its id in `ready`.
    tasks: HashMap<TaskId, (Task<T>, Waker)>,
    ready: Arc<Ready>,
}

/// The ids of the tasks to look at, and the waker of the `join_next` waiting for one. One lock
/// for both: a task's wake and a `join_next` finding nothing are ordered, so neither is lost.
#[derive(Default)]
struct Ready {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    ids: VecDeque<TaskId>,
    waker: Option<Waker>,
}

impl Ready {
    fn push(&self, id: TaskId) -> Option<Waker> {
        let mut inner = self.inner.lock();
        inner.ids.push_back(id);
        inner.waker.take()
    }
}

/// The waker a set's task handle is polled with: it queues the task's id and wakes `join_next`.
struct Notify {
    id: TaskId,
    ready: Arc<Ready>,
}

impl Wake for Notify {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // Woken outside the lock: the waker may run arbitrary code.
        if let Some(waker) = self.ready.push(self.id) {
            waker.wake();
        }
    }
}

impl<T> TaskSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self { tasks: HashMap::new(), ready: Arc::new(Ready::default()) }
    }

    /// How many tasks the set holds (finished ones not yet returned by `join_next` included).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Adds a task spawned elsewhere to the set.
    fn insert(&mut self, task: Task<T>) -> AbortHandle {
        let id = task.id();
        let handle = task.abort_handle();
        let waker = Waker::from(std::sync::Arc::new(Notify { id, ready: self.ready.clone() }));
        // Looked at by the next `join_next`, which registers the waker through the handle.
        drop(self.ready.push(id));
        self.tasks.insert(id, (task, waker));
        handle
    }

    /// Aborts every task of the set (see [`Task::abort`]); they stay in the set, and
    /// [`join_next`](Self::join_next) returns each one's cancellation (or output, if it had
    /// completed).
    pub fn abort_all(&mut self) {
        for (task, _) in self.tasks.values() {
            task.abort();
        }
    }

    /// Removes every task from the set, letting each run to completion unobserved.
    pub fn detach_all(&mut self) {
        for (_, (task, _)) in self.tasks.drain() {
            task.detach();
        }
        self.ready.inner.lock().ids.clear();
    }

    /// Waits for the next task of the set to finish and returns its result, or `None` if the
    /// set is empty. Cancel-safe: dropping the future loses no result.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The polling form of [`join_next`](Self::join_next): `Ready(None)` if the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let id = {
                let mut inner = self.ready.inner.lock();
                match inner.ids.pop_front() {
                    Some(id) => id,
                    None if seeded!(TaskSetRegistersAfterCheck) => {
                        drop(inner);
                        self.ready.inner.lock().waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    None => {
                        match &inner.waker {
                            Some(waker) if waker.will_wake(cx.waker()) => {}
                            _ => inner.waker = Some(cx.waker().clone()),
                        }
                        return Poll::Pending;
                    }
                }
            };
            // An id queued twice, or of a task already returned: nothing to look at.
            let Some((task, waker)) = self.tasks.get_mut(&id) else { continue };
            if let Poll::Ready(result) = Pin::new(task).poll(&mut Context::from_waker(waker)) {
                self.tasks.remove(&id);
                return Poll::Ready(Some(result));
            }
        }
    }

    /// Aborts every task and waits until each has finished (its future dropped, or completed),
    /// discarding the results.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: Send + 'static> TaskSet<T> {
    /// Spawns `future` onto the executor this thread runs (see [`Handle::current`]) into the
    /// set, and returns a handle that aborts it.
    ///
    /// # Errors
    ///
    /// [`NoExecutorError`] with the future, if this thread runs no executor.
    pub fn spawn<F>(&mut self, future: F) -> Result<AbortHandle, NoExecutorError<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        match Handle::current() {
            Some(handle) => Ok(self.spawn_on(future, &handle)),
            None => Err(NoExecutorError::new(future)),
        }
    }

    /// Spawns `future` onto the executor of `handle` into the set, and returns a handle that
    /// aborts it. After that executor shut down, the task is cancelled at once (as with
    /// [`Handle::spawn`]).
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }
}

impl<T> Default for TaskSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for TaskSet<T> {
    /// Aborts every task still in the set (their futures are dropped as [`Task::abort`] says).
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("len", &self.len()).finish()
    }
}
