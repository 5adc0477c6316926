//! Runtime metrics: what the threads of an executor are doing, always on, cheap to keep.
//!
//! [`Executor::metrics`](crate::Executor::metrics) and [`Handle::metrics`](crate::Handle::metrics)
//! return a [`RuntimeMetrics`], a live handle whose accessors each read one number now. Its
//! [`snapshot`](RuntimeMetrics::snapshot) copies every number into a [`MetricsSnapshot`], a plain
//! owned struct to log, diff or export.
//!
//! # What is counted
//!
//! | metric | per | kind |
//! |---|---|---|
//! | tasks polled, tasks stolen, steal operations, parks | worker (and the `block_on` threads) | counter |
//! | time busy, time parked | worker (and the `block_on` threads) | counter (a duration) |
//! | local queue depth | worker (and the spare queue) | gauge |
//! | injector (global queue) depth | executor | gauge |
//! | tasks alive, tasks spawned | executor | gauge, counter |
//! | source waits, waits that ran no callback, events dispatched | executor | counters |
//! | timers pending | executor, if its runtime tells it (the default runtime does) | gauge |
//! | blocking threads, idle blocking threads, queued blocking jobs | executor | gauges |
//!
//! Counters only grow (they wrap at `u64::MAX`, which no run reaches); gauges are the value at
//! the moment they are read. Tasks are the futures given to `spawn` (by any path:
//! [`Executor::spawn`](crate::Executor::spawn), [`Handle::spawn`](crate::Handle::spawn), a
//! runtime's `spawn`); `spawn_local` tasks and blocking jobs are not tasks here (blocking jobs
//! have their own gauges).
//!
//! # How fresh, and how consistent
//!
//! Reading a metric never stops or slows the threads it describes, and so it is **racy by
//! design**:
//!
//! - a thread publishes its task counts (polls, steals) into its slot every
//!   few dozen tasks (every 67), when it parks, and when it leaves; its busy and parked time at
//!   the edges of each park. A busy thread's numbers may lag by up to that many polls, and the
//!   busy time of a thread that has not parked for a while grows only when it next parks;
//! - a [`MetricsSnapshot`] reads each number once, one after the other: it is **not atomic
//!   across counters**. Two counters of one snapshot may come from slightly different moments
//!   (tasks alive may count a task whose spawn is not in tasks spawned yet, or the other way
//!   round); each counter on its own never goes back between two snapshots.
//!
//! None of this needs a loom model: each counter has one writer at a time (its thread) or is
//! only ever added to atomically, and no thread of the executor reads a counter to decide
//! anything. Nothing is published *through* a counter, so no interleaving can make the
//! executor behave differently; the worst a race does is show a number that is already stale.
//!
//! # Cost
//!
//! Polling a task adds one to an integer the thread keeps for itself; nothing shared is written
//! per poll, and the clock is read only when a thread parks and when it wakes. A thread writes
//! its own cache-padded slot (a load and a store per counter, no atomic read-modify-write).
//! A spawn adds one atomic add, on the cache line its live-task count already takes.
//! Reading the blocking pool's gauges takes the pool's lock for a moment, and reading timers
//! pending takes each timer shard's lock; everything else is lock-free.
//!
//! # Exporting
//!
//! Take a [`snapshot`](RuntimeMetrics::snapshot) on a timer (say every 10 seconds, from a task
//! or a thread of your own) and hand its public fields to your metrics library: counters as
//! counters (or diff two snapshots for rates; [`MetricsSnapshot::total_polls`] and friends sum
//! the threads), gauges as gauges. Its [`Display`](std::fmt::Display) prints one `key=value`
//! line (logfmt), enough for logs. The structs are `#[non_exhaustive]`: new metrics become new
//! fields without breaking your code. There is no `serde` feature: the fields are public plain
//! numbers and durations, so mapping them onto your exporter's own types is a few lines, while
//! a derived serialised form would add a proc-macro dependency to the core crate and freeze the
//! field names as a wire format beside the Rust API.
//!
//! ```
//! use reactor::source::PingSource;
//! use reactor::Builder;
//!
//! let executor = Builder::new().worker_threads(2).build(PingSource::new())?;
//! let metrics = executor.metrics();
//! executor.block_on(executor.spawn(async { 1 + 1 }))?;
//! assert_eq!(metrics.num_workers(), 2);
//! assert!(metrics.spawned_tasks_count() >= 1);
//! let snapshot = metrics.snapshot();
//! println!("{snapshot}"); // workers=2 polls=.. steals=.. parks=.. alive_tasks=..
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Compared with tokio
//!
//! The shape is tokio's `RuntimeMetrics`: a cloneable handle from the runtime or a handle, one
//! accessor per number, per-worker accessors taking the worker's index. In tokio only
//! `num_workers`, `num_alive_tasks`, `global_queue_depth`, `worker_park_count`,
//! `worker_park_unpark_count` and `worker_total_busy_duration` are stable; polls, steals, local
//! queue depth, spawned tasks, the blocking pool's gauges and the I/O driver's counts need
//! `--cfg tokio_unstable`. Here every metric is stable and always on. Differences:
//!
//! - a per-worker accessor returns `None` for an index out of range, where tokio panics;
//! - `block_on` threads are reported apart ([`RuntimeMetrics::block_on_threads`]): in tokio a
//!   `current_thread` runtime counts its `block_on` thread as its one worker, and a
//!   multi-threaded runtime does not count it at all. An executor without workers here has
//!   `num_workers() == 0` and all its work in `block_on_threads`;
//! - time parked is measured as well as time busy;
//! - the source is any [`EventSource`](crate::EventSource), so its counts are of
//!   [`wait`](crate::EventSource::wait) calls and the callbacks they ran, not of I/O readiness
//!   events as in tokio (`io_driver_ready_count`);
//! - tokio's poll-time histogram, per-worker overflow, noop and local/remote schedule counts
//!   are not kept (they would cost a clock read per poll, or a write per schedule);
//! - there is a [`snapshot`](RuntimeMetrics::snapshot), an owned copy of everything (tokio
//!   leaves that to the `tokio-metrics` crate).

