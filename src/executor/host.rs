//! Embedding the executor in an event loop that is not its own: a [`Host`] and its turns.
//!
//! # The protocol
//!
//! Between turns the host thread sleeps in a poll of its own (`poll(2)`, a GUI toolkit's main
//! loop) that watches the source's readiness, for instance the epoll fd. The only wake-up it can
//! get from the executor is therefore the source becoming ready: a registered event, or the
//! source's notify. Three rules follow, each checked by a loom model
//! (`loom-tests/tests/executor_turn.rs`):
//!
//! - **The host owns the poll role.** It takes the poll token when it is created and holds it
//!   until it is dropped (see `sleep.rs`): a thread waiting in the source would consume the
//!   readiness the host's poll waits for. Its turns wait in the source with a zero timeout.
//! - **Between turns the host is an idle thread driving the source.** Its parker is listed on
//!   the idle list in the *driving* state, so work for an idle executor picks it like any
//!   sleeper, and the wake-up (`Parker::unpark`) is the source's notify; a wake of one of its
//!   `!Send` tasks reaches it the same way.
//! - **A turn lists itself before it reports.** It ends by consuming any wake-up that arrived
//!   during the turn, listing its parker, fencing, and only then looking at the queues: a
//!   producer that queued a task meanwhile either found the host listed and woke it, or its
//!   task is seen here and reported as more work (the handshake of `sleep.rs`).
//!
//! A host that leaves does what a returning `block_on` does: it hands the poll role to a thread
//! parked without it, and wakes a sleeper for work left queued.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::executor::context::{self, Current, EnterGuard, OwnedQueue};
use crate::executor::local_tasks::LocalTasks;
use crate::executor::parker::Parker;
use crate::executor::shared::Shared;
use crate::executor::signal::Signal;
use crate::executor::worker::{next_task, run_task, Ticks, EVENT_INTERVAL};
use crate::sync::atomic::{fence, Ordering};
use crate::sync::{seeded, thread, thread_local, Arc};
use crate::task::Task;

