//! State shared by every thread of one executor: queues, sleepers, the event source.
//!
//! # Sleeping and waking
//!
//! An idle thread either becomes *the poller* (it takes the poll token and blocks in
//! [`EventSource::wait`]) or, if another thread holds the token, a *listener* sleeping on the
//! `sleepers` event. `sleeping` counts both kinds. Work arriving for an idle pool must wake
//! exactly one of them, never zero, which is a Dekker-style handshake:
//!
//! - a sleeper registers (listener: `listen()`; poller: `poller_blocked = true`), increments
//!   `sleeping`, issues a SeqCst fence, and only then checks the queues one last time;
//! - a producer pushes its task, issues a SeqCst fence, and only then reads `sleeping`.
//!
//! The two fences are totally ordered, so either the sleeper's check sees the task or the
//! producer sees the sleeper (and then wakes a listener, or notifies the source, whose notify is
//! never lost). See `loom-tests/tests/executor.rs`.
//!
//! # One wake-up in flight
//!
//! A producer that finds a sleeper wakes it only if no wake-up is already on its way
//! (`wake_pending`): a thread pushing a burst of tasks wakes one thread, not one per task, and
//! sleepers do not queue on the event's lock. The thread woken clears the flag as soon as it is
//! up, so the next task pushed wakes the next sleeper. A producer that skipped its wake-up left
//! its task to that thread, and no task is stranded:
//!
//! - the producer's swap read `true`, so it precedes the woken thread's clearing in the flag's
//!   modification order, so the producer's fence precedes every fence the woken thread issues
//!   after clearing, so the woken thread's next fenced check of the queues sees the task;
//! - every thread makes such a check before it sleeps again (the handshake above) and, if it
//!   runs a `block_on` that returns instead, when it leaves (`wake_for_leftover_work`).
//!
//! A producer that wakes nobody after all (the only sleeper was leaving) clears the flag itself.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_task::ScheduleInfo;
use event_listener::{Event, Listener};

use crate::executor::active::{ActiveEntry, ActiveShards};
use crate::executor::context;
use crate::executor::injector::Injector;
use crate::executor::local_queue::{LocalQueue, Stealer};
use crate::executor::signal::Signal;
use crate::source::EventSource;
use crate::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::sync::{thread_local, Arc, Mutex};
use crate::task::{CatchUnwind, Task, TaskOutput};

/// What every task of an executor carries: the executor. Its schedule function reads it from
/// here rather than capturing it, which keeps that function zero-sized; async-task then skips
/// the waker it otherwise clones and drops around every schedule call (two atomic operations on
/// the task per wake-up, 8% of the time of a task that only yields).
pub(crate) type Metadata = Arc<Shared>;

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
    pub(crate) stealers: Box<[Stealer<Runnable>]>,
    /// Where idle threads that are not the poller sleep.
    pub(crate) sleepers: Event,
    /// Threads asleep: listeners on `sleepers` plus a blocked poller.
    sleeping: AtomicUsize,
    /// The poll token: held by the one thread that may call `source.wait`.
    poller: AtomicBool,
    /// Whether the token holder is (about to be) blocked in `source.wait` for lack of work.
    poller_blocked: AtomicBool,
    /// Whether a sleeper has been woken for new work and is not up yet (module docs).
    wake_pending: AtomicBool,
    /// Set once by shutdown; from then on scheduled runnables are dropped, not run.
    pub(crate) shutdown: AtomicBool,
    /// Live tasks, to cancel at shutdown.
    active: ActiveShards,
    /// Notified when a shard of `active` empties, so possibly the last live task finished
    /// (for `shutdown_timeout`, which checks).
    pub(crate) all_done: Event,
    /// The local queue a `block_on` thread borrows while it runs (its stealer is the last one).
    pub(crate) spare_queue: Mutex<Option<LocalQueue<Runnable>>>,
    /// Told about every failed wait of the source.
    on_source_error: ErrorHook,
}

