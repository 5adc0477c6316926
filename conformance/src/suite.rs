//! [`Suite`]: the checks, their sizes, and a run.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::checks::{self, Ctx, Verdict};
use crate::{CheckReport, Failure, Harness, Obligation, Outcome, Report, Violation};

/// The sizes and bounds of a run.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// How long a wait that must end is given before the suite reports it stuck.
    pub(crate) patience: Duration,
    /// How long a zero-timeout wait may take before the suite reports it as blocking.
    pub(crate) zero_timeout_bound: Duration,
    /// The timeout of the timed-wait check.
    pub(crate) timed_wait: Duration,
    /// How many events the bulk-wait check fires at once.
    pub(crate) bulk_events: usize,
    /// Rounds of one notify racing with a wait.
    pub(crate) notify_rounds: usize,
    /// Rounds of several threads notifying at once.
    pub(crate) crowd_rounds: usize,
    /// Threads notifying at once in those rounds.
    pub(crate) crowd_threads: usize,
    /// Rounds of an event racing with a wait.
    pub(crate) event_rounds: usize,
    /// Rounds of a registration dropped while a dispatch runs.
    pub(crate) deregistration_rounds: usize,
    /// How far ahead the deadline checks schedule their events.
    pub(crate) deadline_delay: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            patience: Duration::from_secs(2),
            zero_timeout_bound: Duration::from_secs(1),
            timed_wait: Duration::from_millis(20),
            bulk_events: 8,
            notify_rounds: 10_000,
            crowd_rounds: 1_000,
            crowd_threads: 3,
            event_rounds: 2_000,
            deregistration_rounds: 500,
            deadline_delay: Duration::from_millis(20),
        }
    }
}

/// The conformance suite for one kind of source, described by its [`Harness`]; [`run`](Self::run)
/// checks it.
///
/// The defaults keep a run under about five seconds for a correct source in a debug build on two
/// cores (races of real threads: thousands of notify rounds, hundreds of event and
/// deregistration rounds). Every check has a watchdog: a wait that does not end within the
/// [patience](Self::patience) is reported, never waited for, so a broken source fails the suite
/// in bounded time instead of hanging it.
///
/// # Examples
///
/// ```
/// use reactor::source::Parking;
/// use reactor_conformance::{NoEvents, Obligation, Suite};
///
/// let report = Suite::new(NoEvents(|| Ok(Parking::new())))
///     .only(&[Obligation::NeverLostNotify])
///     .notify_rounds(5_000)
///     .run()?;
/// println!("{report}");
/// # Ok::<(), reactor_conformance::Failure>(())
/// ```
pub struct Suite<H> {
    harness: H,
    config: Config,
    only: Option<Vec<Obligation>>,
}

impl<H: Harness> Suite<H> {
    /// The whole suite, at its default sizes, for the sources `harness` makes.
    pub fn new(harness: H) -> Self {
        Self { harness, config: Config::default(), only: None }
    }

    /// Runs only the checks of these obligations.
    pub fn only(mut self, obligations: &[Obligation]) -> Self {
        self.only = Some(obligations.to_vec());
        self
    }

    /// How long a wait that must end (a notify or an event arrived) is given before it is reported
    /// as stuck; default 2 s. Only a failing check ever waits this long.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.config.patience = patience;
        self
    }

    /// How long a zero-timeout wait may take before it is reported as blocking; default 1 s. The
    /// timed-wait check allows its timeout plus this.
    pub fn zero_timeout_bound(mut self, bound: Duration) -> Self {
        self.config.zero_timeout_bound = bound;
        self
    }

    /// Rounds of one thread notifying while another starts a wait; default 10,000.
    pub fn notify_rounds(mut self, rounds: usize) -> Self {
        self.config.notify_rounds = rounds;
        self
    }

    /// Rounds of `threads` threads notifying at once while a wait starts; default 1,000 rounds of
    /// 3 threads.
    pub fn crowd(mut self, threads: usize, rounds: usize) -> Self {
        self.config.crowd_threads = threads.max(1);
        self.config.crowd_rounds = rounds;
        self
    }

    /// Rounds of an event fired from another thread while a wait starts; default 2,000.
    pub fn event_rounds(mut self, rounds: usize) -> Self {
        self.config.event_rounds = rounds;
        self
    }

    /// Rounds of a registration dropped while another thread dispatches and a third fires its
    /// event; default 500.
    pub fn deregistration_rounds(mut self, rounds: usize) -> Self {
        self.config.deregistration_rounds = rounds;
        self
    }

    /// How many events one wait must dispatch at once; default 8.
    pub fn bulk_events(mut self, events: usize) -> Self {
        self.config.bulk_events = events.max(1);
        self
    }

    /// How far ahead the deadline checks schedule their events; default 20 ms.
    pub fn deadline_delay(mut self, delay: Duration) -> Self {
        self.config.deadline_delay = delay;
        self
    }

    /// Runs every check (or those of [`only`](Self::only)), each on fresh sources.
    ///
    /// # Errors
    ///
    /// A [`Failure`] listing every violation found, each naming its obligation, with the whole
    /// report.
    pub fn run(self) -> Result<Report, Failure> {
        let started = Instant::now();
        let harness = Arc::new(self.harness);
        let mut checks = Vec::new();
        let mut violations = Vec::new();
        for check in checks::all::<H>() {
            if self.only.as_ref().is_some_and(|only| !only.contains(&check.obligation)) {
                continue;
            }
            let ctx =
                Ctx { harness: harness.clone(), config: self.config.clone(), obligation: check.obligation };
            let check_started = Instant::now();
            let outcome = match (check.run)(&ctx) {
                Ok(rounds) => Outcome::Passed { rounds },
                Err(Verdict::Skipped(reason)) => Outcome::Skipped(reason),
                Err(Verdict::Violated(obligation, detail)) => {
                    violations.push(Violation::new(obligation, check.name, detail));
                    Outcome::Failed
                }
            };
            checks.push(CheckReport {
                obligation: check.obligation,
                name: check.name,
                outcome,
                elapsed: check_started.elapsed(),
            });
        }
        let report =
            Report { source: std::any::type_name::<H::Source>(), checks, elapsed: started.elapsed() };
        if violations.is_empty() {
            Ok(report)
        } else {
            Err(Failure { violations, report })
        }
    }
}

impl<H> fmt::Debug for Suite<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("harness", &std::any::type_name::<H>())
            .field("config", &self.config)
            .field("only", &self.only)
            .finish()
    }
}

/// Runs the whole suite at its default sizes: `Suite::new(harness).run()`.
///
/// # Errors
///
/// A [`Failure`] listing every violation found.
pub fn check<H: Harness>(harness: H) -> Result<Report, Failure> {
    Suite::new(harness).run()
}
