//! State shared by every thread of one executor: queues, sleepers, the event source; and the
//! path of a task from `spawn` to a run queue. How idle threads sleep is in `sleep.rs`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use async_task::ScheduleInfo;
use event_listener::{Event, Listener};

use crate::executor::active::{ActiveEntry, ActiveShards};
use crate::executor::blocking::{BlockingPool, PoolConfig};
use crate::executor::context::{self, RunQueue};
use crate::executor::error::{OnSourceError, SourceError};
use crate::executor::injector::Injector;
use crate::executor::local_queue::Stealer;
use crate::executor::metrics::TimerGauge;
use crate::executor::recorder::Counters;
use crate::executor::sleep::Sleepers;
use crate::source::EventSource;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{seeded, Arc, Mutex};
use crate::task::hooks::{TaskHooks, TaskKind};
use crate::task::{Abortable, Header, Task, TaskOutput};

/// What every task of an executor carries: the executor, and the task's id and abort state.
/// Its schedule function reads the executor from here rather than capturing it, which keeps
/// that function zero-sized; async-task then skips the waker it otherwise clones and drops
/// around every schedule call (two atomic operations on the task per wake-up, 8% of the time of
/// a task that only yields).
pub(crate) struct Metadata {
    pub(crate) shared: Arc<Shared>,
    pub(crate) header: Header,
}

impl Metadata {
    /// The metadata of a new task of kind `kind` (which runs the executor's spawn hook).
    #[inline]
    pub(crate) fn new(shared: Arc<Shared>, kind: TaskKind) -> Self {
        let header = Header::new(kind, shared.task_hooks.as_deref());
        Self { shared, header }
    }
}

impl std::ops::Deref for Metadata {
    type Target = Arc<Shared>;

