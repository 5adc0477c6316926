//! Tasks: handles to await a task's output, abort it or detach it; task ids; [`TaskSet`].
//!
//! # Aborting, compared with tokio
//!
//! [`Task::abort`] (and [`AbortHandle::abort`]) behave like tokio's `JoinHandle::abort`: the
//! task never runs its future again, awaiting the handle gives a [`JoinError`] whose
//! [`is_cancelled`](JoinError::is_cancelled) is true, unless the task had already completed
//! (then its output). When the future is dropped:
//!
//! - a task being polled on another thread: as soon as that poll returns, on that thread;
//! - an idle or queued task: the next time it runs. `abort` wakes it, so that is soon, on a
//!   thread of its executor (a local task: on the thread of its `block_on`), but *not* before
//!   `abort` returns. tokio does the same (the future is dropped by the runtime, not by
//!   `abort`); await the handle to know the drop has happened;
//! - a task that aborts itself: when its current poll returns;
//! - a [blocking job](crate::Executor::spawn_blocking): aborted before it starts, it never
//!   runs; once running it runs to its end and its output is delivered (as in tokio).
//!
//! A poll that completes the task while an abort lands delivers the output, as in tokio.
//!
//! [`Task::id`] and [`id`]/[`try_id`] match tokio's `task::Id`, `task::id()` and
//! `task::try_id()`: unique among the tasks of the process, never reused.

use std::any::Any;
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use crate::executor::Metadata;
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::sync::{seeded, thread_local};

pub use crate::task_set::TaskSet;

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

