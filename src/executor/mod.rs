//! The generic executor: a pool of worker threads running tasks over any [`EventSource`].
//! The user-facing behaviour is documented on [`Executor`].

mod active;
mod block_on;
mod blocking;
mod builder;
mod context;
mod error;
mod handle;
mod host;
mod injector;
pub(crate) mod local_queue;
mod local_tasks;
pub mod metrics;
mod parker;
mod paused_time;
mod recorder;
mod shared;
mod signal;
mod sleep;
mod worker;

pub(crate) use shared::Metadata;

use std::fmt;
use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

pub use builder::Builder;
pub use context::current_source;
pub use error::{BlockOnError, NoExecutorError, OnSourceError, SourceError, SpawnError, SpawnLocalError};
pub use handle::Handle;
pub use host::{Host, HostError, Turn};

use crate::executor::blocking::PoolConfig;
use crate::executor::context::RunQueue;
use crate::executor::local_queue::local_queue;
use crate::executor::metrics::RuntimeMetrics;
use crate::executor::shared::Shared;
use crate::executor::worker::run_worker;
use crate::source::EventSource;
use crate::sync::{thread, Arc};
use crate::task::Task;

/// A multi-threaded executor over the event source `S`.
///
/// Worker threads run spawned tasks and take turns blocking in the source; any thread may also
/// run a future to completion with [`block_on`](Self::block_on), helping the pool while it waits.
///
/// # Scheduling
///
/// Each worker owns a bounded local queue of 256 tasks (a ring that idle workers steal half of,
/// after tokio's multi-thread scheduler and Go's `runqsteal`) and a LIFO slot for the task it
/// woke last; tasks woken from outside a worker go to a global injector. A worker takes, in
/// order: the injector every 61st task (fairness), its LIFO slot (at most 3 times in a row, so two
/// tasks waking each other cannot starve the rest), its queue, a fair share of the injector, and
/// finally half of a random victim's queue. Each task poll runs with a cooperative budget (see
/// [`coop`](crate::coop)). A busy worker polls the source without blocking every 67th task.
///
/// Without workers ([`Builder::worker_threads`]`(0)`, the single-threaded flavour, after tokio's
/// current-thread scheduler and smol's `LocalExecutor`) the first thread inside `block_on`
/// (or a [`Host`]'s turn) owns the executor's run queue, and since no worker could steal from
/// it, it is a plain ring that only that thread touches: no atomic operation per task queued or
/// run, and no LIFO slot (tasks run in the order they were woken). Tasks spawned or woken on other threads reach it through the injector. Another thread
/// may call `block_on` at the same time: it runs what reaches the injector, and what the first
/// thread leaves queued when its `block_on` returns (or unwinds).
///
/// # Sleeping
///
/// Every thread of the executor, worker or `block_on`, sleeps the same way: on one idle list,
/// each with its own parker. The idle thread holding the poll token blocks in
/// [`EventSource::wait`] as the poller; the others park. Work arriving for an idle pool wakes one
/// sleeper (a parked one if there is one, else the poller through the source's notify) and never
/// zero; a `block_on` that returns hands the poll role to a parked thread, so some thread always
/// waits in the source while the pool is idle. A source whose wait keeps failing is backed off
/// (see [`Builder::on_source_error`]).
///
/// # Shutdown
///
/// Dropping the executor stops and joins its workers, then cancels every unfinished task: queued
/// ones are dropped, idle ones are woken and dropped instead of run, so their futures and
/// everything they own are released before the drop returns (also a task that another thread
/// is waking at that moment: the drop waits for that wake to hand the task over). Blocking jobs
/// not yet started are cancelled; the drop waits for those running to finish and for the
/// blocking threads to exit, as tokio's runtime does (not when dropped from inside one of its
/// own blocking jobs, which would wait for itself). [`Executor::shutdown_timeout`] first waits
/// for the tasks to finish, and bounds both waits by its deadline.
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Executor};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// let tasks: Vec<_> = (0..10).map(|i| executor.spawn(async move { i * 2 })).collect();
/// let sum = executor.block_on(async {
///     let mut sum = 0;
///     for task in tasks {
///         sum += task.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 90);
/// ```
pub struct Executor<S> {
    source: std::sync::Arc<S>,
    shared: Arc<Shared>,
    workers: Vec<thread::JoinHandle<()>>,
    /// How long the drop waits for running blocking jobs: forever, or until the deadline
    /// `shutdown_timeout` gives.
    blocking_deadline: Option<Instant>,
}

