//! What a run of the suite found: [`Report`], and [`Failure`] when a check failed.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use crate::{Obligation, Violation};

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The source met the obligation `rounds` times (races, registrations, waits).
    Passed {
        /// How many times the check exercised the source.
        rounds: usize,
    },
    /// The check did not apply, for the reason given (a source without events, say).
    Skipped(String),
    /// The check found a violation (listed in [`Failure::violations`]).
    Failed,
}

/// One check of a run: which obligation it checks, its name, what it found, how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The obligation it checks.
    pub obligation: Obligation,
    /// Its name, as violations quote it.
    pub name: &'static str,
    /// What it found.
    pub outcome: Outcome,
    /// How long it ran.
    pub elapsed: Duration,
}

/// What a run of the suite found, check by check.
///
/// Its [`Display`](fmt::Display) is a table: one line per check, with its outcome and time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The source's type name.
    pub source: &'static str,
    /// Every check run, in order.
    pub checks: Vec<CheckReport>,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl Report {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.count(|outcome| matches!(outcome, Outcome::Passed { .. }))
    }

    /// How many checks were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|outcome| matches!(outcome, Outcome::Skipped(_)))
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.count(|outcome| matches!(outcome, Outcome::Failed))
    }

    fn count(&self, which: impl Fn(&Outcome) -> bool) -> usize {
        self.checks.iter().filter(|check| which(&check.outcome)).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "`{}`: {} checks passed, {} skipped, {} failed, in {:.2?}",
            self.source,
            self.passed(),
            self.skipped(),
            self.failed(),
            self.elapsed
        )?;
        for check in &self.checks {
            let outcome = match &check.outcome {
                Outcome::Passed { rounds } => format!("passed ({rounds} rounds)"),
                Outcome::Skipped(reason) => format!("skipped: {reason}"),
                Outcome::Failed => "FAILED".into(),
            };
            writeln!(
                f,
                "  {} {:<52} {:>9.2?}  {outcome}",
                check.obligation.number(),
                check.name,
                check.elapsed
            )?;
        }
        Ok(())
    }
}

/// A run in which at least one check failed: every violation found, and the whole report.
///
/// Its `Debug` is its `Display` (the violations, one per line), so that a test that unwraps the
/// suite's result prints what went wrong.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The violations, in the order the checks ran; never empty.
    pub violations: Vec<Violation>,
    /// The whole run.
    pub report: Report,
}

impl Failure {
    /// Whether some violation is of `obligation`.
    pub fn violates(&self, obligation: Obligation) -> bool {
        self.violations.iter().any(|violation| violation.obligation == obligation)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` violates the `EventSource` contract:", self.report.source)?;
        for violation in &self.violations {
            write!(f, "\n  - {violation}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)?;
        write!(f, "\n{}", self.report)
    }
}

impl Error for Failure {}