use std::fmt;
use std::sync::Arc as StdArc;
use std::time::Duration;

use crate::executor::recorder::Slot;
use crate::executor::shared::Shared;
use crate::sync::Arc;

/// How a runtime tells its metrics how many timers are pending (see
/// [`Builder::timers_pending`](crate::Builder::timers_pending)).
pub(crate) type TimerGauge = StdArc<dyn Fn() -> usize + Send + Sync>;

/// A live view of an executor's metrics: each accessor reads one number now.
///
/// Cheap to clone. Like a [`Handle`](crate::Handle) it keeps the executor's shared state alive
/// (its source included, not its threads): after the executor is dropped it still reads the
/// last numbers. See the
/// [module docs](crate::metrics) for what is counted, how fresh the numbers are, and how this
/// compares with tokio's `RuntimeMetrics`.
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(crate) shared: Arc<Shared>,
}

impl RuntimeMetrics {
    /// The number of worker threads (0 for an executor that runs only on `block_on` threads).
    pub fn num_workers(&self) -> usize {
        self.shared.metrics.slots.len() - 1
    }

    /// Tasks polled by worker `worker` so far (each run of a task counts, also the one that
    /// only drops a task cancelled while queued); `None` if there is no such worker.
    pub fn worker_poll_count(&self, worker: usize) -> Option<u64> {
        self.worker_slot(worker).map(|slot| slot.polls.get())
    }

    /// Tasks worker `worker` took from other threads' queues so far; `None` if there is no
    /// such worker.
    pub fn worker_steal_count(&self, worker: usize) -> Option<u64> {
        self.worker_slot(worker).map(|slot| slot.steals.get())
    }

