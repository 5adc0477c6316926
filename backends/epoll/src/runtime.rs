//! The default runtime: the executor over epoll, timers and channels.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use reactor::io::IoHandle;
use reactor::metrics::RuntimeMetrics;
use reactor::source::Composite;
use reactor::task::TaskMeta;
use reactor::{Builder, EventSource, Executor, Handle, Host, HostError, SpawnLocalError, Task};
use reactor_channel::ChannelSource;
use reactor_polling::PollingSource;
use reactor_timer::Timer;

use crate::backend::{Backend, BackendChoice, BackendSource};
#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::{sys, Epoll};

/// The source every [`Runtime`] waits on: the I/O backend blocks (epoll on Linux), the timer and
/// the channel source are passive parts of one [`Composite`], so a wait blocks in the backend
/// exactly until the earliest timer deadline (to the nanosecond with epoll, see [`Epoll`]) and a
/// channel send from any thread ends it.
///
/// [`Epoll`]: crate::Epoll
pub type RuntimeSource = Composite;

/// The everyday runtime: a work-stealing [`Executor`] over an I/O backend, a [`Timer`] and a
/// [`ChannelSource`].
///
/// The backend is epoll on Linux and Android (io_uring first on Linux with
/// `REACTOR_IO_URING=on`; see [`backend_choice`](Self::backend_choice) for which, and why) and
/// the portable [`PollingSource`] (kqueue, event ports, `poll`) elsewhere, unless
/// [`RuntimeBuilder::backend`] chooses.
///
/// On Linux its threads ask the kernel for 1 ns of timer slack (`PR_SET_TIMERSLACK`) instead of
/// the default 50 µs, so timers fire within microseconds of their deadline: the workers (and blocking threads) for their
/// lifetime, a thread calling [`block_on`](Self::block_on) for the duration of the call.
///
/// Inside its tasks every ambient API finds its source: [`Async::new`](crate::Async::new) and the
/// [`net`](crate::net) types find the I/O backend, [`time::sleep`](crate::time::sleep) and
/// friends the timer, and `reactor::current_source::<ChannelSource>()` the channel source.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let runtime = reactor_epoll::Runtime::new()?;
/// let answer = runtime.block_on(async {
///     reactor_epoll::time::sleep(Duration::from_millis(1)).await;
///     reactor_epoll::spawn(async { 6 * 7 }).await
/// })?;
/// assert_eq!(answer, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runtime {
    executor: Executor<RuntimeSource>,
    backend: BackendSource,
    choice: BackendChoice,
    timer: Timer,
    channels: ChannelSource,
}

impl Runtime {
    /// A runtime with one worker thread per available core.
    ///
    /// # Errors
    ///
    /// The error of creating the I/O backend or of spawning a worker thread.
    pub fn new() -> io::Result<Self> {
        RuntimeBuilder::new().build()
    }