/// What the executor does with an error from its source's wait.
pub(crate) type ErrorHook = Box<dyn Fn(&io::Error) + Send + Sync>;

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
        spare_queue: LocalQueue<Runnable>,
        on_source_error: ErrorHook,
    ) -> Self {
        Self {
            spare_queue: Mutex::new(Some(spare_queue)),
            on_source_error,
            source,
            injector: Injector::new(),
            active: ActiveShards::new(stealers.len()),
            stealers,
            sleepers: Event::new(),
            sleeping: AtomicUsize::new(0),
            poller: AtomicBool::new(false),
            poller_blocked: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
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
        let future = Tracked {
            future: CatchUnwind::new(future),
            guard: ActiveGuard { entry: this.active.enter(), shared: this.clone() },
        };
        let (runnable, task) = async_task::Builder::new()
            .metadata(this.clone())
            .spawn(move |_| future, async_task::WithInfo(schedule));
        runnable.schedule();
        Task::new(task)
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
        let shared = runnable.metadata().clone();
        shared.injector.push(runnable);
        shared.notify_idle();
    }

    /// Whether any queue holds a task this thread could take.
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }

    /// Wakes one sleeping thread, or none if none sleeps (producer half of the handshake in the
    /// module docs).
    pub(crate) fn notify_idle(&self) {
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fence above against the sleeper's fence.
        if self.sleeping.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Relaxed: what this swap orders is this thread's fence above against the fences the
        // woken thread issues after clearing the flag (module docs).
        if self.wake_pending.swap(true, Ordering::Relaxed) {
            return;
        }
        if !self.wake_one() {
            // Nobody to wake: the sleepers counted are on their way up already. Producers that
            // skipped their wake-up for this one left their tasks to this thread: look once
            // more, after a fence that follows theirs.
            self.woke_up();
            fence(Ordering::SeqCst);
            if self.has_work() {
                self.wake_one();
            }
        }
    }

    /// Wakes a listener, or else the blocked poller; returns whether a sleeper will come up.
    fn wake_one(&self) -> bool {
        if self.sleepers.notify(1) > 0 {
            return true;
        }
        if !self.poller_blocked.load(Ordering::Relaxed) {
            return false;
        }
        // The poller's own dispatch (a waker run inside `wait`) needs no notify: that thread
        // returns from the wait and finds the work itself. Notifying would only make its next
        // wait return at once, a wasted syscall per wake-up.
        if DispatchingHere::is_set() {
            return true;
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifyIdleForgetsPoller) {
            return true;
        }
        self.source.notify();
        true
    }

    /// Called by a thread back from sleep (or a producer that woke nobody): the wake-up in
    /// flight has arrived, the next task pushed wakes another sleeper.
    fn woke_up(&self) {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::WokenThreadKeepsWakeFlag) {
            return;
        }
        // A swap, not a store: loom models a plain store racing with the producers' swaps
        // out of modification order. Relaxed: see the swap in `notify_idle`.
        self.wake_pending.swap(false, Ordering::Relaxed);
    }

    /// Wakes a sleeper if tasks are queued; for a thread that leaves the pool (a returning
    /// `block_on`), which may have been the one a producer left its task to (module docs).
    pub(crate) fn wake_for_leftover_work(&self) {
        fence(Ordering::SeqCst);
        if self.has_work() {
            self.notify_idle();
        }
    }

    /// Blocks this idle thread until work may have arrived: in the source if it gets the poll
    /// token, else asleep. `timeout` bounds the block (for `shutdown_timeout`). A `block_on`
    /// thread passes `own`: what wakes it for its own future and `!Send` tasks.
    ///
    /// Returns the error of the source's wait, if it failed.
    pub(crate) fn park(&self, timeout: Option<Duration>, own: Option<OwnWork<'_>>) -> io::Result<()> {
        let own_pending = || own.as_ref().is_some_and(|own| (own.pending)());
        if let Some(token) = self.try_poll_token() {
            if let Some(own) = &own {
                own.signal.set_polling(true);
            }
            self.poller_blocked.store(true, Ordering::Relaxed);
            self.sleeping.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let idle = !self.has_work() && !self.is_shut_down() && !own_pending();
            let result = self.wait_source(if idle { timeout } else { Some(Duration::ZERO) });
            self.poller_blocked.store(false, Ordering::Relaxed);
            self.sleeping.fetch_sub(1, Ordering::Relaxed);
            self.woke_up();
            if let Some(own) = &own {
                own.signal.set_polling(false);
            }
            drop(token);
            // The poller is leaving with work for more than itself: let a listener help.
            if self.has_work() {
                self.sleepers.notify(1);
            }
            return result;
        }
        if let Some(own) = own {
            // A `block_on` thread that is not the poller sleeps privately: pool work is for the
            // workers, and a shared wake-up could be spent on a thread that ignores it.
            own.signal.sleep(timeout, own.pending);
            return Ok(());
        }
        let listener = self.sleepers.listen();
        self.sleeping.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !self.has_work() && !self.is_shut_down() {
            wait_listener(listener, timeout);
        }
        self.sleeping.fetch_sub(1, Ordering::Relaxed);
        self.woke_up();
        Ok(())
    }

    /// Dispatches ready events without blocking, if no other thread holds the poll token.
    ///
    /// Returns the error of the source's wait, if it failed.
    pub(crate) fn poll_events(&self) -> io::Result<()> {
        match self.try_poll_token() {
            Some(_token) => self.wait_source(Some(Duration::ZERO)),
            None => Ok(()),
        }
    }

    /// Calls the source's wait; a panic in it (a callback's) becomes an error.
    fn wait_source(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _dispatching = DispatchingHere::enter();
        match panic::catch_unwind(AssertUnwindSafe(|| self.source.wait(timeout))) {
            Ok(result) => result.map(drop),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a callback panicked");
                Err(io::Error::other(format!("event source panicked: {message}")))
            }
        }
    }

    /// Hands a failed wait to the error hook (the executor keeps running).
    pub(crate) fn report(&self, result: io::Result<()>) {
        if let Err(error) = result {
            (self.on_source_error)(&error);
        }
    }

    fn try_poll_token(&self) -> Option<PollToken<'_>> {
        // Acquire/Release: the token hands the source from one poller to the next; `wait`
        // calls are serialised by it (the EventSource contract the implementations rely on).
        self.poller
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            // `then`, not `then_some`: a token built eagerly would release the poller's token
            // when dropped on failure.
            .then(|| PollToken { poller: &self.poller })
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
        // Release pairs with the Acquire loads in `schedule` and the worker loop.
        self.shutdown.store(true, Ordering::Release);
        self.sleepers.notify(usize::MAX);
        self.source.notify();
    }

    /// Drops every task that has not completed: queued ones directly, idle ones by waking them
    /// (their runnables come back through `schedule`, see the shutdown flag, and are dropped).
    pub(crate) fn cancel_all(&self) {
        self.injector.close_and_drain();
        let wakers = self.active.take_all();
        for waker in wakers {
            waker.wake();
        }
        self.injector.close_and_drain();
        self.all_done.notify(usize::MAX);
    }
}

