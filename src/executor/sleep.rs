//! How the idle threads of one executor sleep, and how work wakes them.
//!
//! Every thread that runs tasks for the executor (its workers and the threads inside its
//! `block_on`) sleeps the same way: it puts its [`Parker`] on the executor's one **idle list**
//! and parks. *The poller* is not a kind of thread but a role: the one idle thread holding the
//! **poll token** blocks in [`EventSource::wait`] instead of on its thread park, and the others
//! park. Whoever wakes a thread does it through its parker, which knows how it sleeps.
//!
//! # Work never waits for a sleeping pool
//!
//! A Dekker-style handshake between a thread going to sleep and a producer queueing work:
//!
//! - the sleeper puts itself on the idle list (under its lock), issues a SeqCst fence, and only
//!   then checks the queues one last time;
//! - a producer queues its task, issues a SeqCst fence, and only then reads the list's length.
//!
//! The fences are totally ordered, so either the sleeper sees the task or the producer sees the
//! sleeper and *picks* it: takes it off the list and unparks it. A picked thread knows it was
//! picked (it is no longer on the list when it leaves).
//!
//! # One wake-up in flight
//!
//! A producer that finds sleepers picks one only if no picked thread is still on its way up
//! (`wake_pending`): a burst of tasks wakes one thread, not one per task. The picked thread, and
//! only it, clears the flag when it is up, then fences and looks at the queues before it sleeps
//! again. A producer that skipped its wake-up left its task to that thread, and no task is
//! stranded:
//!
//! - the producer's swap read `true`, so it precedes the picked thread's clearing in the flag's
//!   modification order, so the producer's fence precedes the fence that follows the clearing, so
//!   the picked thread's next look at the queues sees the task;
//! - every thread looks before it sleeps again (the handshake above) and, if it is a `block_on`
//!   that returns instead, when it leaves (`wake_for_leftover_work`);
//! - the picked thread runs one task at a time, so once it has taken one it *hands on* the
//!   rest (`hand_on_work`): if any queue still holds work, it wakes another sleeper. Without
//!   that, the tasks left to it would wait for its task to finish while another thread sleeps,
//!   for ever if that task waits for one of them.
//!
//! Only the picked thread clears the flag, and it is picked under the list's lock, so a thread
//! that cancels its sleep because it found work on its own either is still on the list (not
//! picked: the flag is not its business) or was picked (it clears the flag although it did not
//! need the wake-up). A producer that finds the list empty after all clears the flag itself.
//!
//! # The poll role is never abandoned
//!
//! The token is held only while a thread waits in the source. A thread that parks without it,
//! because another thread holds it, relies on that thread to come back and wait again. Workers
//! always do; a `block_on` that returns does not, so it hands the role on: after releasing the
//! token it fences and unparks one thread parked without the token, which then takes it. The
//! parker's own check (it fences after listing itself, then looks whether the token is free) is
//! the other half of that handshake.
//!
//! # A host holds the role for good
//!
//! A host loop (`host.rs`) sleeps in a poll of its own on the source's readiness, where only
//! the source's notify can reach it; a thread waiting in the source would consume that. So a
//! host takes the token for its whole life. The token word has a second bit for it,
//! [`HOSTED`]: while it is set the word is never free, so nobody else takes the token and no
//! thread stays awake to take it (the same two reads as before, no new one on the sleep path).
//! A host being made sets the bit first, then takes the token once its holder gives it back.
//! When the host leaves it clears the word and hands the role on like a returning `block_on`.
//!
//! # A source that keeps failing
//!
//! After a failed wait the executor backs off: the `n`-th failure in a row makes it leave the
//! source alone for `min(2^(n-1) ms, 1 s)` (tasks keep running, and sleepers still wake for
//! work), and the error hook decides whether to go on or shut the executor down.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::executor::context;
use crate::executor::error::{OnSourceError, SourceError};
use crate::executor::parker::Parker;
use crate::executor::shared::Shared;
use crate::source::EventSource;
use crate::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use crate::sync::{seeded, Arc, Mutex};