thread_local! {
    /// The executors this thread hosts (their `Shared`'s address), so that `block_on` on a
    /// host's thread is refused instead of deadlocking.
    static HOSTED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Whether the calling thread hosts the executor of `shared`.
pub(crate) fn hosts_here(shared: &Arc<Shared>) -> bool {
    let address = Arc::as_ptr(shared) as usize;
    HOSTED.try_with(|hosted| hosted.borrow().contains(&address)).unwrap_or(false)
}

/// An executor embedded in an event loop of the host's own (a GUI toolkit's main loop, winit, a
/// compositor's calloop, a plain `poll(2)` loop): the host drives it turn by turn on its own
/// thread, and the executor needs no thread of its own.
///
/// Made by [`Executor::host`](crate::Executor::host). The host loop repeats two steps:
///
/// 1. [`turn`](Self::turn): dispatch the events the source has ready, run up to a budget of
///    ready tasks, and report when the executor next needs a turn;
/// 2. wait, in the host's own poll, until the source is ready (for
///    `reactor_epoll::Epoll`, its fd turns readable: watch it
///    beside the host's own fds) or the turn's [`timeout`](Turn::timeout) passes. When the turn
///    reports [`has_more`](Turn::has_more), do not block.
///
/// Everything that must reach a sleeping host reaches it through the source: an event, a task
/// spawned or woken from another thread, a timer registered with an earlier deadline. Inside the
/// tasks a turn runs, the ambient APIs find this executor as in a `block_on`
/// ([`Handle::current`](crate::Handle::current), [`current_source`](crate::current_source),
/// and what is built on them, such as `reactor_epoll::Async::new`).
///
/// # The host owns the source
///
/// While a `Host` lives, its turns are the only place the executor waits in its source: no
/// worker or `block_on` thread takes the poll role (another thread waiting in the source would
/// consume the readiness the host's poll waits for). With worker threads, that means events and
/// timers are dispatched only in turns, and the workers run the tasks they wake; a host that
/// turns rarely delays them. A pool task that completes on a worker wakes only what awaits it:
/// a host loop that waits for one awaits it in a [`spawn_local`](Self::spawn_local) task,
/// whose wake-up reaches the host. A `block_on` on another thread works as usual, its I/O dispatched
/// by the host's turns. Creating a `Host` while another thread waits in the source notifies
/// that thread and waits for it to come out, which the source's notify makes prompt.
///
/// A `Host` is tied to the thread that made it (it is neither `Send` nor `Sync`), where its
/// [`spawn_local`](Self::spawn_local) tasks run. On that thread [`Executor::block_on`] of the
/// same executor is refused while the `Host` lives (it would wait for I/O that only the host's
/// turns dispatch), and so [`Executor::shutdown_timeout`] does not wait there.
///
/// Dropping the `Host` drops its `!Send` tasks' futures, on this thread, and hands the source
/// back to the executor's other threads, if it has any.
///
/// [`Executor::block_on`]: crate::Executor::block_on
/// [`Executor::shutdown_timeout`]: crate::Executor::shutdown_timeout
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use reactor::{source::PingSource, Builder};
///
/// let pings = PingSource::new();
/// let executor = Builder::new().worker_threads(0).build(pings.clone())?;
/// let host = executor.host()?;
///
/// let rang = Rc::new(Cell::new(0)); // not Send: the task runs on this thread
/// let task = host.spawn_local({
///     let rang = rang.clone();
///     async move { rang.set(rang.get() + 1) }
/// });
/// let pool_task = executor.spawn(async { 6 * 7 });
/// let (ping, _registration) = pings.register(|| println!("pinged"));
/// ping.ping();
///
/// // One turn dispatches the ping and runs both tasks, without blocking.
/// let turn = host.turn(16)?;
/// assert_eq!(turn.tasks_run(), 2);
/// assert!(task.is_finished() && pool_task.is_finished());
/// assert_eq!(rang.get(), 1);
/// // Nothing more to do, and no deadline: the host may sleep until the source is ready.
/// assert!(!turn.has_more());
/// assert_eq!(turn.timeout(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Host {
    shared: Arc<Shared>,
    /// How the host is woken: listed on the idle list between turns, driving (module docs).
    parker: Arc<Parker>,
    /// The `!Send` tasks of this host, run by its turns.
    local_tasks: Rc<LocalTasks>,
}

impl Host {
    /// Makes the calling thread the host of the executor of `shared` (see
    /// [`Executor::host`](crate::Executor::host)).
    pub(crate) fn new(shared: &Arc<Shared>) -> Result<Self, HostError> {
        if context::current_shared().is_some() {
            return Err(HostError::Nested);
        }
        if shared.is_shut_down() {
            return Err(HostError::ShutDown);
        }
        if !shared.claim_host() {
            return Err(HostError::AlreadyHosted);
        }
        // Nobody takes the token any more; the thread that holds it, if any, is waiting in the
        // source or about to: its wait ends promptly when notified, and it gives the token back.
        while !shared.take_token_for_host() {
            if !seeded!(HostTakeoverSkipsNotify) {
                shared.source.notify();
            }
            thread::yield_now();
        }
        let parker = Arc::new(Parker::new());
        let signal = Arc::new(Signal::new(parker.clone(), shared.source.clone()));
        let local_tasks = LocalTasks::new(signal, shared.clone());
        shared.thread_joins();
        let address = Arc::as_ptr(shared) as usize;
        HOSTED.with(|hosted| hosted.borrow_mut().push(address));
        let host = Self { shared: shared.clone(), parker, local_tasks };
        host.sleep();
        Ok(host)
    }