    /// Times worker `worker` ran out of tasks and went to sleep (including sleeps cut short at
    /// once because work arrived meanwhile); `None` if there is no such worker.
    pub fn worker_park_count(&self, worker: usize) -> Option<u64> {
        self.worker_slot(worker).map(|slot| slot.parks.get())
    }

    /// Time worker `worker` spent outside its parks, as of its last park; `None` if there is
    /// no such worker.
    pub fn worker_busy_duration(&self, worker: usize) -> Option<Duration> {
        self.worker_slot(worker).map(|slot| Duration::from_nanos(slot.busy_nanos.get()))
    }

    /// Time worker `worker` spent parked; `None` if there is no such worker.
    pub fn worker_parked_duration(&self, worker: usize) -> Option<Duration> {
        self.worker_slot(worker).map(|slot| Duration::from_nanos(slot.parked_nanos.get()))
    }

    /// Tasks queued in worker `worker`'s local queue now (not counting the one task in its
    /// LIFO slot); `None` if there is no such worker.
    pub fn worker_local_queue_depth(&self, worker: usize) -> Option<usize> {
        (worker < self.num_workers()).then(|| self.shared.stealers[worker].len())
    }

    /// Everything about worker `worker` at once; `None` if there is no such worker.
    pub fn worker(&self, worker: usize) -> Option<WorkerSnapshot> {
        let slot = self.worker_slot(worker)?;
        let mut snapshot = WorkerSnapshot::of(slot);
        snapshot.local_queue_depth = self.shared.stealers[worker].len();
        Some(snapshot)
    }

    /// The threads running [`block_on`](crate::Executor::block_on) or a host's
    /// [`turn`](crate::Host::turn), summed: they run the executor's tasks while they wait, and
    /// in an executor without workers they are the only ones that do. The local queue depth is
    /// that of the spare queue such a thread borrows. Their busy time is their time inside
    /// `block_on` (or a turn) outside parks; a host's time between turns counts as neither busy
    /// nor parked.
    pub fn block_on_threads(&self) -> WorkerSnapshot {
        let counters = &self.shared.metrics;
        let spare = counters.outside(true);
        let mut snapshot = WorkerSnapshot::of(spare);
        let unowned = WorkerSnapshot::of(&counters.unowned);
        snapshot.polls = snapshot.polls.wrapping_add(unowned.polls);
        snapshot.steals = snapshot.steals.wrapping_add(unowned.steals);
        snapshot.steal_operations = snapshot.steal_operations.wrapping_add(unowned.steal_operations);
        snapshot.parks = snapshot.parks.wrapping_add(unowned.parks);
        snapshot.busy = snapshot.busy.saturating_add(unowned.busy);
        snapshot.parked = snapshot.parked.saturating_add(unowned.parked);
        snapshot.local_queue_depth = match self.shared.stealers.last() {
            // Workers exist: the spare queue is stealable, and its stealer is the last.
            Some(stealer) => stealer.len(),
            // A plain queue, which only its holder can read: as of its last publish.
            None => usize::try_from(spare.plain_queue_depth.get()).unwrap_or(usize::MAX),
        };
        snapshot
    }

    /// Tasks waiting in the injector, the queue of tasks spawned or woken from outside the
    /// executor's threads (and of local queues' overflow).
    pub fn injection_queue_depth(&self) -> usize {
        self.shared.injector.len()
    }

    /// Tasks spawned and not yet completed or dropped.
    pub fn num_alive_tasks(&self) -> u64 {
        self.shared.active.counts().0
    }

    /// Tasks spawned since the executor started.
    pub fn spawned_tasks_count(&self) -> u64 {
        self.shared.active.counts().1
    }

    /// Calls of the source's [`wait`](crate::EventSource::wait) so far, blocking or not (a
    /// busy executor polls its source without blocking every few dozen tasks).
    pub fn source_wait_count(&self) -> u64 {
        self.shared.metrics.source.waits.get()
    }

