//! Task handles: awaiting a task's output, cancelling it, detaching it.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::executor::Metadata;

/// The payload of a panic, as [`std::panic::catch_unwind`] returns it.
pub(crate) type PanicPayload = Box<dyn Any + Send + 'static>;

/// What a spawned future's task yields: its output, or the panic that ended it. Both are
/// [`Unclaimed`]: either may have a `Drop` that panics (a panic payload is any value given to
/// `panic_any`).
pub(crate) type TaskOutput<T> = Result<Unclaimed<T>, Unclaimed<PanicPayload>>;

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
/// Dropping it cancels the task (its future is dropped the next time it would run, or at once if
/// it is idle); [`detach`](Self::detach) lets the task run to completion unobserved instead.
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
/// ```
#[must_use = "dropping a task cancels it; use `detach` to let it run"]
pub struct Task<T> {
    task: async_task::FallibleTask<TaskOutput<T>, Metadata>,
    /// Makes the hand-off of the awaiter's waker visible to loom (model build only; see
    /// `loom_handoff`).
    #[cfg(reactor_loom)]
    handoff: std::sync::Arc<crate::sync::Mutex<()>>,
}

impl<T> Task<T> {
    pub(crate) fn new(task: async_task::Task<TaskOutput<T>, Metadata>) -> Self {
        Self {
            task: task.fallible(),
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
        self.task.cancel().await.map(|output| output.map(Unclaimed::claim).map_err(JoinError::unclaimed))
    }

    /// Whether the task has finished: completed, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        #[cfg(reactor_loom)]
        let handoff = self.handoff.clone();
        #[cfg(reactor_loom)]
        let (relay, _held) = loom_handoff::relay(&handoff, cx.waker());
        #[cfg(reactor_loom)]
        let cx = &mut Context::from_waker(&relay);
        Pin::new(&mut self.task).poll(cx).map(|output| match output {
            Some(Ok(output)) => Ok(output.claim()),
            Some(Err(payload)) => Err(JoinError::unclaimed(payload)),
            None => Err(JoinError { panic: None }),
        })
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("finished", &self.is_finished()).finish()
    }
}

/// Why a [`Task`] gave no output: it panicked, or it was cancelled (its executor shut down
/// before it completed).
pub struct JoinError {
    panic: Option<PanicPayload>,
}

impl JoinError {
    fn unclaimed(payload: Unclaimed<PanicPayload>) -> Self {
        Self { panic: Some(payload.claim()) }
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// Whether the task was cancelled before it completed.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
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
        match (self.is_panic(), self.panic_message()) {
            (true, Some(message)) => write!(f, "JoinError::Panic({message:?})"),
            (true, None) => f.write_str("JoinError::Panic(..)"),
            (false, _) => f.write_str("JoinError::Cancelled"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_panic(), self.panic_message()) {
            (true, Some(message)) => write!(f, "task panicked: {message}"),
            (true, None) => f.write_str("task panicked"),
            (false, _) => f.write_str("task was cancelled"),
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
            Ok(poll) => poll.map(|output| Ok(Unclaimed(Some(output)))),
            Err(payload) => Poll::Ready(Err(Unclaimed(Some(payload)))),
        }
    }
}

/// The model build's view of a task's completion waking its awaiter.
///
/// Awaiting a task hands the awaiter's waker to the thread that completes the task through
/// async-task's state word, whose atomics loom cannot see; that thread's wake then touches the
/// awaiter's state (its `block_on` signal, say) with no happens-before loom knows of, which loom
/// reports as a causality violation that cannot happen. So in the model build the awaiter
/// registers a relay instead, while holding the task's hand-off lock, and the relay takes the
/// same lock before it wakes: a loom-visible release/acquire in the order the registration and
/// the wake really happen.
#[cfg(reactor_loom)]
mod loom_handoff {
    use std::cell::Cell;
    use std::sync::Arc;
    use std::task::Waker;

    use crate::sync::{thread_local, Mutex, MutexGuard};

    thread_local! {
        /// Whether this thread holds a hand-off lock: async-task may wake an older awaiter from
        /// inside the poll that registers a new one, and that wake is already ordered after the
        /// registration by program order.
        static HOLDING: Cell<bool> = const { Cell::new(false) };
    }

    /// The hand-off lock, held while the relay is registered.
    pub(super) struct Held<'a> {
        _guard: MutexGuard<'a, ()>,
    }

    impl Drop for Held<'_> {
        fn drop(&mut self) {
            HOLDING.with(|holding| holding.set(false));
        }
    }

    struct Relay {
        handoff: Arc<Mutex<()>>,
        waker: Waker,
    }

    impl std::task::Wake for Relay {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            if !HOLDING.with(Cell::get) {
                drop(self.handoff.lock());
            }
            self.waker.wake_by_ref();
        }
    }

    /// A relay of `waker`, and the hand-off lock to hold while it is registered.
    pub(super) fn relay<'a>(handoff: &'a Arc<Mutex<()>>, waker: &Waker) -> (Waker, Held<'a>) {
        let relay = Waker::from(Arc::new(Relay { handoff: handoff.clone(), waker: waker.clone() }));
        let guard = handoff.lock();
        HOLDING.with(|holding| holding.set(true));
        (relay, Held { _guard: guard })
    }
}
