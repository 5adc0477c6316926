//! The blocking pool: threads, started on demand, that run the closures given to
//! [`Executor::spawn_blocking`](crate::Executor::spawn_blocking).
//!
//! # The protocol
//!
//! Everything is under one mutex, `State`; the only thing outside it is each thread's parker.
//!
//! - **Submit** (a blocking task's schedule function): queue the runnable; if a thread is idle,
//!   take the most recently idle one off the idle list, mark it *picked* and unpark it; else,
//!   if fewer than the maximum threads live, count a new one and start it (outside the lock);
//!   else leave the job queued: a busy thread takes it when it finishes.
//! - **A thread** takes queued jobs until the queue is empty; then, unless the pool is shut
//!   down, it puts itself on the idle list and parks for at most the keep-alive. Woken, it looks
//!   at the mark, not at the clock: a picked thread is no longer on the idle list, and a job was
//!   queued for it, so it takes jobs again even if its keep-alive ran out at the same moment
//!   (a thread that left on its clock here would strand the job: nobody else was woken for it).
//!   A thread that is still on the idle list when its keep-alive runs out takes itself off it
//!   and exits, under the lock, so no submitter can pick it afterwards.
//! - **Shutdown** (the executor's): set the flag, drop every queued runnable (their tasks
//!   resolve to a cancelled [`JoinError`](crate::JoinError)), and unpark every idle thread, which
//!   exits. A job already running finishes; its thread then exits, and the last one to exit
//!   notifies `stopped`, which the executor's drop waits for.
//!
//! The model build (loom) has no time: a timed keep-alive park returns at once, as if it ran out,
//! so the models see every thread race its own exit against a submitter; an unbounded keep-alive
//! (`Duration::MAX`) parks for real, so a thread that nobody unparks is a deadlock.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use event_listener::{Event, Listener};

use crate::executor::builder::ThreadHook;
use crate::executor::shared::{Runnable, Shared};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{seeded, thread, thread_local, Arc, Mutex, ThreadPark};

/// The default maximum number of blocking threads (tokio's default too): enough for many
/// concurrent blocking calls (DNS, files), bounded so a flood of them cannot exhaust the
/// process's threads.
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;

/// How long an idle blocking thread waits for work before it exits, by default.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// How the pool's threads are made.
pub(crate) struct PoolConfig {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: std::sync::Arc<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}

/// The blocking pool of one executor.
pub(crate) struct BlockingPool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    config: PoolConfig,
    /// Notified when the last thread exits after shutdown.
    stopped: Event,
}

struct State {
    /// Submitted jobs no thread has taken yet, oldest first.
    queue: VecDeque<Runnable>,
    /// The idle threads, the most recently idle last (picked first: its cache is warm, and the
    /// others' keep-alives run out).
    idle: Vec<Arc<IdleThread>>,
    /// Threads counted for jobs: busy, idle, or starting. A thread leaves this count under the
    /// same lock as its decision to exit, so a submitter never counts on a leaving thread.
    threads: usize,
    /// Threads whose OS thread has not finished yet: `threads` plus those past their exit
    /// decision still running their stop hook. The executor's drop waits for it to reach 0.
    alive: usize,
    /// Index of the next thread started, for its name.
    next_index: usize,
    shutdown: bool,
}

/// An idle thread's wake-up, on the idle list while it waits.
struct IdleThread {
    park: ThreadPark,
    /// Set (under the state lock) by the submitter that takes it off the idle list.
    picked: AtomicBool,
}

thread_local! {
    /// The executor whose blocking job this thread is running: what `Handle::current` and
    /// `current_source` fall back to on a blocking thread, so a job finds its runtime (to spawn
    /// onto it, to register I/O with its backend). Not an executor context: a job may still call
    /// `block_on` or make a `Host`.
    static RUNNING_FOR: std::cell::RefCell<Option<Arc<Shared>>> = const { std::cell::RefCell::new(None) };
}

/// The executor whose blocking job runs on this thread, if any. `None` from a thread-local's
/// destructor after this one was torn down.
pub(crate) fn running_for() -> Option<Arc<Shared>> {
    RUNNING_FOR.try_with(|running| running.borrow().clone()).ok().flatten()
}