    /// A builder to configure the worker threads, the I/O backend, or a manually advanced clock.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// Runs `future` to completion on this thread, helping the workers while it waits.
    ///
    /// # Panics
    ///
    /// Inside a task or another `block_on`, as [`Executor::block_on`] documents.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _slack = TimerSlack::minimise();
        self.executor.block_on(future)
    }

    /// Spawns a task onto the worker threads (see [`Executor::spawn`]).
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.executor.spawn(future)
    }

    /// Runs the blocking call `job` on the runtime's blocking pool and returns a task of its
    /// result (see [`Executor::spawn_blocking`]: bounded by
    /// [`RuntimeBuilder::max_blocking_threads`], threads started on demand and named
    /// `reactor-blocking-N`, panics reported through the task, queued jobs cancelled at
    /// shutdown while running ones finish).
    ///
    /// # Examples
    ///
    /// ```
    /// let runtime = reactor_epoll::Runtime::new()?;
    /// let hostname = runtime.block_on(runtime.spawn_blocking(|| std::fs::read_to_string("/proc/sys/kernel/hostname")))?;
    /// assert!(!hostname?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_blocking<F, T>(&self, job: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.executor.spawn_blocking(job)
    }

    /// The blocking pool's live threads (see [`spawn_blocking`](Self::spawn_blocking)).
    pub fn blocking_threads(&self) -> usize {
        self.executor.blocking_threads()
    }

    /// Spawns a `!Send` task onto the thread running [`block_on`](Self::block_on).
    ///
    /// # Errors
    ///
    /// Hands the future back when not called from inside this runtime's `block_on`.
    pub fn spawn_local<F>(&self, future: F) -> Result<Task<F::Output>, SpawnLocalError<F>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.executor.spawn_local(future)
    }

    /// A handle that spawns onto this runtime from anywhere.
    pub fn handle(&self) -> Handle {
        self.executor.handle()
    }

    /// The I/O backend, to register I/O with explicitly ([`Async::with_source`](crate::Async::with_source),
    /// the `from_std` constructors of [`net`](crate::net), [`Watch::new`](crate::Watch::new)), on
    /// whichever backend the runtime runs.
    pub fn io(&self) -> &IoHandle {
        self.backend.io_handle()
    }

    /// The epoll source, if the runtime runs on epoll.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn epoll(&self) -> Option<&Epoll> {
        match &self.backend {
            BackendSource::Epoll(epoll) => Some(epoll),
            _ => None,
        }
    }

    /// The io_uring source, if the runtime runs on io_uring.
    #[cfg(target_os = "linux")]
    pub fn uring(&self) -> Option<&reactor_uring::Uring> {
        match &self.backend {
            BackendSource::Uring(uring) => Some(uring),
            _ => None,
        }
    }

    /// Which backend the runtime runs on, and, when [`Backend::Automatic`] did not choose
    /// io_uring although it was asked to (`REACTOR_IO_URING=on`) or told not to
    /// (`REACTOR_IO_URING=off`), why ([`BackendChoice::fallback`]: the probe's
    /// [`Unavailable`](crate::Unavailable) reason, such as a container's seccomp profile).
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_epoll::{Backend, Runtime};
    ///
    /// let runtime = Runtime::builder().worker_threads(1).build()?;
    /// let choice = runtime.backend_choice();
    /// assert_eq!(choice.requested(), Backend::Automatic);
    /// assert_ne!(choice.backend(), Backend::Automatic);
    /// if let Some(reason) = choice.fallback() {
    ///     println!("on {:?}, not io_uring: {reason}", choice.backend());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend_choice(&self) -> &BackendChoice {
        &self.choice
    }

    /// The portable backend, if the runtime runs on it.
    pub fn polling(&self) -> Option<&PollingSource> {
        match &self.backend {
            BackendSource::Polling(polling) => Some(polling),
            #[allow(unreachable_patterns)] // the only variant off Linux and Android
            _ => None,
        }
    }

    /// Embeds the runtime in an event loop of this thread's own (GTK, winit, a Wayland
    /// compositor's calloop, a plain `poll(2)` loop): the loop watches the runtime's fd (its I/O
    /// backend's, through [`AsFd`](std::os::fd::AsFd)) for readability beside its own fds, and runs a
    /// [`turn`](Host::turn) whenever it is readable or the last turn's
    /// [`timeout`](reactor::Turn::timeout) has passed. Build the runtime with
    /// [`worker_threads(0)`](RuntimeBuilder::worker_threads) for a runtime with no thread of its
    /// own; with workers, the host's turns are still the only place events and timers are
    /// dispatched (see [`Host`]).
    ///
    /// Timers, channels and sockets wake the host through that fd: a timer's deadline is the
    /// turn's deadline, and a send or a spawn from another thread notifies the backend, which
    /// makes its fd readable (epoll's eventfd, or the portable backend's notifier, is inside the
    /// set the fd stands for). Turn once before the first poll: on the portable backend, a wait
    /// made before the host existed (a `block_on`'s, a worker's) and ended before its timeout
    /// leaves `polling`'s internal timer armed, which would make the fd readable once at that
    /// deadline with nothing to do; a turn disarms it. After that, the fd is readable only when
    /// a turn has work, on every backend.
    ///
    /// # Errors
    ///
    /// As [`Executor::host`]: inside a task or a `block_on` on this thread, while another
    /// `Host` of this runtime lives, or after shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::{AsFd, AsRawFd};
    /// use std::time::Duration;
    ///
    /// let runtime = reactor_epoll::Runtime::builder().worker_threads(0).build()?;
    /// let host = runtime.host()?;
    /// let napping = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_millis(5)).await });
    /// loop {
    ///     let turn = host.turn(64)?;
    ///     if napping.is_finished() {
    ///         break;
    ///     }
    ///     // The host's own poll: the runtime's fd, with the turn's timeout rounded up to whole ms.
    ///     let timeout_ms = turn.timeout().map_or(-1, |timeout| {
    ///         i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
    ///     });
    ///     let mut fds = [libc::pollfd { fd: runtime.as_fd().as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    ///     // SAFETY: `fds` is a valid array of one `pollfd` for the duration of the call.
    ///     unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host(&self) -> Result<Host, HostError> {
        self.executor.host()
    }

    /// A live view of the runtime's metrics: per-worker polls, steals, parks and busy time,
    /// queue depths, tasks alive and spawned, waits of the I/O backend and the events they
    /// dispatched, timers pending, the blocking pool (see [`reactor::metrics`]). Also reachable
    /// from any [`Handle`] of the runtime ([`Handle::metrics`]), timers included.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let runtime = reactor_epoll::Runtime::builder().worker_threads(2).build()?;
    /// let metrics = runtime.metrics();
    /// runtime.block_on(async { reactor_epoll::time::sleep(Duration::from_millis(1)).await });
    /// assert_eq!(metrics.num_workers(), 2);
    /// assert_eq!(metrics.timers_pending(), Some(0));
    /// println!("{}", metrics.snapshot());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.executor.metrics()
    }

    /// The timer source, for explicit timers and callbacks.
    pub fn timer(&self) -> &Timer {
        &self.timer
    }

    /// The channel source, to consume channels with callbacks on the loop.
    pub fn channels(&self) -> &ChannelSource {
        &self.channels
    }

    /// The composed source the executor waits on.
    pub fn source(&self) -> &RuntimeSource {
        self.executor.source()
    }

    /// Waits up to `timeout` for every spawned task to finish, then shuts down; returns whether
    /// they all finished (see [`Executor::shutdown_timeout`]).
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        self.executor.shutdown_timeout(timeout)
    }
}

