//! The checks, one module per obligation, and what they share.

mod compose;
mod deadline;
mod deregister;
mod notify;
mod wait;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reactor::EventSource;

use crate::bounded::{self, Ended};
use crate::race::{self, Phase, RaceError, Roles};
use crate::rig::Rig;
use crate::suite::Config;
use crate::{Callback, Harness, Obligation};

/// How a check ended if not with a pass (a pass is `Ok(rounds)`).
pub(crate) enum Verdict {
    /// The check does not apply: why.
    Skipped(String),
    /// The source violated `Obligation`: what happened.
    Violated(Obligation, String),
}

/// A check's result: `Ok(rounds)` for a pass.
pub(crate) type Checked = Result<usize, Verdict>;

/// One check: the obligation it is about, its name, and the code.
pub(crate) struct Check<H: Harness> {
    pub(crate) obligation: Obligation,
    pub(crate) name: &'static str,
    pub(crate) run: fn(&Ctx<H>) -> Checked,
}

/// Every check, in the order of the contract.
pub(crate) fn all<H: Harness>() -> Vec<Check<H>> {
    use Obligation::*;
    let check = |obligation, name, run| Check { obligation, name, run };
    vec![
        check(BulkWait, wait::ZERO_TIMEOUT, wait::zero_timeout::<H>),
        check(BulkWait, wait::TIMED, wait::timed_wait::<H>),
        check(BulkWait, wait::BULK, wait::bulk::<H>),
        check(BulkWait, wait::EVENT_ENDS_WAIT, wait::event_ends_wait::<H>),
        check(NeverLostNotify, notify::BEFORE, notify::before_wait::<H>),
        check(NeverLostNotify, notify::RACE, notify::race_with_wait::<H>),
        check(NeverLostNotify, notify::CROWD, notify::crowd::<H>),
        check(Deadlines, deadline::BEFORE_ATTACH, deadline::pending_before_attach::<H>),
        check(Deadlines, deadline::NOT_STALE, deadline::no_stale_deadline::<H>),
        check(Deadlines, deadline::SCHEDULED, deadline::scheduled::<H>),
        check(Deadlines, deadline::EARLIER, deadline::earlier_while_blocked::<H>),
        check(Composition, compose::ATTACH_ONCE, compose::attach_once::<H>),
        check(Composition, compose::COMPOSITE_ROLES, compose::composite_roles::<H>),
        check(Composition, compose::NOTIFIER, compose::notifies_through_attach::<H>),
        check(Composition, compose::EVENT_WAKES_COMPOSITE, compose::event_wakes_composite::<H>),
        check(Composition, compose::BLOCKING_PART, compose::wakes_as_blocking_part::<H>),
        check(Deregistration, deregister::PENDING, deregister::pending_event_dropped::<H>),
        check(Deregistration, deregister::RACING, deregister::drop_racing_dispatch::<H>),
    ]
}

/// What every check works with.
pub(crate) struct Ctx<H: Harness> {
    pub(crate) harness: Arc<H>,
    pub(crate) config: Config,
    /// The obligation of the check running, for failures to set up.
    pub(crate) obligation: Obligation,
}

impl<H: Harness> Ctx<H> {
    /// A fresh source.
    pub(crate) fn fresh(&self) -> Result<H::Source, Verdict> {
        self.harness
            .source()
            .map_err(|error| self.setup(format!("the harness could not make a source: {error}")))
    }

    /// A fresh source, driven.
    pub(crate) fn rig(&self) -> Result<Rig<H::Source>, Verdict> {
        self.drive(self.fresh()?)
    }

    /// Drives `source`; a source that refuses its first driver violates obligation 4.
    pub(crate) fn drive(&self, source: H::Source) -> Result<Rig<H::Source>, Verdict> {
        Rig::drive(source).map_err(|why| Verdict::Violated(Obligation::Composition, why))
    }

