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

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use async_task::{Runnable, ScheduleInfo};
use event_listener::{Event, Listener};

use crate::executor::active::{ActiveShards, ActiveSlot};
use crate::executor::context;
use crate::executor::injector::Injector;
use crate::executor::local_queue::{LocalQueue, Stealer};
use crate::executor::signal::Signal;
use crate::source::EventSource;
use crate::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::sync::{thread_local, Arc, Mutex};
use crate::task::{CatchUnwind, Task};

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
        let (runnable, task) = this.active.register(|slot| {
            let guard = ActiveGuard { shared: this.clone(), slot };
            let future = async move {
                let _guard = guard;
                CatchUnwind::new(future).await
            };
            let shared = this.clone();
            let schedule = move |runnable, info: ScheduleInfo| {
                Shared::schedule(&shared, runnable, info.woken_while_running)
            };
            let (runnable, task) =
                async_task::Builder::new().spawn(move |()| future, async_task::WithInfo(schedule));
            (runnable.waker(), (runnable, task))
        });
        runnable.schedule();
        Task::new(task)
    }

    /// Where a woken task goes: this thread's local queue if it is one of our workers, otherwise
    /// the injector. A task that woke itself (`yielded`) goes to the back of the queue, any
    /// other into the LIFO slot.
    pub(crate) fn schedule(this: &Arc<Self>, runnable: Runnable, yielded: bool) {
        // Acquire pairs with the Release in `shutdown`, so a runnable woken after shutdown began
        // is seen here and dropped. A wake racing with shutdown that misses the flag still meets
        // the closed injector or the workers' exit drain.
        if this.shutdown.load(Ordering::Acquire) {
            return;
        }
        let runnable = match context::schedule_local(this, runnable, yielded) {
            Ok(stealable) => {
                if stealable {
                    this.notify_idle();
                }
                return;
            }
            Err(runnable) => runnable,
        };
        this.injector.push(runnable);
        this.notify_idle();
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
        // The poller's own dispatch (a waker run inside `wait`) needs no notify: that thread
        // returns from the wait and finds the work itself. Notifying would only make its next
        // wait return at once, a wasted syscall per wake-up.
        if self.sleepers.notify(1) == 0
            && self.poller_blocked.load(Ordering::Relaxed)
            && !DispatchingHere::is_set()
        {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::NotifyIdleForgetsPoller) {
                return;
            }
            self.source.notify();
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

/// Removes a task from the live registry when its future completes or is dropped.
struct ActiveGuard {
    shared: Arc<Shared>,
    slot: ActiveSlot,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if self.shared.active.remove(self.slot) {
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