impl BlockingPool {
    pub(crate) fn new(config: PoolConfig) -> Self {
        let state = State {
            queue: VecDeque::new(),
            idle: Vec::new(),
            threads: 0,
            alive: 0,
            next_index: 0,
            shutdown: false,
        };
        Self { inner: Arc::new(Inner { state: Mutex::new(state), config, stopped: Event::new() }) }
    }

    /// Queues a job, waking or starting a thread for it (see the module docs).
    pub(crate) fn submit(&self, runnable: Runnable) {
        let mut state = self.inner.state.lock();
        if state.shutdown {
            drop(state);
            drop(runnable); // cancels the task: its handle reports a cancelled `JoinError`
            return;
        }
        state.queue.push_back(runnable);
        if let Some(idle) = state.idle.pop() {
            // Release: pairs with the thread's Acquire (the job is in the queue, under the lock).
            idle.picked.store(true, Ordering::Release);
            drop(state);
            idle.park.unpark();
            return;
        }
        if state.threads >= self.inner.config.max_threads {
            return; // a busy thread takes it when it is done
        }
        state.threads += 1;
        state.alive += 1;
        let index = state.next_index;
        state.next_index += 1;
        drop(state);
        if let Err(error) = self.start_thread(index) {
            self.thread_failed_to_start(&error);
        }
    }

    /// Starts blocking thread `index`, already counted in `threads`.
    fn start_thread(&self, index: usize) -> std::io::Result<()> {
        // The name is the user's code: a panic in it, or a name std cannot give a thread (an
        // interior NUL makes std's spawn panic), fails the start instead of unwinding out of
        // `spawn_blocking` with the thread counted.
        let name =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.inner.config.thread_name)(index)))
                .map_err(|_| std::io::Error::other("the blocking thread name hook panicked"))?;
        if name.contains('\0') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("blocking thread name {name:?} contains a NUL byte"),
            ));
        }
        let mut builder = thread::Builder::new().name(name);
        if let Some(bytes) = self.inner.config.stack_size {
            builder = builder.stack_size(bytes);
        }
        let inner = self.inner.clone();
        builder
            .spawn(move || {
                // Tells the pool this OS thread is done even if a hook panics.
                let _exit = ExitGuard(&inner);
                run_hook(inner.config.on_thread_start.as_ref());
                inner.run();
                run_hook(inner.config.on_thread_stop.as_ref());
            })
            .map(drop)
    }

    /// A thread counted by `submit` could not start. If another thread lives it takes the queued
    /// jobs; if none does, nothing ever would, so they are cancelled (their handles report a
    /// cancelled `JoinError`) rather than left to wait forever, and the reason is printed.
    fn thread_failed_to_start(&self, error: &std::io::Error) {
        let mut state = self.inner.state.lock();
        state.threads -= 1;
        state.alive -= 1;
        if state.threads > 0 {
            return;
        }
        let stranded = std::mem::take(&mut state.queue);
        let stopped = state.shutdown && state.alive == 0;
        drop(state);
        eprintln!(
            "reactor: a blocking thread could not start ({error}); {} queued job(s) cancelled",
            stranded.len()
        );
        drop(stranded);
        if stopped {
            self.inner.stopped.notify(usize::MAX);
        }
    }

    /// Shuts the pool down (see the module docs); idempotent.
    pub(crate) fn shutdown(&self) {
        let (queued, idle) = {
            let mut state = self.inner.state.lock();
            state.shutdown = true;
            (std::mem::take(&mut state.queue), std::mem::take(&mut state.idle))
        };
        // Dropped outside the lock: dropping a runnable cancels its task, which wakes whoever
        // awaits it, and that wake may reach this pool again.
        drop(queued);
        if seeded!(BlockingShutdownLeavesIdleThreads) {
            return;
        }
        for thread in idle {
            // Release: as in `submit`; the thread then sees the shutdown flag under the lock.
            thread.picked.store(true, Ordering::Release);
            thread.park.unpark();
        }
    }

    /// After [`shutdown`](Self::shutdown): waits until every thread has exited (their running
    /// jobs finished), or until `deadline`; returns whether they all exited.
    pub(crate) fn wait_until_stopped(&self, deadline: Option<Instant>) -> bool {
        let all_exited = || self.inner.state.lock().alive == 0;
        loop {
            if all_exited() {
                return true;
            }
            let listener = self.inner.stopped.listen();
            if all_exited() {
                return true;
            }
            match deadline {
                None => listener.wait(),
                Some(deadline) => {
                    if listener.wait_deadline(deadline).is_none() && Instant::now() >= deadline {
                        return all_exited();
                    }
                }
            }
        }
    }

    /// Whether the calling thread is one of this pool's, running a job.
    pub(crate) fn runs_here(&self, shared: &Shared) -> bool {
        running_for().is_some_and(|running| std::ptr::eq(&*running, shared))
    }

    /// Live threads: busy, idle, or counted for a start that has not happened (or failed) yet.
    pub(crate) fn threads(&self) -> usize {
        self.inner.state.lock().threads
    }

    /// The pool's gauges for the metrics, read together under the lock.
    pub(crate) fn stats(&self) -> PoolStats {
        let state = self.inner.state.lock();
        PoolStats { threads: state.threads, idle: state.idle.len(), queued: state.queue.len() }
    }
}