    /// Registers an event whose callback counts its runs in `ran`.
    pub(crate) fn register(
        &self,
        source: &H::Source,
        ran: &Counter,
    ) -> Result<(Arc<H::Trigger>, H::Registration), Verdict> {
        match self.harness.register(source, ran.callback()) {
            Ok((trigger, registration)) => Ok((Arc::new(trigger), registration)),
            Err(error) if error.kind() == io::ErrorKind::Unsupported => {
                Err(Verdict::Skipped("the harness registers no events".into()))
            }
            Err(error) => Err(self.setup(format!("the harness's `register` failed: {error}"))),
        }
    }

    /// A failure to set the check up, reported against the check's obligation.
    pub(crate) fn setup(&self, detail: String) -> Verdict {
        Verdict::Violated(self.obligation, detail)
    }

    /// Drops `registration` on a thread of its own, within the patience.
    pub(crate) fn deregister(&self, registration: H::Registration) -> Result<(), Verdict> {
        match bounded::run("deregistration", self.config.patience, move || drop(registration)) {
            Ended::Returned(()) => Ok(()),
            Ended::Panicked(message) => Err(Verdict::Violated(
                Obligation::Deregistration,
                format!("dropping the registration {message}"),
            )),
            Ended::TimedOut(_) => Err(Verdict::Violated(
                Obligation::Deregistration,
                format!("dropping the registration had not returned after {:?}", self.config.patience),
            )),
        }
    }

    /// Calls `source.wait(Some(ZERO))` `times` times on a thread of its own; a wait that blocks
    /// for longer than the zero-timeout bound violates obligation 1.
    pub(crate) fn zero_waits(
        &self,
        source: Arc<dyn EventSource>,
        times: usize,
        what: &str,
    ) -> Result<(), Verdict> {
        let bound = self.config.zero_timeout_bound;
        let waiter = source.clone();
        let ended = bounded::run("zero-timeout wait", bound, move || {
            for _ in 0..times {
                waiter.wait(Some(Duration::ZERO))?;
            }
            Ok::<(), io::Error>(())
        });
        let failure = match ended {
            Ended::Returned(Ok(())) => return Ok(()),
            Ended::Returned(Err(error)) => format!("wait(Some(Duration::ZERO)) on {what} failed: {error}"),
            Ended::Panicked(message) => format!("wait(Some(Duration::ZERO)) on {what} {message}"),
            Ended::TimedOut(running) => {
                let rescued = running.rescue(self.config.patience, move || source.notify());
                format!(
                    "wait(Some(Duration::ZERO)) on {what} had not returned after {bound:?}: a zero timeout \
                     must never block ({})",
                    bounded::rescue_note(rescued)
                )
            }
        };
        Err(Verdict::Violated(Obligation::BulkWait, failure))
    }

    /// Waits on `waiter` with no timeout, on a thread of its own, until `done` holds, for at
    /// most `bound`. Each wait may return early; the loop waits again.
    pub(crate) fn wait_until(
        &self,
        rig: &Rig<H::Source>,
        bound: Duration,
        done: impl Fn() -> bool + Send + 'static,
    ) -> Waited {
        match self.start_waiting(rig, done) {
            Ok(waiting) => waiting.finish(self, rig, bound),
            Err(detail) => Waited::Failed(detail),
        }
    }

    /// Starts waiting on `rig`'s waiter until `done` holds; see [`Waiting::finish`].
    pub(crate) fn start_waiting(
        &self,
        rig: &Rig<H::Source>,
        done: impl Fn() -> bool + Send + 'static,
    ) -> Result<Waiting, String> {
        let waiter = rig.waiter.clone();
        let abort = Arc::new(AtomicBool::new(false));
        let stop = abort.clone();
        let running = bounded::start("waiter", move || loop {
            waiter.wait(None)?;
            if done() || stop.load(Ordering::SeqCst) {
                return Ok::<(), io::Error>(());
            }
        })?;
        Ok(Waiting { running, abort })
    }

