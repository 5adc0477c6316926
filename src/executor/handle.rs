//! [`Handle`]: spawning onto an executor from anywhere, without owning it.

use std::fmt;
use std::future::Future;

use crate::executor::context;
use crate::executor::error::SpawnError;
use crate::executor::metrics::RuntimeMetrics;
use crate::executor::shared::Shared;
use crate::sync::Arc;
use crate::task::Task;

/// A cloneable, `Send + Sync` handle that spawns tasks onto an [`Executor`](crate::Executor).
///
/// Unlike the executor it does not keep the pool alive: once the executor is dropped,
/// [`spawn`](Self::spawn) returns tasks that are already cancelled and
/// [`try_spawn`](Self::try_spawn) returns an error.
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Executor, Handle};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// let handle = executor.handle();
/// let output = executor.block_on(async {
///     // Inside the executor, the ambient handle finds it without passing it around.
///     let handle = Handle::current().unwrap();
///     handle.spawn(async { 21 * 2 }).await.unwrap()
/// });
/// assert_eq!(output, 42);
///
/// drop(executor);
/// assert!(handle.try_spawn(async {}).is_err());
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(super) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the executor this thread runs tasks for (inside a task, a worker or
    /// `block_on`) or runs a [blocking job](crate::Executor::spawn_blocking) of, or `None`.
    pub fn current() -> Option<Self> {
        context::ambient_shared().map(|shared| Self { shared })
    }

    /// Spawns a task onto the executor (see [`Executor::spawn`](crate::Executor::spawn)). After shutdown the task is
    /// cancelled at once: awaiting it reports a cancelled [`JoinError`](crate::JoinError).
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, future)
    }

    /// Runs the blocking call `job` on the executor's blocking pool (see
    /// [`Executor::spawn_blocking`](crate::Executor::spawn_blocking)). After shutdown the job is cancelled at once: awaiting the
    /// task reports a cancelled [`JoinError`](crate::JoinError).
    pub fn spawn_blocking<F, T>(&self, job: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Shared::spawn_blocking(&self.shared, job)
    }

    /// A live view of the executor's runtime metrics (see
    /// [`Executor::metrics`](crate::Executor::metrics)); it stays readable after the executor
    /// is dropped, with the numbers it had.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics { shared: self.shared.clone() }
    }

    /// Spawns a task onto the executor, or hands the future back if it has shut down.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] with the unpolled future, if the executor has shut down.
    pub fn try_spawn<F>(&self, future: F) -> Result<Task<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.shared.is_shut_down() {
            return Err(SpawnError::new(future));
        }
        Ok(Shared::spawn(&self.shared, future))
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("shut_down", &self.shared.is_shut_down()).finish()
    }
}
