//! The five obligations of [`EventSource`](reactor::EventSource), and a [`Violation`] of one.

use std::error::Error;
use std::fmt;

/// One of the five obligations of an [`EventSource`](reactor::EventSource) implementor, as the
/// [`reactor::source`] module documents them.
///
/// Its [`Display`](fmt::Display) is how violations name it: `obligation 2 (notify is never
/// lost)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obligation {
    /// 1. One `wait` dispatches every ready event; it blocks at most its timeout, and a zero
    ///    timeout never blocks.
    BulkWait,
    /// 2. A `notify` from any thread ends a blocked wait or the next one; one racing with the
    ///    start of a wait is never lost.
    NeverLostNotify,
    /// 3. `deadline` says when the source next needs a `wait` (now, while work is pending), and
    ///    a composed source gets its `wait` by then.
    Deadlines,
    /// 4. A passive source wakes its driver through the [`Notifier`](reactor::source::Notifier)
    ///    it was attached to; a second driver is refused; a blocking source is never a passive
    ///    part of a composite.
    Composition,
    /// 5. Once a registration handle's drop has returned, its callback never runs again.
    Deregistration,
}

impl Obligation {
    /// All five, in the order of the contract.
    pub const ALL: [Obligation; 5] = [
        Obligation::BulkWait,
        Obligation::NeverLostNotify,
        Obligation::Deadlines,
        Obligation::Composition,
        Obligation::Deregistration,
    ];

    /// Its number in the contract, 1 to 5.
    pub fn number(self) -> u8 {
        match self {
            Obligation::BulkWait => 1,
            Obligation::NeverLostNotify => 2,
            Obligation::Deadlines => 3,
            Obligation::Composition => 4,
            Obligation::Deregistration => 5,
        }
    }

    /// Its title: `"bulk wait"`, `"notify is never lost"`, `"deadlines"`, `"composition"`,
    /// `"no callback after deregistration"`.
    pub fn title(self) -> &'static str {
        match self {
            Obligation::BulkWait => "bulk wait",
            Obligation::NeverLostNotify => "notify is never lost",
            Obligation::Deadlines => "deadlines",
            Obligation::Composition => "composition",
            Obligation::Deregistration => "no callback after deregistration",
        }
    }
}

impl fmt::Display for Obligation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obligation {} ({})", self.number(), self.title())
    }
}

/// A check that a source failed: which obligation it violates, which check saw it, and what
/// happened.
///
/// Displayed as `obligation 2 (notify is never lost): notify racing with the start of a wait:
/// round 17 of 2000: ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The obligation violated.
    pub obligation: Obligation,
    /// The check that saw it (one of the names in [`Report::checks`](crate::Report::checks)).
    pub check: &'static str,
    /// What the source did, and what the obligation requires instead.
    pub detail: String,
}

impl Violation {
    pub(crate) fn new(obligation: Obligation, check: &'static str, detail: impl Into<String>) -> Self {
        Self { obligation, check, detail: detail.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.obligation, self.check, self.detail)
    }
}

impl Error for Violation {}