/// A task's id: unique among all the tasks of the process (pool, local and blocking), never
/// reused. Shown in a [`JoinError`]; [`id`] gives the current task's from inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    fn next() -> Self {
        // A plain std counter, not the loom shim's: it only hands out distinct numbers and
        // synchronises nothing (Relaxed suffices: each `fetch_add` alone is atomic), and loom
        // atomics cannot live in a static shared by every model run.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // 2^64 spawns do not happen; wrapping to zero would need centuries at a spawn per ns.
        Self(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

thread_local! {
    /// The task this thread is polling, if any.
    static CURRENT: Cell<Option<TaskId>> = const { Cell::new(None) };
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Outside a task (in a `block_on`'s own future, say, which is no task): use [`try_id`] there.
pub fn id() -> TaskId {
    try_id().expect("reactor::task::id() called outside a task; use try_id()")
}

/// The id of the task being polled on this thread (its future's `poll` or `Drop`), or `None`
/// outside a task (a `block_on`'s own future is none).
pub fn try_id() -> Option<TaskId> {
    CURRENT.with(Cell::get)
}

/// Marks the thread as polling task `id` until dropped (restoring the task polled before, if
/// tasks nest: a `block_on` inside a blocking job, say).
struct Entered(Option<TaskId>);

impl Entered {
    fn new(id: TaskId) -> Self {
        Self(CURRENT.with(|current| current.replace(Some(id))))
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

/// Set while the task's future is being polled.
const POLLING: u8 = 1;
/// Set by `abort`: the future is never polled again.
const ABORTED: u8 = 2;
/// Set once the future has completed (or been dropped by an abort).
const DONE: u8 = 4;

/// What every task carries in its header, beside its executor: its id and abort state.
pub(crate) struct Header {
    id: TaskId,
    /// `POLLING | ABORTED | DONE`. Every access is a read-modify-write, so each sees the latest
    /// value: an abort is ordered before or after each edge of a poll, whatever the thread.
    state: AtomicU8,
}

impl Header {
    pub(crate) fn new() -> Self {
        Self { id: TaskId::next(), state: AtomicU8::new(0) }
    }

    /// Marks the task aborted; whether the caller must wake it so that its next poll drops the
    /// future (not if it completed or was aborted already, nor if it is being polled: that poll
    /// sees the flag as it ends).
    fn abort(&self) -> bool {
        // AcqRel: the flag must be seen by the poll that checks it (a read-modify-write there
        // reads the latest value); nothing else is published through it.
        let before = self.state.fetch_or(ABORTED, Ordering::AcqRel);
        if before & (ABORTED | DONE) != 0 {
            return false;
        }
        before & POLLING == 0
    }
}

/// A spawned future as its task runs it: panics caught, never polled once aborted, and the
/// task's id current while it is polled or dropped.
pub(crate) struct Abortable<F> {
    /// Dropped in place (it is pinned) once `live` is false.
    future: ManuallyDrop<CatchUnwind<F>>,
    live: bool,
    /// The task's header, in its metadata (see `new`).
    header: NonNull<Header>,
}

// SAFETY: the header is only read through `&Header`, which is `Sync` (an id and an atomic); the
// future moves with `Abortable` only when `F: Send`.
unsafe impl<F: Send> Send for Abortable<F> {}

impl<F> Abortable<F> {
    /// Wraps `future` for the task whose header is `header`.
    ///
    /// `header` must live in the metadata of the task that owns this future: async-task drops
    /// a task's future (on completion or cancellation) before its metadata (when the last
    /// reference to the task goes), so the header outlives every use here.
    pub(crate) fn new(future: F, header: &Header) -> Self {
        Self {
            future: ManuallyDrop::new(CatchUnwind::new(future)),
            live: true,
            header: NonNull::from(header),
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: see `new`: the header outlives the future.
        unsafe { self.header.as_ref() }
    }

    /// Drops the future now, containing a panic of its `Drop`: the task completes as aborted
    /// either way.
    fn drop_future(&mut self) {
        if std::mem::replace(&mut self.live, false) {
            // SAFETY: `live` was true, so the future has not been dropped; it is dropped in
            // place, where it is pinned, and `live` keeps it from being dropped again.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(&mut self.future) }));
        }
    }
}

impl<F> Drop for Abortable<F> {
    fn drop(&mut self) {
        if self.live {
            let _entered = Entered::new(self.header().id);
            // SAFETY: `live`: not dropped yet; this is the last use of it.
            unsafe { ManuallyDrop::drop(&mut self.future) }
        }
        // After the future's drop (also when async-task drops the future itself: a cancelled
        // task's, at shutdown, say): an `AbortHandle` then reports the task finished. AcqRel:
        // see `Header::state`.
        self.header().state.fetch_or(DONE, Ordering::AcqRel);
    }
}

impl<F: Future> Future for Abortable<F> {
    type Output = TaskOutput<F::Output>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, only
        // dropped in place; `Abortable` is `Unpin` only when `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = Entered::new(this.header().id);
        // AcqRel: read-modify-writes, see `Header::state`.
        let before = this.header().state.fetch_or(POLLING, Ordering::AcqRel);
        if before & ABORTED != 0 || !this.live {
            this.drop_future();
            this.header().state.fetch_or(DONE, Ordering::AcqRel);
            return Poll::Ready(TaskOutput::Aborted);
        }
        // SAFETY: see above: the future stays where it is and is live.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        match future.poll(cx) {
            Poll::Ready(output) => {
                this.header().state.fetch_or(DONE, Ordering::AcqRel);
                Poll::Ready(output)
            }
            Poll::Pending => {
                if seeded!(AbortMissesRunningPoll) {
                    this.header().state.fetch_and(!POLLING, Ordering::AcqRel);
                    return Poll::Pending;
                }
                let before = this.header().state.fetch_and(!POLLING, Ordering::AcqRel);
                if before & ABORTED == 0 {
                    return Poll::Pending;
                }
                // Aborted during the poll: `abort` did not wake the task, it relies on this.
                this.drop_future();
                this.header().state.fetch_or(DONE, Ordering::AcqRel);
                Poll::Ready(TaskOutput::Aborted)
            }
        }
    }
}

/// A handle that aborts a task, without awaiting it: cloneable, `Send + Sync`, from
/// [`Task::abort_handle`] (tokio's `AbortHandle`).
#[derive(Clone)]
pub struct AbortHandle {
    header: NonNull<Header>,
    /// A waker of the task: wakes it so that its next poll drops the future, and holds a
    /// reference to it, which keeps its header alive.
    waker: Waker,
}

// SAFETY: `header` is only read as `&Header` (`Sync`), kept alive by `waker` (`Send + Sync`).
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    fn header(&self) -> &Header {
        // SAFETY: the header is in the task's metadata, which lives as long as any reference to
        // the task, and `waker` is one.
        unsafe { self.header.as_ref() }
    }

    /// Aborts the task: see [`Task::abort`].
    pub fn abort(&self) {
        if self.header().abort() {
            self.waker.wake_by_ref();
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// Whether the task has finished: its future completed, or was dropped (aborted, or
    /// cancelled by dropping its `Task` or by shutdown).
    pub fn is_finished(&self) -> bool {
        // AcqRel: a read-modify-write like every access of the state (see `Header::state`).
        self.header().state.fetch_or(0, Ordering::AcqRel) & DONE != 0
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id()).finish()
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
        let abort = AbortHandle { header: NonNull::from(&task.metadata().header), waker };
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
    /// The future is dropped as soon as the poll running it on another thread returns, or, if
    /// the task is idle, the next time it runs: `abort` wakes it, but does not wait for it (the
    /// module docs compare this with tokio). Await the handle to know the drop has happened.
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
