//! Tasks: handles to await a task's output, abort it or detach it; task ids; [`TaskSet`].
//!
//! # Aborting, compared with tokio
//!
//! [`Task::abort`] (and [`AbortHandle::abort`]) behave like tokio's `JoinHandle::abort`: the
//! task never runs its future again, awaiting the handle gives a [`JoinError`] whose
//! [`is_cancelled`](JoinError::is_cancelled) is true, unless the task had already completed
//! (then its output). When the future is dropped:
//!
//! - an idle or queued task: the next time it runs. `abort` wakes it, so that is soon, on a
//!   thread of its executor (a local task: on the thread of its `block_on`), but *not* before
//!   `abort` returns. tokio does the same (the future is dropped by the runtime, not by
//!   `abort`); await the handle to know the drop has happened;
//! - a task being polled on another thread, or one that aborts itself: that poll goes on to
//!   its end; the abort's wake-up has the task run once more, and that run drops the future
//!   without polling it;
//! - a [blocking job](crate::Executor::spawn_blocking): aborted before it starts, it never
//!   runs; once running it runs to its end and its output is delivered (as in tokio).
//!
//! A poll that completes the task while an abort lands delivers the output, as in tokio.
//!
//! [`Task::id`] and [`id`]/[`try_id`] match tokio's `task::Id`, `task::id()` and
//! `task::try_id()`: unique among the tasks of the process, never reused.

mod abort;
pub(crate) mod hooks;
mod id;
#[cfg(reactor_loom)]
mod loom_handoff;
mod set;

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

pub use abort::AbortHandle;
pub(crate) use abort::{Abortable, Header};
pub use hooks::{TaskKind, TaskMeta};
pub use id::{id, try_id, TaskId};
pub use set::TaskSet;

use crate::executor::Metadata;

/// The payload of a panic, as [`std::panic::catch_unwind`] returns it.
pub(crate) type PanicPayload = Box<dyn Any + Send + 'static>;

/// What a spawned future's task yields: its output, the panic that ended it, or that it was
/// aborted. The first two are [`Unclaimed`]: either may have a `Drop` that panics (a panic
/// payload is any value given to `panic_any`).
pub(crate) enum TaskOutput<T> {
    Output(Unclaimed<T>),
    Panic(Unclaimed<PanicPayload>),
    Aborted,
}

/// A task's output or panic payload while async-task holds it. Nobody may claim it: a detached
/// task's result, or one whose handle was dropped after completion, is dropped by async-task
/// inside its abort-on-panic guard, so a panicking `Drop` of the output or of the payload would
/// abort the process. Dropped unclaimed, this contains that panic instead (the panic hook has
/// reported it, as for any panic); claimed through a [`Task`], the value is returned as is.
pub(crate) struct Unclaimed<T>(Option<T>);

impl<T> Unclaimed<T> {
    fn claim(mut self) -> T {
        self.0.take().expect("an output is claimed once, by the value that owns it")
    }
}

impl<T> Drop for Unclaimed<T> {
    fn drop(&mut self) {
        if let Some(output) = self.0.take() {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(output)));
        }
    }
}

/// A handle to a spawned task.
///
/// Awaiting it gives the task's output, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it cancels the task (its future is dropped the next time it would run);
/// [`detach`](Self::detach) lets the task run to completion unobserved instead, and
/// [`abort`](Self::abort) cancels it while keeping the handle to await.
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Executor};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// let task = executor.spawn(async { 1 + 2 });
/// assert_eq!(executor.block_on(task).unwrap(), 3);
///
/// let failing = executor.spawn(async { panic!("boom") });
/// # let _silence = std::panic::take_hook();
/// # std::panic::set_hook(Box::new(|_| {}));
/// let error = executor.block_on(failing).unwrap_err();
/// assert!(error.is_panic());
///
/// let sleeper = executor.spawn(std::future::pending::<()>());
/// sleeper.abort();
/// assert!(executor.block_on(sleeper).unwrap_err().is_cancelled());
/// ```
#[must_use = "dropping a task cancels it; use `detach` to let it run"]
pub struct Task<T> {
    task: async_task::FallibleTask<TaskOutput<T>, Metadata>,
    abort: AbortHandle,
    /// Makes the hand-off of the awaiter's waker visible to loom (model build only; see
    /// `loom_handoff`).
    #[cfg(reactor_loom)]
    handoff: std::sync::Arc<crate::sync::Mutex<()>>,
}

