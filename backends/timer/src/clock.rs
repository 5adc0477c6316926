//! The clock a [`Timer`](crate::Timer) reads "now" from: the real monotonic clock, or a manual
//! one that only moves when told to.
//!
//! Every deadline inside the timer is a [`Tick`]: nanoseconds since the clock's origin (the
//! instant the timer was created). Converting an `Instant` or a `Duration` into a tick is where bad
//! input is tamed, once: an instant before the origin becomes tick 0 (due at once), and anything
//! beyond what a `u64` of nanoseconds (584 years) or an `Instant` can hold becomes [`NEVER`].
//! Hence the invariant the rest of the crate relies on: every tick other than `NEVER` converts
//! back to a valid `Instant`.

use std::time::{Duration, Instant};

use crate::queue::{Tick, NEVER};
use crate::sync::atomic::{AtomicU64, Ordering};

/// The time source of one timer.
#[derive(Debug)]
pub(crate) struct Clock {
    /// The instant of tick 0.
    origin: Instant,
    /// `None` for the real clock (absent under loom, which models only the manual clock, so that
    /// a model never depends on how fast the machine runs).
    manual: Option<AtomicU64>,
}

impl Clock {
    /// The real monotonic clock.
    #[cfg(not(reactor_loom))]
    pub(crate) fn real() -> Self {
        Self { origin: Instant::now(), manual: None }
    }

    /// A manual clock standing at its origin.
    pub(crate) fn manual() -> Self {
        Self { origin: Instant::now(), manual: Some(AtomicU64::new(0)) }
    }

    pub(crate) fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current tick. Never [`NEVER`].
    pub(crate) fn now(&self) -> Tick {
        match &self.manual {
            // Acquire: pairs with the Release of `advance`. The race of an advance with a
            // registration is ordered by the timer's `view` lock, not by this (see
            // `Shared::needs_wake`).
            Some(elapsed) => elapsed.load(Ordering::Acquire),
            None => self.tick_of(Instant::now()),
        }
    }

    /// The current time as an `Instant`.
    pub(crate) fn now_instant(&self) -> Instant {
        self.instant_of(self.now()).unwrap_or(self.origin)
    }

    /// Moves a manual clock forward by `by`, at most to the last representable tick; returns the
    /// new tick. Does nothing to a real clock.
    pub(crate) fn advance(&self, by: Duration) -> Tick {
        let Some(elapsed) = &self.manual else {
            return self.now();
        };
        let mut current = elapsed.load(Ordering::Acquire);
        loop {
            let next = self.after(current, by).min(self.last_tick());
            // AcqRel: Release pairs with the Acquire of `now`; Acquire orders this advance after
            // the one it builds on, also on failure, where the value read is the retry's base.
            match elapsed.compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }

    /// The tick of `instant`: 0 for instants before the origin, [`NEVER`] past the range.
    pub(crate) fn tick_of(&self, instant: Instant) -> Tick {
        let since_origin = instant.saturating_duration_since(self.origin);
        self.after(0, since_origin)
    }

    /// The tick `by` after `tick`, or [`NEVER`] when that is not representable.
    pub(crate) fn after(&self, tick: Tick, by: Duration) -> Tick {
        if tick == NEVER {
            return NEVER;
        }
        let Some(result) = u64::try_from(by.as_nanos()).ok().and_then(|by| tick.checked_add(by)) else {
            return NEVER;
        };
        if result == NEVER || self.origin.checked_add(Duration::from_nanos(result)).is_none() {
            return NEVER;
        }
        result
    }

    /// The instant of `tick`, or `None` for [`NEVER`].
    pub(crate) fn instant_of(&self, tick: Tick) -> Option<Instant> {
        if tick == NEVER {
            return None;
        }
        self.origin.checked_add(Duration::from_nanos(tick))
    }

    /// The instant of tick 0: in the past, so a deadline of `origin` means "due now".
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// The largest tick that is not [`NEVER`] and converts to an `Instant`.
    fn last_tick(&self) -> Tick {
        let mut last = NEVER - 1;
        // Halve the distance until it fits: at most 64 steps, and only on platforms whose
        // `Instant` cannot hold 584 years past now.
        while self.origin.checked_add(Duration::from_nanos(last)).is_none() {
            last /= 2;
        }
        last
    }
}