    /// Waits that ran no callback: timed out, were notified, failed, or found nothing ready.
    pub fn source_empty_wait_count(&self) -> u64 {
        self.shared.metrics.source.empty_waits.get()
    }

    /// Callbacks the source's waits ran (the counts [`wait`](crate::EventSource::wait)
    /// returned, summed): timers fired, I/O readiness dispatched, messages delivered...
    /// Divided by [`source_wait_count`](Self::source_wait_count), the events per wait.
    pub fn events_dispatched_count(&self) -> u64 {
        self.shared.metrics.source.events.get()
    }

    /// Timers waiting to fire, if the executor's runtime told it how to count them (the
    /// default runtime, `reactor_epoll::Runtime`, does: see
    /// [`Builder::timers_pending`](crate::Builder::timers_pending)); `None` otherwise.
    pub fn timers_pending(&self) -> Option<usize> {
        self.shared.timers_pending.as_ref().map(|count| count())
    }

    /// Threads of the blocking pool, busy or idle.
    pub fn blocking_threads(&self) -> usize {
        self.shared.blocking.stats().threads
    }

    /// Threads of the blocking pool waiting for a job.
    pub fn blocking_idle_threads(&self) -> usize {
        self.shared.blocking.stats().idle
    }

    /// Blocking jobs queued and not yet taken by a thread.
    pub fn blocking_queue_depth(&self) -> usize {
        self.shared.blocking.stats().queued
    }

    /// Every metric at once, in an owned struct (not atomic across counters: see the
    /// [module docs](crate::metrics)).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let (alive_tasks, spawned_tasks) = self.shared.active.counts();
        let blocking = self.shared.blocking.stats();
        MetricsSnapshot {
            workers: (0..self.num_workers()).filter_map(|worker| self.worker(worker)).collect(),
            block_on_threads: self.block_on_threads(),
            injection_queue_depth: self.injection_queue_depth(),
            alive_tasks,
            spawned_tasks,
            source_waits: self.source_wait_count(),
            source_empty_waits: self.source_empty_wait_count(),
            events_dispatched: self.events_dispatched_count(),
            timers_pending: self.timers_pending(),
            blocking_threads: blocking.threads,
            blocking_idle_threads: blocking.idle,
            blocking_queue_depth: blocking.queued,
        }
    }

    fn worker_slot(&self, worker: usize) -> Option<&Slot> {
        (worker < self.num_workers()).then(|| self.shared.metrics.worker(worker))
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics").field("num_workers", &self.num_workers()).finish_non_exhaustive()
    }
}

/// What one thread (or, for [`MetricsSnapshot::block_on_threads`], one group of threads) of an
/// executor has done: an owned copy. Counters are totals since the executor started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerSnapshot {
    /// Tasks polled.
    pub polls: u64,
    /// Tasks taken from other threads' queues.
    pub steals: u64,
    /// Steal operations that took at least one task (each takes up to half a victim's queue).
    pub steal_operations: u64,
    /// Times the thread ran out of tasks and went to sleep.
    pub parks: u64,
    /// Time spent outside parks (running tasks, looking for them, polling the source without
    /// blocking), as of the thread's last park.
    pub busy: Duration,
    /// Time spent parked (asleep, or blocked in the source's wait).
    pub parked: Duration,
    /// Tasks in the thread's local queue when read (gauge).
    pub local_queue_depth: usize,
}

impl WorkerSnapshot {
    fn of(slot: &Slot) -> Self {
        Self {
            polls: slot.polls.get(),
            steals: slot.steals.get(),
            steal_operations: slot.steal_operations.get(),
            parks: slot.parks.get(),
            busy: Duration::from_nanos(slot.busy_nanos.get()),
            parked: Duration::from_nanos(slot.parked_nanos.get()),
            local_queue_depth: 0,
        }
    }
}