    fn deref(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// A task of an executor, ready to run.
pub(crate) type Runnable = async_task::Runnable<Metadata>;

/// Everything the threads of one executor share.
pub(crate) struct Shared {
    /// The source idle threads block in (a passive user source is already composed with
    /// `Parking` here).
    pub(crate) source: std::sync::Arc<dyn EventSource>,
    /// Tasks scheduled from outside a worker, and local-queue overflow.
    pub(crate) injector: Injector,
    /// One stealer per local queue: the workers', then the one a `block_on` thread borrows.
    /// Empty without workers: the queue a `block_on` thread borrows is then a plain one.
    pub(crate) stealers: Box<[Stealer<Runnable>]>,
    /// The idle threads, the poll token and the back-off (see `sleep.rs`).
    pub(crate) sleepers: Sleepers,
    /// Set once by shutdown; from then on scheduled runnables are dropped, not run.
    pub(crate) shutdown: AtomicBool,
    /// Live tasks, to cancel at shutdown (and to count them, for the metrics).
    pub(crate) active: ActiveShards,
    /// Notified when a shard of `active` empties, so possibly the last live task finished
    /// (for `shutdown_timeout`, which checks).
    pub(crate) all_done: Event,
    /// The run queue a `block_on` thread (or a host's turn) borrows while it runs: stealable
    /// (its stealer is the last one) if the executor has workers, plain otherwise.
    pub(crate) spare_queue: Mutex<Option<RunQueue>>,
    /// Told about every failed wait of the source; decides whether to go on.
    pub(crate) on_source_error: ErrorHook,
    /// The threads that run `spawn_blocking` jobs.
    pub(crate) blocking: BlockingPool,
    /// Whether the source runs on paused time, which moves when every thread is idle (see
    /// `paused_time.rs`).
    pub(crate) pauses_time: bool,
    /// The task hooks every task runs, `None` if none was set.
    pub(crate) task_hooks: Option<std::sync::Arc<TaskHooks>>,
    /// The runtime metrics' counters (see `recorder.rs`).
    pub(crate) metrics: Counters,
    /// How the metrics count pending timers, if the runtime told the builder.
    pub(crate) timers_pending: Option<TimerGauge>,
}

/// What the executor does with an error from its source's wait.
pub(crate) type ErrorHook = Box<dyn Fn(&SourceError<'_>) -> OnSourceError + Send + Sync>;

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("queues", &self.stealers.len())
            .field("injected", &self.injector.len())
            .field("shutdown", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(
        source: std::sync::Arc<dyn EventSource>,
        stealers: Box<[Stealer<Runnable>]>,
        spare_queue: RunQueue,
        on_source_error: ErrorHook,
        blocking: PoolConfig,
        task_hooks: Option<std::sync::Arc<TaskHooks>>,
        timers_pending: Option<TimerGauge>,
    ) -> Self {
        Self {
            task_hooks,
            // One slot per worker (the stealers are the workers' queues and the spare one).
            metrics: Counters::new(stealers.len().saturating_sub(1)),
            timers_pending,
            blocking: BlockingPool::new(blocking),
            spare_queue: Mutex::new(Some(spare_queue)),
            on_source_error,
            pauses_time: source.pauses_time(),
            source,
            injector: Injector::new(),
            active: ActiveShards::new(stealers.len().max(1)),
            stealers,
            sleepers: Sleepers::new(),
            shutdown: AtomicBool::new(false),
            all_done: Event::new(),
        }
    }

    /// Spawns `future` as a task of this executor and schedules it.
    pub(crate) fn spawn<F>(this: &Arc<Self>, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // The future is made from the task's own metadata, whose `Arc` its guard borrows.
        let tracked = move |meta: &Metadata| Tracked {
            future: Abortable::new(future, meta),
            guard: ActiveGuard::new(meta),
            #[cfg(reactor_loom)]
            handoff: Mutex::new(()),
        };
        let (runnable, task) = async_task::Builder::new()
            .metadata(Metadata::new(this.clone(), TaskKind::Pool))
            .spawn(tracked, async_task::WithInfo(schedule));
        let waker = runnable.waker();
        runnable.schedule();
        Task::new(task, waker)
    }

    /// Spawns `job` onto the blocking pool (see [`Executor::spawn_blocking`](crate::Executor::spawn_blocking)).
    pub(crate) fn spawn_blocking<F, T>(this: &Arc<Self>, job: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let mut job = Some(job);
        // Completes in its one poll: the job runs inside it, on a blocking thread, its panic
        // caught by `CatchUnwind` into the task's output.
        let future = std::future::poll_fn(move |_| {
            // Polled once, as it completes; a second poll cannot happen (nobody holds its waker).
            let Some(job) = job.take() else { return Poll::Pending };
            Poll::Ready(job())
        });
        // Abortable like any task: aborted before its thread runs it, the job never runs; once
        // running, it runs to its end (as in tokio), and its output is delivered.
        let (runnable, task) = async_task::Builder::new()
            .metadata(Metadata::new(this.clone(), TaskKind::Blocking))
            .spawn(move |meta: &Metadata| Abortable::new(future, meta), schedule_blocking);
        let waker = runnable.waker();
        runnable.schedule();
        Task::new(task, waker)
    }

    /// Where a woken task goes: this thread's local queue if it is one of its executor's workers
    /// (or its `block_on` thread holding the spare queue), otherwise the injector. A task that
    /// woke itself (`yielded`) goes to the back of the queue, any other into the LIFO slot.
    pub(crate) fn schedule(runnable: Runnable, yielded: bool) {
        // Acquire pairs with the Release in `shutdown`, so a runnable woken after shutdown began
        // is seen here and dropped. A wake racing with shutdown that misses the flag still meets
        // the closed injector or the workers' exit drain.
        if runnable.metadata().is_shut_down() {
            return;
        }
        let runnable = match context::schedule_local(runnable, yielded) {
            Ok(()) => return,
            Err(runnable) => runnable,
        };
        // Another thread may run the task as soon as it is queued, and drop the last reference
        // to the executor with it: hold one until the sleepers are told.
        let shared = runnable.metadata().shared.clone();
        shared.injector.push(runnable);
        shared.notify_idle();
    }

    /// The index of the spare queue's stealer (none without workers: then an index no stealer
    /// has).
    pub(crate) fn spare_index(&self) -> usize {
        self.stealers.len().wrapping_sub(1)
    }

    /// Whether any queue holds a task this thread could take (a plain queue's tasks are its
    /// owner's alone, and its owner looks at it first).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Whether no spawned task is live.
    pub(crate) fn is_idle(&self) -> bool {
        self.active.is_empty()
    }

    /// Begins shutdown: from now on runnables are dropped instead of run. Wakes every thread.
    pub(crate) fn begin_shutdown(&self) {
        // Queued blocking jobs are cancelled now, not once the workers are joined; before the
        // flag, so that anyone who sees the executor shut down also finds those jobs cancelled.
        self.blocking.shutdown();
        // Release pairs with the Acquire loads in `schedule` and the worker loop.
        self.shutdown.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Drops every task that has not completed: queued ones directly, idle ones by waking them
    /// (their runnables come back through `schedule`, see the shutdown flag, and are dropped).
    pub(crate) fn cancel_all(&self) {
        self.blocking.shutdown();
        self.injector.close_and_drain();
        let wakers = self.active.take_all();
        for waker in wakers {
            if !seeded!(ShutdownSkipsIdleTasks) {
                waker.wake();
            }
        }
        self.injector.close_and_drain();
        self.all_done.notify(usize::MAX);
    }

    /// Waits until no task is live (after shutdown: until every cancelled task's future has been
    /// dropped).
    pub(crate) fn wait_until_idle(&self) {
        while !self.is_idle() {
            let listener = self.all_done.listen();
            if self.is_idle() {
                return;
            }
            listener.wait();
        }
    }
}

/// Schedules a woken task of a pool: the schedule function of every spawned task.
fn schedule(runnable: Runnable, info: ScheduleInfo) {
    Shared::schedule(runnable, info.woken_while_running);
}

/// Schedules a blocking job: onto the blocking pool, unless the executor has shut down (then
/// the runnable is dropped, which cancels the task). A job is scheduled once: it completes in
/// the poll that runs it.
fn schedule_blocking(runnable: Runnable) {
    // Acquire: as in `Shared::schedule`.
    if runnable.metadata().is_shut_down() {
        return;
    }
    let shared = runnable.metadata().shared.clone();
    shared.blocking.submit(runnable);
}

/// A pool task's future: the spawned future with its panics caught and its abort flag obeyed
/// (`Abortable`), and its place in the live registry, where it records itself the first time it
/// is idle.
struct Tracked<F> {
    future: Abortable<F>,
    guard: ActiveGuard,
    /// Held across every poll in loom builds. A task polled on one thread and next on another
    /// is handed over through async-task's state word, whose atomics loom cannot see: without
    /// this lock loom would take the second poll's reads of the first poll's writes for a data
    /// race (a false "causality violation") and hide the real outcome, such as a deadlock.
    /// Locking it makes the hand-off a loom-visible release/acquire, in the order the polls
    /// really happen.
    #[cfg(reactor_loom)]
    handoff: Mutex<()>,
}

impl<F: Future> Future for Tracked<F> {
    type Output = TaskOutput<F::Output>;

    // Always: left out of line, it is one more call with its register saves per task run.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, `Tracked` has
        // no `Drop` impl and is `Unpin` only when `F` is; `guard` is never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        #[cfg(reactor_loom)]
        let _handoff = this.handoff.lock();
        // SAFETY: see above: `future` stays where it is for as long as `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let guard = &mut this.guard;
        let poll = future.poll(cx);
        if poll.is_pending() {
            guard.idle(cx.waker());
        }
        poll
    }
}

/// Takes a task out of the live registry when its future completes or is dropped.
struct ActiveGuard {
    entry: ActiveEntry,
    /// The executor, borrowed from the task's metadata rather than counted again: a second
    /// `Arc` per task cost two more shared-counter round trips per spawn, on a counter that
    /// every thread of the executor touches.
    shared: NonNull<Shared>,
}

// SAFETY: the guard only hands out `&Shared` (see `shared`), and `Shared` is `Sync`.
unsafe impl Send for ActiveGuard {}
// SAFETY: as above.
unsafe impl Sync for ActiveGuard {}

impl ActiveGuard {
    /// Counts a new live task of the executor `shared`, the task's own metadata.
    #[inline]
    fn new(meta: &Metadata) -> Self {
        Self { entry: meta.active.enter(), shared: NonNull::from(&*meta.shared) }
    }

    /// Records the task as idle (see `ActiveShards::idle`).
    #[inline]
    fn idle(&mut self, waker: &std::task::Waker) {
        let shared: *const Shared = self.shared();
        // SAFETY: see `shared`; the reference does not borrow `self`, whose `entry` is
        // borrowed mutably beside it.
        unsafe { &*shared }.active.idle(&mut self.entry, waker);
    }

    fn shared(&self) -> &Shared {
        // SAFETY: the guard lives in a task's future, made from that task's metadata (see
        // `Shared::spawn`), an `Arc<Shared>` that lives in the task's header. async-task drops
        // the future (`drop_future`, on completion or cancellation) before it drops the header
        // (`destroy`, when the last reference to the task goes), so the `Shared` outlives
        // every use of the guard, its drop included.
        unsafe { self.shared.as_ref() }
    }
}

impl Drop for ActiveGuard {
    #[inline]
    fn drop(&mut self) {
        let shared = self.shared();
        if shared.active.leave(&self.entry) {
            shared.all_done.notify(usize::MAX);
        }
    }
}