/// The longest back-off after failed waits of the source.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Bit of the poll token word: a thread holds the token.
const HELD: u8 = 1;
/// Bit of the poll token word: a host loop holds the token for good, or is taking it (module
/// docs). The word is free only when it is zero.
const HOSTED: u8 = 2;

/// The sleeping half of an executor's shared state.
pub(crate) struct Sleepers {
    /// The parkers of the threads asleep (or about to be), oldest first, and how many threads
    /// the executor has.
    pub(super) idle: Mutex<IdleList>,
    /// `idle.len()`, written under its lock, read without it by producers.
    num_idle: AtomicUsize,
    /// Whether a picked thread is on its way up (module docs).
    wake_pending: AtomicBool,
    /// The poll token: [`HELD`] by the one thread that may call the source's `wait`, and
    /// [`HOSTED`] while a host loop owns it (module docs).
    poller: AtomicU8,
    /// Failed waits in a row.
    failures: AtomicU32,
    /// Until when the source is left alone after failures.
    retry_at: Mutex<Option<Instant>>,
}

impl Sleepers {
    pub(crate) fn new() -> Self {
        Self {
            idle: Mutex::new(IdleList { parkers: Vec::new(), threads: 0 }),
            num_idle: AtomicUsize::new(0),
            wake_pending: AtomicBool::new(false),
            poller: AtomicU8::new(0),
            failures: AtomicU32::new(0),
            retry_at: Mutex::new(None),
        }
    }
}

/// The idle list proper.
pub(super) struct IdleList {
    /// The parkers of the threads asleep (or about to be), oldest first.
    pub(super) parkers: Vec<Arc<Parker>>,
    /// The executor's threads: its workers and the threads inside its `block_on`. All of them
    /// are idle when all are listed (see `paused_time.rs`).
    pub(super) threads: usize,
}

/// How a thread came back from [`Shared::park`].
#[must_use = "a picked thread must hand on the work left beside its task"]
pub(crate) struct Unparked {
    /// The error of the source's wait, if it failed (for [`Shared::report`]).
    pub(crate) result: io::Result<()>,
    /// Whether this thread was picked for work (it cleared the wake-in-flight flag): it then
    /// calls [`Shared::hand_on_work`] once it has taken a task.
    pub(crate) picked: bool,
}

/// What a `block_on` thread adds to a worker's reasons not to sleep.
pub(crate) struct OwnWork<'a> {
    /// Whether its main future was woken or a `!Send` task is queued.
    pub(crate) pending: &'a dyn Fn() -> bool,
}

impl Shared {
    /// Sleeps until work may have arrived: in the source if this thread gets the poll token,
    /// else on its parker. `timeout` bounds the sleep. A `block_on` thread passes `own`.
    ///
    /// Returns the error of the source's wait, if it failed, and whether this thread was picked
    /// for work: then it must [`hand_on_work`](Self::hand_on_work) once it has taken a task.
    pub(crate) fn park(
        &self,
        parker: &Arc<Parker>,
        timeout: Option<Duration>,
        own: Option<OwnWork<'_>>,
    ) -> Unparked {
        let own_pending = || own.as_ref().is_some_and(|own| (own.pending)());
        let retry_in = self.backoff_remaining();
        let token = if retry_in.is_none() { self.try_poll_token() } else { None };
        let driving = token.is_some();
        if !parker.prepare(driving) {
            return Unparked { result: Ok(()), picked: false };
        }
        let listed = !(own.is_some() && !driving && seeded!(BlockOnSleepsUnlisted));
        if listed {
            self.enter_idle(parker, driving);
        }
        fence(Ordering::SeqCst);
        // Relaxed on `poller`: ordered by the fences of the hand-off (module docs). Not free
        // while a host owns it, though nobody may hold it at this moment.
        let stay_awake = self.has_work()
            || (own.is_none() && self.is_shut_down())
            || own_pending()
            || (!driving && retry_in.is_none() && self.sleepers.poller.load(Ordering::Relaxed) == 0);
        let mut result = Ok(());
        if !stay_awake {
            if driving && self.pauses_time && self.all_idle() {
                result = self.wait_idle(parker, timeout);
            } else if driving {
                result = self.wait_source(timeout).map(drop);
            } else {
                parker.park(min_timeout(timeout, retry_in));
            }
        }
        let picked = listed && self.leave_idle(parker);
        parker.finish();
        if picked && !(stay_awake && seeded!(CancelledParkKeepsWakeFlag)) {
            self.woke_up();
        }
        drop(token);
        Unparked { result, picked }
    }