    /// Runs `rounds` rounds of a race of `racers` threads doing `race` against a waiter that
    /// waits on `waiter` until the round's condition holds: `begin(round)`, called by the waiter
    /// at the start of the round before it waits, returns it. A stuck round violates
    /// `obligation`, described by `lost(round)`.
    pub(crate) fn race<C: Fn() -> bool>(
        &self,
        waiter: Arc<dyn EventSource>,
        (rounds, racers): (usize, usize),
        begin: impl Fn(usize) -> C + Send + 'static,
        race: impl Fn(usize, usize) + Send + Sync + 'static,
        obligation: Obligation,
        lost: impl Fn(usize) -> String,
    ) -> Checked {
        let roles = Roles {
            wait: {
                let waiter = waiter.clone();
                Box::new(move |round, abort| {
                    let done = begin(round);
                    loop {
                        waiter.wait(None)?;
                        if done() || abort.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                    }
                })
            },
            race: Arc::new(race),
            settle: {
                let waiter = waiter.clone();
                Box::new(move || waiter.wait(Some(Duration::ZERO)).map(drop))
            },
            rescue: Arc::new(move || waiter.notify()),
        };
        let patience = self.config.patience;
        match race::run(rounds, racers, patience, roles) {
            Ok(()) => Ok(rounds),
            Err(RaceError::Stuck { round, phase: Phase::Waiting, rescued }) => Err(Verdict::Violated(
                obligation,
                format!(
                    "round {} of {rounds}: {}: the wait was still blocked {patience:?} later ({})",
                    round + 1,
                    lost(round),
                    bounded::rescue_note(rescued)
                ),
            )),
            Err(RaceError::Stuck { round, phase: Phase::Settling, rescued }) => Err(Verdict::Violated(
                Obligation::BulkWait,
                format!(
                    "round {} of {rounds}: wait(Some(Duration::ZERO)), draining what the round left, \
                     had not returned after {patience:?}: a zero timeout must never block ({})",
                    round + 1,
                    bounded::rescue_note(rescued)
                ),
            )),
            Err(RaceError::Failed { round, detail }) => {
                Err(self.setup(format!("round {} of {rounds}: {detail}", round + 1)))
            }
        }
    }
}

/// A waiter thread started by [`Ctx::start_waiting`].
pub(crate) struct Waiting {
    running: bounded::Running<io::Result<()>>,
    abort: Arc<AtomicBool>,
}

impl Waiting {
    /// Waits at most `bound` for the waiter's condition; frees a stuck waiter.
    pub(crate) fn finish<H: Harness>(self, ctx: &Ctx<H>, rig: &Rig<H::Source>, bound: Duration) -> Waited {
        match self.running.finish(bound) {
            Ended::Returned(Ok(())) => Waited::Done,
            Ended::Returned(Err(error)) => Waited::Failed(format!("wait failed: {error}")),
            Ended::Panicked(message) => Waited::Failed(format!("wait {message}")),
            Ended::TimedOut(running) => {
                self.abort.store(true, Ordering::SeqCst);
                let rescue = rig.rescuer();
                Waited::Stuck { rescued: running.rescue(ctx.config.patience, move || rescue()) }
            }
        }
    }
}

/// How [`Ctx::wait_until`] ended.
pub(crate) enum Waited {
    /// The condition holds.
    Done,
    /// A wait failed or panicked: what happened.
    Failed(String),
    /// The waiter was still blocked at the bound.
    Stuck { rescued: bool },
}

/// Counts callback runs.
#[derive(Clone, Default)]
pub(crate) struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// A callback that counts its runs here.
    pub(crate) fn callback(&self) -> Callback {
        let count = self.0.clone();
        Box::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        })
    }
}

/// `deadline` as the suite reports it: `None`, or how far from `now`.
pub(crate) fn describe_deadline(deadline: Option<Instant>, now: Instant) -> String {
    match deadline {
        None => "None".into(),
        Some(deadline) if deadline <= now => format!("{:?} in the past", now - deadline),
        Some(deadline) => format!("{:?} ahead", deadline - now),
    }
}