impl<T> Task<T> {
    /// `waker` is a waker of the task (its runnable's).
    pub(crate) fn new(task: async_task::Task<TaskOutput<T>, Metadata>, waker: Waker) -> Self {
        let abort = AbortHandle::new(&task.metadata().header, waker);
        Self {
            task: task.fallible(),
            abort,
            #[cfg(reactor_loom)]
            handoff: std::sync::Arc::new(crate::sync::Mutex::new(())),
        }
    }

    /// Lets the task run to completion without anyone awaiting it; its output is dropped.
    pub fn detach(self) {
        self.task.detach();
    }

    /// Cancels the task and waits until its future has been dropped.
    ///
    /// Returns the output if the task had already completed, `None` otherwise.
    pub async fn cancel(self) -> Option<Result<T, JoinError>> {
        let id = self.id();
        self.task.cancel().await.map(|output| output.into_result(id))
    }

    /// Aborts the task: its future is never polled again, and awaiting this handle gives a
    /// [`JoinError`] whose [`is_cancelled`](JoinError::is_cancelled) is true, or the output if
    /// the task had already completed (as tokio's `JoinHandle::abort`). Aborting twice, or a
    /// finished task, does nothing.
    ///
    /// The future is dropped the next time the task runs, instead of being polled: `abort`
    /// wakes the task for that, but does not wait for it (a poll already running on another
    /// thread goes on to its end; the module docs compare this with tokio). Await the handle to
    /// know the drop has happened.
    pub fn abort(&self) {
        self.abort.abort();
    }

    /// A handle that aborts this task from anywhere, without owning this handle.
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.abort.id()
    }

    /// Whether the task has finished: completed, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> TaskOutput<T> {
    fn into_result(self, id: TaskId) -> Result<T, JoinError> {
        match self {
            Self::Output(output) => Ok(output.claim()),
            Self::Panic(payload) => Err(JoinError { panic: Some(payload.claim()), id }),
            Self::Aborted => Err(JoinError { panic: None, id }),
        }
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id();
        #[cfg(reactor_loom)]
        let handoff = self.handoff.clone();
        #[cfg(reactor_loom)]
        let (relay, _held) = loom_handoff::relay(&handoff, cx.waker());
        #[cfg(reactor_loom)]
        let cx = &mut Context::from_waker(&relay);
        Pin::new(&mut self.task).poll(cx).map(|output| match output {
            Some(output) => output.into_result(id),
            None => Err(JoinError { panic: None, id }),
        })
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).field("finished", &self.is_finished()).finish()
    }
}

/// Why a [`Task`] gave no output: it panicked, or it was cancelled (aborted, or its executor
/// shut down before it completed).
pub struct JoinError {
    panic: Option<PanicPayload>,
    id: TaskId,
}

impl JoinError {
    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// Whether the task was cancelled before it completed.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The id of the task that failed.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload, to inspect or to [`resume_unwind`](std::panic::resume_unwind) with.
    ///
    /// # Errors
    ///
    /// Hands the error back if the task was cancelled rather than panicked.
    pub fn try_into_panic(self) -> Result<PanicPayload, Self> {
        match self.panic {
            Some(payload) => Ok(payload),
            None => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        let payload = self.panic.as_ref()?;
        payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id;
        match (self.is_panic(), self.panic_message()) {
            (true, Some(message)) => write!(f, "JoinError::Panic({id}, {message:?})"),
            (true, None) => write!(f, "JoinError::Panic({id}, ..)"),
            (false, _) => write!(f, "JoinError::Cancelled({id})"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id;
        match (self.is_panic(), self.panic_message()) {
            (true, Some(message)) => write!(f, "task {id} panicked: {message}"),
            (true, None) => write!(f, "task {id} panicked"),
            (false, _) => write!(f, "task {id} was cancelled"),
        }
    }
}

impl Error for JoinError {}

/// Runs a future, turning a panic inside `poll` into an `Err` output so that the worker thread
/// polling it survives and the task's handle reports the panic.
pub(crate) struct CatchUnwind<F> {
    future: F,
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = TaskOutput<F::Output>;

    // Always: it is the whole of a task's poll but for the spawned future; out of line it is one
    // more call with its register saves per task run.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, `CatchUnwind`
        // has no `Drop` impl and is `Unpin` only when `F` is.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll.map(|output| TaskOutput::Output(Unclaimed(Some(output)))),
            Err(payload) => Poll::Ready(TaskOutput::Panic(Unclaimed(Some(payload)))),
        }
    }
}
