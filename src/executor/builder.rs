//! Configuration of an [`Executor`](crate::Executor) before it starts.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::executor::blocking::{DEFAULT_KEEP_ALIVE, DEFAULT_MAX_THREADS};
use crate::executor::error::{OnSourceError, SourceError};
use crate::executor::metrics::TimerGauge;
use crate::executor::shared::ErrorHook;
use crate::executor::Executor;
use crate::source::EventSource;
use crate::task::hooks::TaskHooks;
use crate::task::TaskMeta;

/// A per-thread hook: thread start or stop.
pub(crate) type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// Configures and starts an [`Executor`].
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Builder};
///
/// let executor = Builder::new()
///     .worker_threads(2)
///     .thread_name(|index| format!("my-worker-{index}"))
///     .stack_size(512 * 1024)
///     .build(Parking::new())
///     .unwrap();
/// assert_eq!(executor.block_on(executor.spawn(async { 7 })).unwrap(), 7);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    pub(crate) worker_threads: Option<usize>,
    pub(crate) thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
    pub(crate) on_source_error: ErrorHook,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) blocking_thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) task_hooks: TaskHooks,
    pub(crate) timers_pending: Option<TimerGauge>,
}

impl Builder {
    /// The default configuration: one worker thread per available core, named `reactor-N`.
    pub fn new() -> Self {
        Self {
            worker_threads: None,
            thread_name: Arc::new(|index| format!("reactor-{index}")),
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            on_source_error: Box::new(|failure| {
                eprintln!("reactor: {failure}");
                OnSourceError::Continue
            }),
            max_blocking_threads: DEFAULT_MAX_THREADS,
            blocking_keep_alive: DEFAULT_KEEP_ALIVE,
            blocking_thread_name: Arc::new(|index| format!("reactor-blocking-{index}")),
            task_hooks: TaskHooks::default(),
            timers_pending: None,
        }
    }