/// The blocking pool's gauges (see [`BlockingPool::stats`]).
pub(crate) struct PoolStats {
    /// As [`BlockingPool::threads`].
    pub(crate) threads: usize,
    /// Threads on the idle list, waiting for a job.
    pub(crate) idle: usize,
    /// Jobs queued, not yet taken.
    pub(crate) queued: usize,
}

impl Inner {
    /// A blocking thread's life: take jobs, idle for the keep-alive, exit.
    fn run(&self) {
        let me =
            Arc::new(IdleThread { park: ThreadPark::for_current_thread(), picked: AtomicBool::new(false) });
        let mut state = self.state.lock();
        loop {
            if let Some(runnable) = state.queue.pop_front() {
                drop(state);
                run_job(runnable);
                state = self.state.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            // Relaxed: the mark is only set and cleared under the state lock, held here.
            me.picked.store(false, Ordering::Relaxed);
            state.idle.push(me.clone());
            drop(state);
            let picked = self.idle_wait(&me);
            state = self.state.lock();
            if !picked {
                // The keep-alive ran out, but a submitter may have picked this thread (and
                // queued a job for it) since: under the lock, off the idle list if still on it,
                // the queue decides. Nobody can pick it once it is off.
                state.idle.retain(|other| !Arc::ptr_eq(other, &me));
                if state.queue.is_empty() || seeded!(BlockingThreadExitsOnItsClock) {
                    break;
                }
            }
        }
        state.threads -= 1;
    }

    /// Called by a thread as it exits: the last one after shutdown tells `wait_until_stopped`.
    fn exited(&self) {
        let mut state = self.state.lock();
        state.alive -= 1;
        let stopped = state.shutdown && state.alive == 0;
        drop(state);
        if stopped {
            self.stopped.notify(usize::MAX);
        }
    }

    /// Parks until picked or the keep-alive runs out; returns whether it was picked.
    fn idle_wait(&self, me: &IdleThread) -> bool {
        let deadline = Instant::now().checked_add(self.config.keep_alive);
        loop {
            // Acquire: pairs with the submitter's Release, though the job itself is handed
            // over under the state lock, which the caller takes next.
            if me.picked.load(Ordering::Acquire) {
                return true;
            }
            let Some(deadline) = deadline else {
                // A keep-alive too long to have a deadline: wait to be picked (or shut down).
                me.park.park();
                continue;
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return false;
            }
            me.park.park_timeout(remaining);
            if cfg!(reactor_loom) {
                // No clock in the model build: a timed park that returns has run out.
                return me.picked.load(Ordering::Acquire);
            }
        }
    }
}

/// Runs a start or stop hook of the user's; a panic in it is reported by the panic hook and
/// contained, so the thread still takes its jobs (or still reports its exit).
fn run_hook(hook: Option<&ThreadHook>) {
    if let Some(hook) = hook {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
    }
}

/// Reports a blocking thread's exit when dropped (see `Inner::exited`).
struct ExitGuard<'a>(&'a Inner);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        self.0.exited();
    }
}

/// Runs one blocking job with the thread marked as running for the job's executor.
fn run_job(runnable: Runnable) {
    let shared = runnable.metadata().shared.clone();
    RUNNING_FOR.with(|running| *running.borrow_mut() = Some(shared));
    // A job's panic is caught inside its future (`CatchUnwind`), so `run` returns normally.
    runnable.run();
    RUNNING_FOR.with(|running| running.borrow_mut().take());
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &state.threads)
            .field("idle", &state.idle.len())
            .field("queued", &state.queue.len())
            .field("max_threads", &self.inner.config.max_threads)
            .finish()
    }
}