    /// Called by a thread [picked](Unparked::picked) for work once it has taken a task, before
    /// it runs it: wakes another sleeper for the work still queued.
    ///
    /// Producers that skipped their wake-up while this thread was on its way up left their
    /// tasks to it (module docs), but it runs one task at a time: without this, the others
    /// would wait for that task to finish while another thread sleeps, for ever if the task
    /// waits for one of them (two tasks meeting at a barrier on two workers hung so). The
    /// picked thread's fence after clearing the flag follows those producers' fences, so the
    /// look here sees their tasks.
    pub(crate) fn hand_on_work(&self) {
        if !seeded!(PickedThreadKeepsTheWork) && self.has_work() {
            self.notify_idle();
        }
    }

    /// Dispatches ready events without blocking, if no other thread holds the poll token and the
    /// source is not being left alone after failures.
    ///
    /// Returns the error of the source's wait, if it failed.
    pub(crate) fn poll_events(&self) -> io::Result<()> {
        if self.backoff_remaining().is_some() {
            return Ok(());
        }
        match self.try_poll_token() {
            Some(_token) => self.wait_source(Some(Duration::ZERO)).map(drop),
            None => Ok(()),
        }
    }

    /// Wakes one sleeping thread for work just queued, or none if none sleeps (producer half of
    /// the handshake in the module docs).
    pub(crate) fn notify_idle(&self) {
        loop {
            fence(Ordering::SeqCst);
            // Relaxed: ordered by the fence above against the sleeper's fence.
            if self.sleepers.num_idle.load(Ordering::Relaxed) == 0 {
                return;
            }
            // Relaxed: what this swap orders is this thread's fence above against the fence the
            // picked thread issues after clearing the flag (module docs).
            if self.sleepers.wake_pending.swap(true, Ordering::Relaxed) {
                return;
            }
            if self.wake_one() {
                return;
            }
            // Nobody to pick: the sleepers counted are on their way up already. Producers that
            // skipped their wake-up for this one left their tasks to this thread: clear the flag
            // and look again, after a fence that follows theirs.
            self.woke_up();
            if !self.has_work() {
                return;
            }
        }
    }

    /// Picks a sleeper (one parked rather than the poller, whose wake-up costs a notify of the
    /// source; the most recent, whose cache is warmest) and unparks it. Returns whether there
    /// was one.
    fn wake_one(&self) -> bool {
        let picked = {
            let mut idle = self.sleepers.idle.lock();
            let parkers = &mut idle.parkers;
            let index =
                parkers.iter().rposition(|parker| parker.is_parked()).or(parkers.len().checked_sub(1));
            let picked = index.map(|index| parkers.remove(index));
            // Relaxed: read by producers only after their SeqCst fence; see `notify_idle`.
            self.sleepers.num_idle.store(parkers.len(), Ordering::Relaxed);
            picked
        };
        let Some(parker) = picked else { return false };
        if !parker.is_parked() && seeded!(NotifyIdleForgetsPoller) {
            return true;
        }
        parker.unpark(&*self.source);
        true
    }