    /// The number of worker threads. `0` runs tasks only on threads that call
    /// [`Executor::block_on`] (or on the thread of its [`Host`](crate::Host)): the
    /// single-threaded flavour, described under "Scheduling" on [`Executor`]. Defaults to
    /// [`std::thread::available_parallelism`].
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count);
        self
    }

    /// Names worker thread `index` (from 0) `name(index)`.
    pub fn thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Arc::new(name);
        self
    }

    /// The stack size of worker threads (and blocking threads), in bytes. Defaults to std's default.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `hook` on each thread the executor starts, before it runs anything: every worker,
    /// and every blocking-pool thread (as tokio's hook does). A panic in it is contained on a
    /// blocking thread (the panic hook reports it).
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` on each thread the executor started when it stops, after its last task (or
    /// blocking job).
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Arc::new(hook));
        self
    }

    /// The most threads the blocking pool runs at once (default 512). Beyond it,
    /// [`spawn_blocking`](Executor::spawn_blocking) jobs wait in a queue, in order, for a
    /// thread to finish its job. `0` is refused by [`build`](Self::build) with `InvalidInput`:
    /// a pool that could run nothing would leave every job waiting forever.
    ///
    /// The pool's threads start only when a job needs one (an executor that never calls
    /// `spawn_blocking` has none), and with the workers they are the only threads an executor
    /// starts.
    pub fn max_blocking_threads(mut self, count: usize) -> Self {
        self.max_blocking_threads = count;
        self
    }

    /// How long an idle blocking thread waits for another job before it exits (default 10 s).
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Names blocking thread `index` (from 0, counting every thread the pool ever started)
    /// `name(index)`; the default is `reactor-blocking-N`.
    pub fn blocking_thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.blocking_thread_name = Arc::new(name);
        self
    }

    /// Calls `hook` with every failed wait of the source (a panic in a source callback arrives
    /// here as an error too); what it returns decides whether the executor goes on or shuts
    /// down. Defaults to printing the error to standard error and going on.
    ///
    /// A source that keeps failing is not waited on in a hot loop: after the `n`-th failure in a
    /// row the executor leaves it alone for `min(2^(n-1) ms, 1 s)` (tasks keep running
    /// meanwhile, and its sleepers still wake for new work), and the first successful wait ends
    /// the back-off. [`SourceError`] tells the hook the count and the delay.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor::{source::Parking, Builder, OnSourceError};
    ///
    /// let executor = Builder::new()
    ///     .on_source_error(|failure| {
    ///         eprintln!("{failure}");
    ///         if failure.consecutive_failures() >= 10 {
    ///             OnSourceError::Shutdown
    ///         } else {
    ///             OnSourceError::Continue
    ///         }
    ///     })
    ///     .build(Parking::new())
    ///     .unwrap();
    /// # drop(executor);
    /// ```
    pub fn on_source_error(
        mut self,
        hook: impl Fn(&SourceError<'_>) -> OnSourceError + Send + Sync + 'static,
    ) -> Self {
        self.on_source_error = Box::new(hook);
        self
    }

    /// Runs `hook` as each task is spawned, on the spawning thread (see
    /// [`TaskMeta`] for every task hook).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// use reactor::{source::Parking, Builder};
    ///
    /// let (spawned, polls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let executor = Builder::new()
    ///     .worker_threads(1)
    ///     .on_task_spawn({
    ///         let spawned = spawned.clone();
    ///         move |_| {
    ///             spawned.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .on_task_poll_start({
    ///         let polls = polls.clone();
    ///         move |task| {
    ///             assert_eq!(reactor::task::id(), task.id());
    ///             polls.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build(Parking::new())
    ///     .unwrap();
    /// executor.block_on(executor.spawn(reactor::yield_now())).unwrap();
    /// assert_eq!(spawned.load(Ordering::Relaxed), 1);
    /// assert_eq!(polls.load(Ordering::Relaxed), 2); // the yield, then the completion
    /// ```
    pub fn on_task_spawn(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.task_hooks.spawn = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` right before each poll of a task's future, on the polling thread.
    pub fn on_task_poll_start(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.task_hooks.poll_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` right after each poll of a task's future, on the polling thread.
    pub fn on_task_poll_end(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.task_hooks.poll_end = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` once a task's future has been dropped (it completed, panicked, or was aborted
    /// or cancelled), on the thread that dropped it.
    pub fn on_task_terminate(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.task_hooks.terminate = Some(Arc::new(hook));
        self
    }

    /// Tells the executor's [metrics](crate::metrics) how to count the timers pending in its
    /// source: [`RuntimeMetrics::timers_pending`](crate::metrics::RuntimeMetrics::timers_pending)
    /// calls `count` on every read (it may take locks: it is never called on the executor's
    /// own paths). The executor cannot find a timer in an arbitrary source by itself; a runtime
    /// that composes one sets this (the default runtime, `reactor_epoll::Runtime`, does).
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor::source::Parking;
    /// use reactor::Builder;
    ///
    /// let executor = Builder::new().timers_pending(|| 0).build(Parking::new())?;
    /// assert_eq!(executor.metrics().timers_pending(), Some(0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn timers_pending(mut self, count: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        self.timers_pending = Some(Arc::new(count));
        self
    }

    /// Starts an executor over `source`.
    ///
    /// # Errors
    ///
    /// Returns the error of spawning a worker thread (the threads already started are stopped),
    /// or the source's refusal to be [attached](EventSource::attach):
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) for a source that another live executor
    /// or composite drives already (one `Epoll` given to two executors, say);
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a [`max_blocking_threads`](Self::max_blocking_threads) of 0.
    pub fn build<S: EventSource + 'static>(self, source: S) -> io::Result<Executor<S>> {
        Executor::start(self, source)
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("worker_threads", &self.worker_threads)
            .field("stack_size", &self.stack_size)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("task_hooks", &self.task_hooks)
            .finish_non_exhaustive()
    }
}