impl<S: EventSource + 'static> Executor<S> {
    /// Starts an executor over `source` with the default [`Builder`] settings (use [`Builder::build`] to configure it): one worker thread
    /// per available core.
    ///
    /// A passive source (a [`PingSource`](crate::source::PingSource), a timer, a channel
    /// source) is composed with a [`Parking`](crate::source::Parking) source to block in.
    ///
    /// # Errors
    ///
    /// Returns the error of spawning a worker thread, or the source's refusal to be
    /// [attached](EventSource::attach): [`AlreadyExists`](io::ErrorKind::AlreadyExists) for a
    /// source that another live executor or composite drives already.
    pub fn new(source: S) -> io::Result<Self> {
        Builder::new().build(source)
    }

    pub(crate) fn start(builder: Builder, source: S) -> io::Result<Self> {
        if builder.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_blocking_threads(0): the blocking pool needs at least one thread to run its jobs",
            ));
        }
        let workers = builder
            .worker_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
        let source = std::sync::Arc::new(source);
        let driven = crate::source::drive(&source)?;
        let (queues, mut stealers): (Vec<_>, Vec<_>) = (0..workers).map(|_| local_queue()).unzip();
        // Without workers nobody steals from a `block_on` thread (another `block_on` thread
        // runs what reaches the injector): the single-threaded flavour, on a plain queue.
        let spare_queue = if workers == 0 {
            RunQueue::plain()
        } else {
            let (spare_queue, spare_stealer) = local_queue();
            stealers.push(spare_stealer);
            RunQueue::Stealable(spare_queue)
        };
        let blocking = PoolConfig {
            max_threads: builder.max_blocking_threads,
            keep_alive: builder.blocking_keep_alive,
            thread_name: builder.blocking_thread_name.clone(),
            stack_size: builder.stack_size,
            on_thread_start: builder.on_thread_start.clone(),
            on_thread_stop: builder.on_thread_stop.clone(),
        };
        let shared = Arc::new(Shared::new(
            driven,
            stealers.into(),
            spare_queue,
            builder.on_source_error,
            blocking,
            builder.task_hooks.into_shared(),
            builder.timers_pending,
        ));
        let mut executor =
            Self { source, shared, workers: Vec::with_capacity(workers), blocking_deadline: None };
        for (index, queue) in queues.into_iter().enumerate() {
            let shared = executor.shared.clone();
            let on_start = builder.on_thread_start.clone();
            let on_stop = builder.on_thread_stop.clone();
            let mut thread = thread::Builder::new().name((builder.thread_name)(index));
            if let Some(bytes) = builder.stack_size {
                thread = thread.stack_size(bytes);
            }
            // On error `executor` drops here, which stops the workers already started.
            let handle = thread.spawn(move || {
                if let Some(hook) = on_start {
                    hook();
                }
                run_worker(shared, index, queue);
                if let Some(hook) = on_stop {
                    hook();
                }
            })?;
            executor.workers.push(handle);
        }
        Ok(executor)
    }

    /// The source this executor waits on.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Spawns a task onto the pool.
    ///
    /// Await the returned [`Task`] for its output, drop it to cancel the task, or
    /// [`detach`](Task::detach) it to let the task run unobserved. A panic in the task is caught
    /// and reported through the handle; the worker thread survives.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn(&self.shared, future)
    }

    /// Runs the blocking call `job` on the executor's blocking pool, off the worker threads, and
    /// returns a [`Task`] of its result.
    ///
    /// For work that blocks a thread (a blocking syscall, a file, `getaddrinfo`, a long
    /// computation): run on a worker, it would stall every task queued there. The pool starts a
    /// thread when a job finds none idle, up to [`Builder::max_blocking_threads`] (512 by
    /// default); beyond that, jobs wait in a queue, in order, for a thread to be free. An idle
    /// thread exits after [`Builder::blocking_keep_alive`] (10 s by default).
    ///
    /// - **A panic** in `job` is caught: the blocking thread survives and awaiting the task gives
    ///   a [`JoinError`](crate::JoinError) whose [`is_panic`](crate::JoinError::is_panic) is true.
    /// - **Cancellation:** dropping the task before a thread has started `job` cancels it (it
    ///   never runs); once started, `job` runs to completion whatever happens to the task, as
    ///   a blocking call cannot be interrupted. [`detach`](Task::detach) lets it run unobserved.
    /// - **Shutdown:** when the executor shuts down (is dropped), jobs still queued are
    ///   cancelled (awaiting them reports cancellation) and the drop waits for jobs running to
    ///   finish and their threads to exit, as tokio's runtime does ([`shutdown_timeout`](Self::shutdown_timeout)
    ///   bounds that wait). After shutdown a job is cancelled at once.
    /// - **A thread that cannot start** (the OS refuses one): the job waits for a running thread
    ///   if there is one; if there is none, the queued jobs are cancelled and the reason is
    ///   printed to standard error.
    /// - **A full pool** queues jobs without bound; a job that waits for another job to finish
    ///   (through a channel, say) can deadlock a pool whose every thread is busy waiting the same
    ///   way, so keep such waits in async tasks.
    /// - Inside `job`, [`Handle::current`] and [`current_source`] find this executor (to spawn
    ///   onto it, to register I/O with its source), and `job` may call
    ///   [`block_on`](Self::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor::{source::Parking, Executor};
    ///
    /// let executor = Executor::new(Parking::new()).unwrap();
    /// let length = executor.block_on(async {
    ///     // A blocking read of a file, off the workers.
    ///     let task = executor.spawn_blocking(|| std::fs::read("Cargo.toml").map(|bytes| bytes.len()));
    ///     task.await.expect("the job did not panic")
    /// });
    /// assert!(length.unwrap() > 0);
    /// ```
    pub fn spawn_blocking<F, T>(&self, job: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Shared::spawn_blocking(&self.shared, job)
    }

    /// The blocking pool's live threads: running a job, or idle within their keep-alive.
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.threads()
    }

    /// Spawns a `!Send` task that runs on the thread currently running this executor's
    /// [`block_on`](Self::block_on), interleaved with its main future.
    ///
    /// The task lives as long as that `block_on` call: if the call returns first, the task is
    /// cancelled (its future dropped on that thread) and awaiting its handle reports
    /// cancellation. Inside a [turn](Host::turn) of the executor's [`Host`], the task is the
    /// host's, as with [`Host::spawn_local`].
    ///
    /// # Errors
    ///
    /// Hands the future back if the calling thread is not inside this executor's `block_on` or
    /// a turn of its `Host`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use reactor::{source::Parking, Executor};
    ///
    /// let executor = Executor::new(Parking::new()).unwrap();
    /// let shared = Rc::new(5); // not Send
    /// let doubled = executor.block_on(async {
    ///     let shared = shared.clone();
    ///     executor.spawn_local(async move { *shared * 2 }).unwrap().await.unwrap()
    /// });
    /// assert_eq!(doubled, 10);
    /// assert!(executor.spawn_local(async {}).is_err()); // not inside block_on
    /// ```
    pub fn spawn_local<F>(&self, future: F) -> Result<Task<F::Output>, SpawnLocalError<F>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let local_tasks = context::with_current(|current| {
            Arc::ptr_eq(&current.shared, &self.shared).then(|| current.local_tasks.clone()).flatten()
        })
        .flatten();
        match local_tasks {
            Some(local_tasks) => Ok(local_tasks.spawn(future)),
            None => Err(SpawnLocalError::new(future)),
        }
    }

    /// Runs `future` to completion on the calling thread, running pool tasks and
    /// [`spawn_local`](Self::spawn_local) tasks while it waits.
    ///
    /// # Panics
    ///
    /// Panics with "block_on was called from a thread that already runs an executor's tasks" if
    /// called inside a task or another `block_on`, or on a thread that hosts this executor
    /// ([`Host`]), where blocking could deadlock; use
    /// [`try_block_on`](Self::try_block_on) to get an error instead. A panic of `future` itself
    /// propagates to the caller.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self.try_block_on(future) {
            Ok(output) => output,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`block_on`](Self::block_on), but returns an error instead of panicking when called
    /// from a thread that already runs an executor's tasks.
    ///
    /// # Errors
    ///
    /// Hands the future back, unpolled, when called inside a task or another `block_on`, or on
    /// a thread that hosts this executor (see [`Host`]), whose turns alone would dispatch the
    /// events the future waits for.
    pub fn try_block_on<F: Future>(&self, future: F) -> Result<F::Output, BlockOnError<F>> {
        self.block_on_until(future, None).map(|output| output.expect("no deadline was given"))
    }

    /// Embeds the executor in an event loop of the calling thread's own: returns the [`Host`]
    /// through which that loop drives the executor, one non-blocking [`turn`](Host::turn) at a
    /// time, so that the executor needs no thread of its own (build it with
    /// [`worker_threads(0)`](Builder::worker_threads)).
    ///
    /// The host owns the executor's source from now on (see [`Host`]); if another thread is
    /// waiting in it, that thread is notified and this call waits for it to come out.
    ///
    /// # Errors
    ///
    /// - [`HostError::Nested`] inside a task, a `block_on` or a turn on this thread;
    /// - [`HostError::AlreadyHosted`] while another `Host` of this executor lives;
    /// - [`HostError::ShutDown`] if the executor has shut down.
    ///
    /// # Examples
    ///
    /// A host loop over a source without an fd: a real host waits between turns in its own
    /// poll, on the source's fd and for [`Turn::timeout`] (see `reactor_epoll`'s `host_loop`
    /// example).
    ///
    /// ```
    /// use reactor::{source::Parking, Builder};
    ///
    /// let executor = Builder::new().worker_threads(0).build(Parking::new())?;
    /// let host = executor.host()?;
    /// let task = executor.spawn(async {
    ///     reactor::yield_now().await;
    ///     "done"
    /// });
    /// let turn = host.turn(1)?; // a budget of one task
    /// assert_eq!(turn.tasks_run(), 1);
    /// assert!(turn.has_more()); // the task yielded: do not block, turn again
    /// let turn = host.turn(1)?;
    /// assert!(task.is_finished() && !turn.has_more());
    /// assert!(executor.host().is_err()); // one host at a time
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host(&self) -> Result<Host, HostError> {
        Host::new(&self.shared)
    }

    /// Waits until every spawned task has finished or `timeout` has passed, helping to run them,
    /// then shuts the executor down, cancelling what is left, and waits (within the same
    /// deadline) for running blocking jobs to finish. Returns whether all tasks and all blocking
    /// jobs finished.
    ///
    /// Called from inside one of the executor's own tasks, or on the thread of its [`Host`], it
    /// cannot wait, and shuts down at once.
    ///
    /// [Blocking jobs](Self::spawn_blocking) still queued at shutdown are cancelled; one that is
    /// still running at the deadline goes on on its thread, unwaited for.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        let shared = self.shared.clone();
        let all_done = async move {
            loop {
                if shared.is_idle() {
                    return;
                }
                let listener = shared.all_done.listen();
                if shared.is_idle() {
                    return;
                }
                listener.await;
            }
        };
        let deadline = Instant::now().checked_add(timeout);
        let tasks_done = matches!(self.block_on_until(all_done, deadline), Ok(Some(())));
        self.blocking_deadline = deadline;
        let blocking_done = self.shut_down();
        tasks_done && blocking_done
    }

    /// A live view of this executor's runtime metrics: per-worker polls, steals, parks and
    /// busy time, queue depths, tasks alive and spawned, source waits, the blocking pool. Always
    /// on; reading never slows the workers. The [`metrics`](crate::metrics) module has the
    /// details and an example.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics { shared: self.shared.clone() }
    }

    /// A handle to spawn tasks onto this executor from anywhere, even after it is dropped.
    pub fn handle(&self) -> Handle {
        Handle { shared: self.shared.clone() }
    }
}

