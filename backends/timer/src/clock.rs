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
    /// A tick the clock is known to have reached: the latest `now` a dispatch read (see
    /// [`note_now`](Self::note_now)). A sleep woken by the timer, or first polled after a
    /// dispatch saw its deadline pass, learns it is due from this instead of reading the clock,
    /// which is most of the cost of such a poll.
    reached: AtomicU64,
    /// The largest tick that is not [`NEVER`] and converts to an `Instant`.
    last: Tick,
    /// Whether a manual clock also moves by itself, to the next deadline, whenever the executor
    /// driving its timer is idle (paused time).
    paused: bool,
}

impl Clock {
    /// The real monotonic clock.
    #[cfg(not(reactor_loom))]
    pub(crate) fn real() -> Self {
        Self::with(None, false)
    }

    /// A manual clock standing at its origin.
    pub(crate) fn manual() -> Self {
        Self::with(Some(AtomicU64::new(0)), false)
    }

    /// A manual clock standing at its origin that also jumps to the next deadline whenever the
    /// executor is idle.
    pub(crate) fn paused() -> Self {
        Self::with(Some(AtomicU64::new(0)), true)
    }

    fn with(manual: Option<AtomicU64>, paused: bool) -> Self {
        let origin = Instant::now();
        Self { origin, manual, reached: AtomicU64::new(0), last: last_tick(origin), paused }
    }

    pub(crate) fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
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

    /// The current tick, remembered as reached (see `reached`). For the dispatch, which reads the
    /// clock on every wait anyway.
    pub(crate) fn note_now(&self) -> Tick {
        let now = self.now();
        // Relaxed: see `is_reached`. A maximum, so that the value never goes back.
        self.reached.fetch_max(now, Ordering::Relaxed);
        now
    }

    /// The last tick a dispatch read (see `reached`): a time the clock has reached, cheaply.
    pub(crate) fn reached(&self) -> Tick {
        // Relaxed: see `is_reached`; a stale value is an earlier time the clock also reached.
        self.reached.load(Ordering::Relaxed)
    }

    /// Whether the clock has reached `tick`: from the last tick a dispatch read if that suffices,
    /// else by reading the clock.
    pub(crate) fn is_reached(&self, tick: Tick) -> bool {
        // Relaxed: `reached` only ever holds ticks the clock had reached when they were stored,
        // and the clock never goes back, so any value read here proves `tick` due; nothing else
        // is published through it. A stale value only costs the clock read below.
        tick <= self.reached.load(Ordering::Relaxed) || tick <= self.now()
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
            let next = self.after(current, by).min(self.last);
            // AcqRel: Release pairs with the Acquire of `now`; Acquire orders this advance after
            // the one it builds on, also on failure, where the value read is the retry's base.
            match elapsed.compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }

    /// Moves a manual clock forward to `tick` if it is behind (never back). Does nothing to a
    /// real clock.
    pub(crate) fn advance_to(&self, tick: Tick) {
        if let Some(elapsed) = &self.manual {
            // AcqRel, as in `advance`: Release pairs with the Acquire of `now`.
            elapsed.fetch_max(tick.min(self.last), Ordering::AcqRel);
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
        if result > self.last {
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
}

/// The largest tick that is not [`NEVER`] and converts to an `Instant` from `origin`: a binary
/// search, 64 steps at most, once per clock (on Linux it is `NEVER - 1`, 584 years).
fn last_tick(origin: Instant) -> Tick {
    let fits = |tick: Tick| origin.checked_add(Duration::from_nanos(tick)).is_some();
    // Invariant: `fits(low)` and every tick above `high` does not fit (or is `NEVER`).
    let (mut low, mut high) = (0, NEVER - 1);
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        if fits(middle) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_tick_is_the_largest_that_converts_to_an_instant() {
        let clock = Clock::manual();
        let fits = |tick: Tick| clock.origin.checked_add(Duration::from_nanos(tick)).is_some();
        assert!(fits(clock.last));
        assert!(clock.last == NEVER - 1 || !fits(clock.last + 1));
        assert_eq!(clock.after(clock.last, Duration::ZERO), clock.last);
        assert_eq!(clock.after(clock.last, Duration::from_nanos(1)), NEVER);
    }

    #[test]
    fn a_tick_is_reached_only_once_the_clock_is_there() {
        let clock = Clock::manual();
        clock.advance(Duration::from_nanos(5));
        assert_eq!(clock.note_now(), 5);
        assert!(clock.is_reached(5));
        assert!(!clock.is_reached(6));
        // Past the last dispatch's tick, the clock itself is read.
        clock.advance(Duration::from_nanos(5));
        assert!(clock.is_reached(10));
        assert!(!clock.is_reached(11));
    }
}