/// The I/O backend's own fd (the epoll instance, the io_uring, or the portable backend's poller), which turns
/// readable when the backend has events for a [turn](Runtime::host), a timer's wait aside. Only
/// watch it for readability; never wait on it yourself.
impl AsFd for Runtime {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.backend.as_fd()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("backend", &self.backend)
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let (runtime, clock) = reactor_epoll::Runtime::builder().worker_threads(1).build_with_manual_clock()?;
/// let an_hour_later = clock.now() + Duration::from_secs(3600);
/// let sleeping = runtime.spawn(runtime.timer().sleep_until(an_hour_later));
/// clock.advance(Duration::from_secs(3600)); // an hour passes at once
/// runtime.block_on(sleeping)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct RuntimeBuilder {
    executor: Builder,
    backend: Backend,
    on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
    extra_sources: Vec<Box<dyn EventSource>>,
}

impl RuntimeBuilder {
    /// One worker thread per available core, threads named `reactor-N`, the automatic backend.
    pub fn new() -> Self {
        Self {
            executor: Builder::new(),
            backend: Backend::Automatic,
            on_thread_start: None,
            extra_sources: Vec::new(),
        }
    }

    /// The I/O backend to block in: [`Backend::Automatic`] (the default) is epoll on Linux and
    /// Android (on Linux with `REACTOR_IO_URING=on`, io_uring first where the kernel allows it;
    /// [`Runtime::backend_choice`] says which was chosen, and why) and the portable backend
    /// elsewhere; [`Backend::IoUring`] asks for io_uring.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_epoll::{Backend, Runtime};
    ///
    /// let runtime = Runtime::builder().backend(Backend::Polling).worker_threads(1).build()?;
    /// assert!(runtime.polling().is_some());
    /// let echoed = runtime.block_on(async {
    ///     let (a, b) = reactor_epoll::net::UnixStream::pair()?;
    ///     futures_lite::AsyncWriteExt::write_all(&mut &a, b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     futures_lite::AsyncReadExt::read_exact(&mut &b, &mut buf).await?;
    ///     Ok::<_, std::io::Error>(buf)
    /// })?;
    /// assert_eq!(&echoed, b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Adds a passive event source of your own (one whose
    /// [`can_block`](EventSource::can_block) is `false`, like
    /// [`PingSource`](reactor::source::PingSource)) to the runtime's composite, beside the timer
    /// and the channel source. Inside the runtime's tasks `reactor::current_source` finds it.
    ///
    /// # Errors
    ///
    /// A source that can block is refused with `InvalidInput` when the runtime is built: the
    /// runtime already blocks in its I/O backend, and register an fd-based source's fd with
    /// [`Watch::new`](crate::Watch::new) on [`Runtime::io`] instead. A source that another live executor or composite drives
    /// already is refused with `AlreadyExists` (see [`EventSource::attach`]).
    pub fn source(mut self, source: impl EventSource + 'static) -> Self {
        self.extra_sources.push(Box::new(source));
        self
    }