/// Every metric of an executor, copied at one time (each number read once; not atomic across
/// numbers, see the [module docs](crate::metrics)). Counters are totals since the executor
/// started; gauges are values when read.
///
/// `Display` writes one logfmt line (`key=value` pairs), with per-thread numbers summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// One entry per worker thread, by index.
    pub workers: Vec<WorkerSnapshot>,
    /// The threads running `block_on` or a host's turn, summed (see
    /// [`RuntimeMetrics::block_on_threads`]).
    pub block_on_threads: WorkerSnapshot,
    /// Tasks in the injector (gauge).
    pub injection_queue_depth: usize,
    /// Tasks spawned and not yet completed or dropped (gauge).
    pub alive_tasks: u64,
    /// Tasks spawned since the executor started.
    pub spawned_tasks: u64,
    /// Calls of the source's `wait`, blocking or not.
    pub source_waits: u64,
    /// Waits that ran no callback.
    pub source_empty_waits: u64,
    /// Callbacks run by the source's waits.
    pub events_dispatched: u64,
    /// Timers waiting to fire (gauge), if the runtime counts them.
    pub timers_pending: Option<usize>,
    /// Threads of the blocking pool (gauge).
    pub blocking_threads: usize,
    /// Idle threads of the blocking pool (gauge).
    pub blocking_idle_threads: usize,
    /// Blocking jobs waiting for a thread (gauge).
    pub blocking_queue_depth: usize,
}

impl MetricsSnapshot {
    /// Every thread's entry: the workers', then the `block_on` threads'.
    fn threads(&self) -> impl Iterator<Item = &WorkerSnapshot> {
        self.workers.iter().chain(std::iter::once(&self.block_on_threads))
    }

    /// Tasks polled by every thread, workers and `block_on` threads.
    pub fn total_polls(&self) -> u64 {
        self.threads().fold(0, |sum, thread| sum.wrapping_add(thread.polls))
    }

    /// Tasks stolen by every thread.
    pub fn total_steals(&self) -> u64 {
        self.threads().fold(0, |sum, thread| sum.wrapping_add(thread.steals))
    }

    /// Parks of every thread.
    pub fn total_parks(&self) -> u64 {
        self.threads().fold(0, |sum, thread| sum.wrapping_add(thread.parks))
    }

    /// Time busy, summed over every thread.
    pub fn total_busy(&self) -> Duration {
        self.threads().fold(Duration::ZERO, |sum, thread| sum.saturating_add(thread.busy))
    }

    /// Time parked, summed over every thread.
    pub fn total_parked(&self) -> Duration {
        self.threads().fold(Duration::ZERO, |sum, thread| sum.saturating_add(thread.parked))
    }

    /// Tasks in every local queue (gauge).
    pub fn total_local_queue_depth(&self) -> usize {
        self.threads().fold(0, |sum, thread| sum.saturating_add(thread.local_queue_depth))
    }
}

impl fmt::Display for MetricsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workers={} polls={} steals={} parks={} busy_ms={} parked_ms={} local_queued={} \
             injected={} alive_tasks={} spawned_tasks={} source_waits={} source_empty_waits={} \
             events={}",
            self.workers.len(),
            self.total_polls(),
            self.total_steals(),
            self.total_parks(),
            self.total_busy().as_millis(),
            self.total_parked().as_millis(),
            self.total_local_queue_depth(),
            self.injection_queue_depth,
            self.alive_tasks,
            self.spawned_tasks,
            self.source_waits,
            self.source_empty_waits,
            self.events_dispatched,
        )?;
        if let Some(timers) = self.timers_pending {
            write!(f, " timers_pending={timers}")?;
        }
        write!(
            f,
            " blocking_threads={} blocking_idle={} blocking_queued={}",
            self.blocking_threads, self.blocking_idle_threads, self.blocking_queue_depth
        )
    }
}