thread_local! {
    /// Whether this thread is inside the source's `wait`, dispatching as the poller.
    static DISPATCHING_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as the poller inside `wait` for as long as it lives (also on unwind).
pub(crate) struct DispatchingHere {
    previous: bool,
}

impl DispatchingHere {
    fn enter() -> Self {
        Self { previous: DISPATCHING_HERE.with(|here| here.replace(true)) }
    }

    /// Whether this thread is the poller, dispatching inside the source's `wait`.
    pub(crate) fn is_set() -> bool {
        DISPATCHING_HERE.with(Cell::get)
    }
}

impl Drop for DispatchingHere {
    fn drop(&mut self) {
        DISPATCHING_HERE.with(|here| here.set(self.previous));
    }
}

/// Releases the poll token on drop (also when `wait` panics).
struct PollToken<'a> {
    poller: &'a AtomicBool,
}

impl Drop for PollToken<'_> {
    fn drop(&mut self) {
        // Release: the next poller sees everything this one did with the source.
        self.poller.store(false, Ordering::Release);
    }
}

/// Schedules a woken task of a pool: the schedule function of every spawned task.
fn schedule(runnable: Runnable, info: ScheduleInfo) {
    Shared::schedule(runnable, info.woken_while_running);
}

/// A pool task's future: the spawned future with its panics caught, and its place in the live
/// registry, where it records itself the first time it is idle.
struct Tracked<F> {
    future: CatchUnwind<F>,
    guard: ActiveGuard,
}

impl<F: Future> Future for Tracked<F> {
    type Output = TaskOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, `Tracked` has
        // no `Drop` impl and is `Unpin` only when `F` is; `guard` is never pinned.
        let (future, guard) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.future), &mut this.guard)
        };
        let poll = future.poll(cx);
        if poll.is_pending() {
            guard.shared.active.idle(&mut guard.entry, cx.waker());
        }
        poll
    }
}

/// Takes a task out of the live registry when its future completes or is dropped.
struct ActiveGuard {
    entry: ActiveEntry,
    shared: Arc<Shared>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if self.shared.active.leave(&self.entry) {
            self.shared.all_done.notify(usize::MAX);
        }
    }
}

/// What wakes a `block_on` thread besides pool work.
pub(crate) struct OwnWork<'a> {
    pub(crate) signal: &'a Signal,
    /// Whether its main future was woken or a `!Send` task is queued.
    pub(crate) pending: &'a dyn Fn() -> bool,
}

/// Waits on `listener`, at most `timeout`.
pub(crate) fn wait_listener(listener: event_listener::EventListener, timeout: Option<Duration>) {
    match timeout {
        None => {
            listener.wait();
        }
        // event-listener cannot wait with a timeout under loom; a timed wait may return early.
        Some(_) if cfg!(reactor_loom) => drop(listener),
        Some(timeout) => {
            listener.wait_timeout(timeout);
        }
    }
}