    /// Called by the picked thread when it is up (or by a producer that found nobody to pick):
    /// the wake-up in flight has arrived, and the next task queued picks another sleeper.
    pub(super) fn woke_up(&self) {
        if seeded!(WokenThreadKeepsWakeFlag) {
            return;
        }
        // A swap, not a store: loom models a plain store racing with the producers' swaps out of
        // modification order. Relaxed: see the swap in `notify_idle`; the fence orders it.
        self.sleepers.wake_pending.swap(false, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Lists `parker` (the poller's if `driving`) as asleep.
    pub(super) fn enter_idle(&self, parker: &Arc<Parker>, driving: bool) {
        let mut idle = self.sleepers.idle.lock();
        idle.parkers.push(parker.clone());
        // Relaxed: published by the sleeper's SeqCst fence that follows (module docs).
        self.sleepers.num_idle.store(idle.parkers.len(), Ordering::Relaxed);
        // The last thread to fall asleep beside a blocked poller wakes it to move paused time.
        let last = self.pauses_time && !driving && idle.parkers.len() == idle.threads;
        let poller = (last && !seeded!(LastSleeperLeavesPollerBlocked))
            .then(|| idle.parkers.iter().find(|listed| listed.is_driving()).cloned())
            .flatten();
        drop(idle);
        if let Some(poller) = poller {
            poller.unpark(&*self.source);
        }
    }

    /// Takes `parker` off the idle list; returns whether a producer had picked it already.
    pub(super) fn leave_idle(&self, parker: &Arc<Parker>) -> bool {
        let mut idle = self.sleepers.idle.lock();
        match idle.parkers.iter().rposition(|listed| Arc::ptr_eq(listed, parker)) {
            Some(index) => {
                idle.parkers.remove(index);
                // Relaxed: see `enter_idle`.
                self.sleepers.num_idle.store(idle.parkers.len(), Ordering::Relaxed);
                false
            }
            None => true,
        }
    }

    /// Wakes a sleeper if tasks are queued; for a thread that leaves the pool (a returning
    /// `block_on`), which may have been the one a producer left its task to (module docs).
    pub(crate) fn wake_for_leftover_work(&self) {
        fence(Ordering::SeqCst);
        if self.has_work() {
            self.notify_idle();
        }
    }

    /// Hands the poll role on: for a `block_on` thread that leaves, which may have been the
    /// poller that a thread parked without the token relies on (module docs).
    pub(crate) fn hand_off_poll_role(&self) {
        if seeded!(BlockOnExitSkipsHandOff) {
            return;
        }
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fence above against the parker's fence (module docs).
        if self.sleepers.poller.load(Ordering::Relaxed) != 0 {
            // Held: its holder waits in the source, or comes back to it; or hosted: the host
            // owns it, or is taking it.
            return;
        }
        let parked =
            self.sleepers.idle.lock().parkers.iter().rev().find(|parker| parker.is_parked()).cloned();
        if let Some(parker) = parked {
            // Not picked (it stays listed): it wakes, finds the token free and takes it.
            parker.unpark(&*self.source);
        }
    }

    /// Wakes every sleeper, for shutdown.
    pub(crate) fn wake_all(&self) {
        let idle: Vec<Arc<Parker>> = self.sleepers.idle.lock().parkers.clone();
        for parker in idle {
            parker.unpark(&*self.source);
        }
        self.source.notify();
    }

    /// Calls the source's wait; a panic in it (a callback's) becomes an error. A failure starts
    /// or extends the back-off, a success ends it. Returns how many callbacks ran.
    pub(super) fn wait_source(&self, timeout: Option<Duration>) -> io::Result<usize> {
        #[cfg(reactor_loom)]
        let _dispatching = dispatching::Dispatching::enter();
        let wait = || panic::catch_unwind(AssertUnwindSafe(|| self.source.wait(timeout)));
        let result = match context::collect_wakes(self, wait) {
            Ok(result) => result,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a callback panicked");
                let error = io::Error::other(format!("event source panicked: {message}"));
                // Dropped inside a guard: a payload whose own `Drop` panics must not unwind out.
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
                Err(error)
            }
        };
        self.metrics.source.record(*result.as_ref().unwrap_or(&0));
        match &result {
            // Relaxed: the count only paces retries; no data is published through it.
            Ok(_) if self.sleepers.failures.load(Ordering::Relaxed) == 0 => {}
            Ok(_) => {
                self.sleepers.failures.store(0, Ordering::Relaxed);
                *self.sleepers.retry_at.lock() = None;
            }
            Err(_) => {
                // Relaxed: as above.
                let failures = self.sleepers.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
                *self.sleepers.retry_at.lock() = Instant::now().checked_add(backoff(failures));
            }
        }
        result
    }

    /// Hands a failed wait to the error hook, which may shut the executor down.
    pub(crate) fn report(&self, result: io::Result<()>) {
        let Err(error) = result else { return };
        // Relaxed: as in `wait_source`, which counted this failure on this thread.
        let failures = self.sleepers.failures.load(Ordering::Relaxed).max(1);
        let report = SourceError::new(&error, failures, backoff(failures));
        let action = panic::catch_unwind(AssertUnwindSafe(|| (self.on_source_error)(&report)))
            .unwrap_or(OnSourceError::Continue);
        if action == OnSourceError::Shutdown {
            self.begin_shutdown();
            self.cancel_all();
        }
    }

    /// How long the source is still left alone after failed waits, if it is.
    pub(super) fn backoff_remaining(&self) -> Option<Duration> {
        // Relaxed: a stale zero only means one more wait, which fails and backs off again.
        if self.sleepers.failures.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let retry_at = (*self.sleepers.retry_at.lock())?;
        let now = Instant::now();
        (now < retry_at).then(|| retry_at - now)
    }

    /// Marks the executor as hosted, so that no thread takes the poll token any more; `false`
    /// if it is hosted already.
    pub(super) fn claim_host(&self) -> bool {
        // Relaxed: the bit publishes nothing; taking the token (`take_token_for_host`) is what
        // orders the host after the last poller.
        self.sleepers.poller.fetch_or(HOSTED, Ordering::Relaxed) & HOSTED == 0
    }

    /// Takes the poll token for a host that [claimed](Self::claim_host) it, to hold until
    /// [`release_host`](Self::release_host); `false` while another thread still holds it.
    pub(super) fn take_token_for_host(&self) -> bool {
        // Acquire: as in `try_poll_token`, the host sees what the last poller did with the
        // source.
        self.sleepers
            .poller
            .compare_exchange(HOSTED, HOSTED | HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// A host leaves: the token is free, and the executor no longer hosted. The caller then
    /// hands the poll role on ([`hand_off_poll_role`](Self::hand_off_poll_role)).
    pub(super) fn release_host(&self) {
        // Release: as `PollToken` releases it, the next poller sees what the host did with the
        // source. A store: while hosted nobody else writes the word.
        self.sleepers.poller.store(0, Ordering::Release);
    }

    fn try_poll_token(&self) -> Option<PollToken<'_>> {
        // Acquire/Release: the token hands the source from one poller to the next; `wait`
        // calls are serialised by it (the EventSource contract the implementations rely on).
        // Fails while a host owns the token, even before it holds it.
        self.sleepers
            .poller
            .compare_exchange(0, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            // `then`, not `then_some`: a token built eagerly would release the poller's token
            // when dropped on failure.
            .then(|| PollToken { poller: &self.sleepers.poller })
    }
}

/// The back-off after `failures` failed waits in a row: 1 ms, doubling, at most [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(10);
    Duration::from_millis(1 << exponent).min(MAX_BACKOFF)
}

fn min_timeout(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Releases the poll token on drop (also when `wait` panics).
struct PollToken<'a> {
    poller: &'a AtomicU8,
}

impl Drop for PollToken<'_> {
    fn drop(&mut self) {
        // Release: the next poller sees everything this one did with the source. Clears only
        // its own bit: a host may have set [`HOSTED`] meanwhile, and waits for this.
        self.poller.fetch_and(!HELD, Ordering::Release);
    }
}

/// Marks this thread as dispatching inside a source's wait, for the seeded bug that trusts any
/// dispatching thread (loom builds only; the real check is on the parker, see `parker.rs`).
#[cfg(reactor_loom)]
mod dispatching {
    use std::cell::Cell;

    std::thread_local! {
        static DISPATCHING: Cell<bool> = const { Cell::new(false) };
    }

    pub(crate) struct Dispatching(bool);

    impl Dispatching {
        pub(crate) fn enter() -> Self {
            Self(DISPATCHING.with(|flag| flag.replace(true)))
        }
    }

    impl Drop for Dispatching {
        fn drop(&mut self) {
            DISPATCHING.with(|flag| flag.set(self.0));
        }
    }

    pub(crate) fn is_dispatching() -> bool {
        DISPATCHING.with(Cell::get)
    }
}

#[cfg(reactor_loom)]
pub(crate) use dispatching::is_dispatching;