    /// The number of worker threads; `0` runs everything on the thread calling `block_on`.
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.executor = self.executor.worker_threads(count);
        self
    }

    /// Names worker thread `index` `name(index)`.
    pub fn thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.executor = self.executor.thread_name(name);
        self
    }

    /// The stack size of worker threads, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.executor = self.executor.stack_size(bytes);
        self
    }

    /// The most threads the blocking pool runs at once (default 512); jobs beyond it queue.
    /// `0` is refused by [`build`](Self::build) with `InvalidInput`. See
    /// [`Runtime::spawn_blocking`].
    pub fn max_blocking_threads(mut self, count: usize) -> Self {
        self.executor = self.executor.max_blocking_threads(count);
        self
    }

    /// How long an idle blocking thread waits for another job before it exits (default 10 s).
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.executor = self.executor.blocking_keep_alive(keep_alive);
        self
    }

    /// Names blocking thread `index` `name(index)` (default `reactor-blocking-N`).
    pub fn blocking_thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.executor = self.executor.blocking_thread_name(name);
        self
    }

    /// Runs `hook` on each thread the runtime starts (workers and blocking threads) when it starts.
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` on each thread the runtime started (workers and blocking threads) when it stops.
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.executor = self.executor.on_thread_stop(hook);
        self
    }

    /// Runs `hook` as each task is spawned: see [`Builder::on_task_spawn`].
    pub fn on_task_spawn(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.executor = self.executor.on_task_spawn(hook);
        self
    }

    /// Runs `hook` right before each poll of a task: see [`Builder::on_task_poll_start`].
    pub fn on_task_poll_start(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.executor = self.executor.on_task_poll_start(hook);
        self
    }

    /// Runs `hook` right after each poll of a task: see [`Builder::on_task_poll_end`].
    pub fn on_task_poll_end(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.executor = self.executor.on_task_poll_end(hook);
        self
    }

    /// Runs `hook` once a task's future has been dropped: see [`Builder::on_task_terminate`].
    pub fn on_task_terminate(mut self, hook: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static) -> Self {
        self.executor = self.executor.on_task_terminate(hook);
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    ///
    /// `Unsupported` for [`Backend::Epoll`] where epoll does not exist, and for
    /// [`Backend::IoUring`] where io_uring cannot be used (the reason, an
    /// [`Unavailable`](crate::Unavailable), is the error's source); the error of creating the
    /// I/O backend or of spawning a worker thread.
    pub fn build(self) -> io::Result<Runtime> {
        self.build_with(Timer::new())
    }

    /// Starts the runtime with a manually advanced clock: timers fire only when the returned
    /// [`ManualClock`](reactor_timer::ManualClock) is advanced, so tests of timeout logic are
    /// deterministic and instant, whatever the number of worker threads.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn build_with_manual_clock(self) -> io::Result<(Runtime, reactor_timer::ManualClock)> {
        let (timer, clock) = Timer::with_manual_clock();
        Ok((self.build_with(timer)?, clock))
    }

    /// Starts the runtime on a paused clock: time stands still while anything can happen, and
    /// whenever every thread of the runtime is idle and the backend has nothing ready, it jumps to the
    /// next timer's deadline. Tests of timeout logic then need no advances: they await, and get
    /// the same result on any number of worker threads, in no real time. The returned
    /// [`ManualClock`](reactor_timer::ManualClock) still advances it by hand. See
    /// [`Timer::with_paused_clock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use std::time::Duration;
    /// use reactor_epoll::{time, Runtime};
    ///
    /// let (runtime, clock) = Runtime::builder().worker_threads(4).build_with_paused_clock()?;
    /// let task = runtime.spawn(async { time::timeout(Duration::from_secs(30), pending::<()>()).await });
    /// clock.advance(Duration::from_secs(1)); // manual advances still work
    /// assert!(runtime.block_on(task)?.is_err()); // timed out, instantly
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn build_with_paused_clock(self) -> io::Result<(Runtime, reactor_timer::ManualClock)> {
        let (timer, clock) = Timer::with_paused_clock();
        Ok((self.build_with(timer)?, clock))
    }

    fn build_with(self, timer: Timer) -> io::Result<Runtime> {
        let (backend, choice) = self.backend.create()?;
        let channels = ChannelSource::new();
        let mut source = Composite::new(backend.boxed())?;
        let passive: [Box<dyn EventSource>; 2] = [Box::new(timer.clone()), Box::new(channels.clone())];
        for part in passive.into_iter().chain(self.extra_sources) {
            source = source.with(part).map_err(|error| {
                if !error.is_blocking() {
                    return io::Error::from(error); // refused to attach: driven elsewhere already
                }
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a runtime's extra sources must be passive: it already blocks in its I/O \
                     backend (register an fd with reactor_epoll::Watch::new on Runtime::io instead)",
                )
            })?;
        }
        let user_hook = self.on_thread_start;
        let pending = timer.clone();
        let executor = self
            .executor
            .timers_pending(move || pending.pending())
            .on_thread_start(move || {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                sys::minimise_timer_slack();
                if let Some(hook) = &user_hook {
                    hook();
                }
            })
            .build(source)?;
        Ok(Runtime { executor, backend, choice, timer, channels })
    }
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("executor", &self.executor)
            .field("backend", &self.backend)
            .field("extra_sources", &self.extra_sources.len())
            .finish()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Minimal timer slack on this thread while it lives (also when the future panics).
#[cfg(any(target_os = "linux", target_os = "android"))]
struct TimerSlack {
    previous: libc::c_ulong,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl TimerSlack {
    fn minimise() -> Self {
        Self { previous: sys::minimise_timer_slack() }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Drop for TimerSlack {
    fn drop(&mut self) {
        sys::restore_timer_slack(self.previous);
    }
}