    /// Runs one turn of the executor on this thread, without blocking: dispatches the events
    /// the source has ready (a zero-timeout [`wait`](crate::EventSource::wait)), then runs up
    /// to `budget` ready tasks, pool tasks and this host's [`spawn_local`](Self::spawn_local)
    /// tasks alike, polling the source again every 67 tasks.
    ///
    /// The [`Turn`] it returns says how many tasks ran, whether more work is ready right now
    /// (then do not block before the next turn), and when the source next needs a turn without
    /// any event (its [`deadline`](crate::EventSource::deadline), a timer's); its
    /// [`timeout`](Turn::timeout) is what the host's poll should wait at most. A `budget` of 0
    /// only dispatches events.
    ///
    /// A failed wait of the source goes to the executor's error hook, as in every other wait
    /// (see [`Builder::on_source_error`](crate::Builder::on_source_error)): while the executor
    /// backs off, turns leave the source alone, and the turn's deadline includes the end of the
    /// back-off.
    ///
    /// On a source with paused time (`reactor_timer::Timer::with_paused_clock`), a turn that
    /// finds every thread of the executor idle and nothing ready moves the clock to the next
    /// deadline and reports more work; the deadline of a paused clock is never a reason to
    /// sleep.
    ///
    /// # Errors
    ///
    /// - [`HostError::Nested`] inside a task, a `block_on` or another turn on this thread: a
    ///   task that turns its own executor would run itself;
    /// - [`HostError::ShutDown`] once the executor has shut down (dropped, or stopped by its
    ///   error hook): nothing can run any more, and the host loop should stop.
    pub fn turn(&self, budget: usize) -> Result<Turn, HostError> {
        let shared = &self.shared;
        let spare_index = shared.spare_index();
        let spare = shared.spare_queue.try_lock().and_then(|mut spare| spare.take());
        let holds_spare = spare.is_some();
        let current = Current {
            shared: shared.clone(),
            queue: spare.map(|queue| OwnedQueue::new(spare_index, queue)),
            local_tasks: Some(self.local_tasks.clone()),
        };
        let entered = match context::enter(current) {
            Ok(entered) => entered,
            Err(current) => {
                if let Some(owned) = current.queue {
                    *shared.spare_queue.lock() = Some(owned.into_queue(shared));
                }
                return Err(HostError::Nested);
            }
        };
        let mut awake = Awake::begin(self, entered);
        if shared.is_shut_down() {
            drop(awake);
            return Err(HostError::ShutDown);
        }
        shared.report(self.dispatch());
        let mut ticks = Ticks::new(spare_index, shared.metrics.outside(holds_spare));
        let mut tasks_run = 0;
        while tasks_run < budget && !shared.is_shut_down() {
            let ran_before = tasks_run;
            if let Some(runnable) = self.local_tasks.pop() {
                run_task(runnable);
                ticks.recorder.polled();
                tasks_run += 1;
            }
            if tasks_run < budget {
                if let Some(runnable) = next_task(shared, &mut ticks) {
                    run_task(runnable);
                    ticks.recorder.polled();
                    tasks_run += 1;
                }
            }
            if tasks_run == ran_before {
                break;
            }
            if ticks.advance() % EVENT_INTERVAL == 0 {
                ticks.publish(shared);
                shared.report(self.dispatch());
            }
        }
        // Publishes this turn's metrics while the spare queue, and so its slot, is still this
        // thread's (`end` hands it back).
        drop(ticks);
        let more = awake.end();
        let retry_at = shared.backoff_remaining().and_then(|remaining| Instant::now().checked_add(remaining));
        let deadline = match (shared.source.deadline(), retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Turn { tasks_run, more, deadline })
    }