/// Spawns a `!Send` task onto the thread's current `block_on` (or [`Host`] turn), whichever
/// executor it runs: [`Executor::spawn_local`] for code that does not hold the executor (a
/// library spawning a connection's local work, say).
///
/// # Errors
///
/// Hands the future back if this thread is not inside a `block_on` or a turn.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use reactor::{source::Parking, Executor};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// let shared = Rc::new(21); // not Send
/// let doubled = executor.block_on(async {
///     let shared = shared.clone();
///     reactor::spawn_local(async move { *shared * 2 }).unwrap().await.unwrap()
/// });
/// assert_eq!(doubled, 42);
/// assert!(reactor::spawn_local(async {}).is_err()); // not inside a block_on
/// ```
pub fn spawn_local<F>(future: F) -> Result<Task<F::Output>, SpawnLocalError<F>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::with_current(|current| current.local_tasks.clone()).flatten() {
        Some(local_tasks) => Ok(local_tasks.spawn(future)),
        None => Err(SpawnLocalError::new(future)),
    }
}

impl<S> Executor<S> {
    /// Stops the workers, cancels what is left and waits for the blocking pool's running jobs
    /// (until `blocking_deadline`); returns whether the blocking pool stopped. Idempotent.
    fn shut_down(&mut self) -> bool {
        self.shared.begin_shutdown();
        let this_thread = thread::current().id();
        for worker in self.workers.drain(..) {
            // Dropped from inside one of its own tasks: that worker exits on its own once the
            // task returns; joining it here would wait for ourselves.
            if worker.thread().id() != this_thread {
                let _ = worker.join();
            }
        }
        self.shared.cancel_all();
        // A task that another thread is waking at this moment is already marked scheduled, so
        // the wake of `cancel_all` did nothing, and its runnable reaches the (shut down)
        // scheduler, which drops it, only when that thread's wake returns. Wait for it: when the
        // drop returns, every task's future has been dropped. Not from inside one of this
        // executor's own tasks, which is itself still live.
        let inside_own_task =
            context::current_shared().is_some_and(|current| Arc::ptr_eq(&current, &self.shared));
        if !inside_own_task {
            self.shared.wait_until_idle();
        }
        // Not from one of its own blocking jobs, which would wait for itself.
        !self.shared.blocking.runs_here(&self.shared)
            && self.shared.blocking.wait_until_stopped(self.blocking_deadline)
    }
}

impl<S> Drop for Executor<S> {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl<S: fmt::Debug> fmt::Debug for Executor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("source", &self.source)
            .field("worker_threads", &self.workers.len())
            .finish_non_exhaustive()
    }
}