    /// Spawns a `!Send` task that runs on this thread, in this host's turns.
    ///
    /// Callable between turns (from the host's own callbacks, say) as well as from the tasks a
    /// turn runs, where [`Executor::spawn_local`](crate::Executor::spawn_local) finds this host
    /// too. Spawned between turns, the task wakes the host's poll through the source. The task
    /// lives as long as the `Host`: dropping it drops the task's future, and awaiting the
    /// task's handle then reports cancellation.
    pub fn spawn_local<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local_tasks.spawn(future)
    }

    /// Dispatches what the source has ready, unless the executor backs off after failed waits.
    fn dispatch(&self) -> io::Result<()> {
        if self.shared.backoff_remaining().is_some() {
            return Ok(());
        }
        self.shared.wait_source(Some(Duration::ZERO)).map(drop)
    }

    /// Goes back to sleep between turns: consumes the wake-ups that arrived during the turn,
    /// lists the host's parker as driving, and then looks for work (module docs). Returns
    /// whether work is ready, so that the host must not block.
    fn sleep(&self) -> bool {
        let shared = &self.shared;
        let mut ready = false;
        if !seeded!(HostSleepsUnannounced) {
            // A failed `prepare` consumed a wake-up meant for this host: a `!Send` task woken
            // during the turn. Again, until the parker drives.
            while !self.parker.prepare(true) {
                ready = true;
            }
        }
        shared.enter_idle(&self.parker, true);
        if seeded!(TurnEndSkipsRecheck) {
            return ready;
        }
        fence(Ordering::SeqCst);
        if ready || shared.has_work() || !self.local_tasks.is_empty() {
            return true;
        }
        shared.pauses_time && shared.all_idle() && self.move_paused_time()
    }

    /// Every thread of the executor is idle, this host included: dispatch what is ready without
    /// blocking and, if that was nothing, move paused time to the next deadline (as the poller
    /// of `paused_time.rs` does before it blocks). Returns whether work may be ready now.
    fn move_paused_time(&self) -> bool {
        let shared = &self.shared;
        match shared.wait_source(Some(Duration::ZERO)) {
            Ok(0) => {}
            Ok(_) => return true,
            Err(error) => {
                shared.report(Err(error));
                return true;
            }
        }
        if shared.has_work() || !shared.all_idle() {
            return true;
        }
        // The zero-timeout wait may have consumed a notify meant to wake this host: its
        // parker then says so.
        shared.source.advance_idle_time() || !self.parker.is_driving()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let shared = &self.shared;
        let address = Arc::as_ptr(shared) as usize;
        let _ = HOSTED.try_with(|hosted| hosted.borrow_mut().retain(|&hosted| hosted != address));
        let picked = shared.leave_idle(&self.parker);
        self.parker.finish();
        if picked {
            shared.woke_up();
        }
        self.local_tasks.cancel_all();
        shared.release_host();
        if !seeded!(HostExitSkipsHandOff) {
            shared.hand_off_poll_role();
        }
        shared.wake_for_leftover_work();
        shared.thread_leaves();
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host").field("shut_down", &self.shared.is_shut_down()).finish_non_exhaustive()
    }
}

/// A host's turn in progress: the thread works for the executor until [`end`](Self::end), also
/// when a turn unwinds.
struct Awake<'a> {
    host: &'a Host,
    entered: Option<EnterGuard>,
}

impl<'a> Awake<'a> {
    /// Wakes the host up: off the idle list, its wake-up consumed.
    fn begin(host: &'a Host, entered: EnterGuard) -> Self {
        let picked = host.shared.leave_idle(&host.parker);
        host.parker.finish();
        if picked {
            // A producer picked this host: the wake-up in flight has arrived (see `sleep.rs`).
            host.shared.woke_up();
        }
        Self { host, entered: Some(entered) }
    }

    /// Ends the turn: gives the borrowed queue's tasks back to the pool, wakes a sleeper for
    /// them, puts the host back to sleep, and leaves the executor's context (only then: the
    /// paused-time dispatch of `Host::sleep` runs callbacks that may use ambient APIs). Returns
    /// whether work is ready.
    fn end(&mut self) -> bool {
        let Some(entered) = self.entered.take() else {
            return true;
        };
        let shared = &self.host.shared;
        // From now on tasks woken on this thread go to the injector, where `sleep` looks.
        if let Some(owned) = context::with_current(|current| current.queue.take()).flatten() {
            *shared.spare_queue.lock() = Some(owned.into_queue(shared));
        }
        // Before the host lists itself, so that it cannot pick itself.
        shared.wake_for_leftover_work();
        let ready = self.host.sleep();
        drop(entered);
        ready
    }
}

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

/// What one [`Host::turn`] did, and when the host should turn next.
///
/// # Examples
///
/// How a `poll(2)` host loop computes its timeout in milliseconds, rounding up so that it does
/// not wake before the deadline and spin:
///
/// ```
/// fn poll_timeout_ms(turn: &reactor::Turn) -> i32 {
///     match turn.timeout() {
///         None => -1, // wait for an event
///         Some(timeout) => {
///             let ms = timeout.as_nanos().div_ceil(1_000_000);
///             i32::try_from(ms).unwrap_or(i32::MAX)
///         }
///     }
/// }
/// # let executor = reactor::Builder::new().worker_threads(0).build(reactor::source::Parking::new())?;
/// # let host = executor.host()?;
/// # assert_eq!(poll_timeout_ms(&host.turn(1)?), -1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn {
    tasks_run: usize,
    more: bool,
    deadline: Option<Instant>,
}

impl Turn {
    /// How many tasks the turn ran (pool and `!Send` tasks).
    pub fn tasks_run(&self) -> usize {
        self.tasks_run
    }

    /// Whether more work is ready right now (the budget ran out, or tasks were woken meanwhile):
    /// the host should turn again without blocking, after its own events.
    pub fn has_more(&self) -> bool {
        self.more
    }

    /// When the executor next needs a turn even if no event arrives (a timer's deadline, the end
    /// of a back-off after failed waits), or `None` if only an event or a wake-up will need one.
    /// Sooner needs arrive as events: a timer registered later with an earlier deadline
    /// notifies the source.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// How long the host may wait before the next turn: zero if [`has_more`](Self::has_more),
    /// else until the [`deadline`](Self::deadline), or `None` to wait for an event. Round it
    /// up, not down, when the host's poll counts in coarser units (milliseconds for `poll(2)`),
    /// or the host wakes before the deadline and spins until it.
    pub fn timeout(&self) -> Option<Duration> {
        if self.more {
            return Some(Duration::ZERO);
        }
        self.deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }
}

/// Why [`Executor::host`](crate::Executor::host) or [`Host::turn`] refused.
///
/// Converts into an [`io::Error`] for `?` in a host loop returning `io::Result`, with the kind
/// each variant names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// Called on a thread that is running an executor's tasks: inside a task, a `block_on`, or
    /// a turn. A task that turned its own executor would run itself; a host is made, and turns,
    /// from the host loop, outside every executor. Kind
    /// [`Unsupported`](io::ErrorKind::Unsupported).
    Nested,
    /// The executor already has a [`Host`]: one host loop owns its source at a time. Kind
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists).
    AlreadyHosted,
    /// The executor has shut down (dropped, or stopped by its error hook): nothing runs any
    /// more. Kind [`Other`](io::ErrorKind::Other).
    ShutDown,
}

impl HostError {
    /// The [`io::ErrorKind`] of the error's conversion into an [`io::Error`].
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Self::Nested => io::ErrorKind::Unsupported,
            Self::AlreadyHosted => io::ErrorKind::AlreadyExists,
            Self::ShutDown => io::ErrorKind::Other,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nested => {
                "a host loop cannot run inside an executor: this thread is running a task, a \
                 block_on or a turn"
            }
            Self::AlreadyHosted => "the executor already has a host loop",
            Self::ShutDown => "the executor has shut down",
        })
    }
}

impl Error for HostError {}

impl From<HostError> for io::Error {
    fn from(error: HostError) -> Self {
        io::Error::new(error.kind(), error)
    }
}
