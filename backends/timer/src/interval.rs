//! [`Interval`]: a stream of ticks at a fixed period.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::queue::NEVER;
use crate::Sleep;

/// What an [`Interval`] does when ticks were missed: when it is polled a whole period or more
/// after a tick was due (the task was busy, or the machine suspended).
///
/// Ticks that are late by less than a period are simply yielded late, and the schedule is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Yield every missed tick at once, back to back, until the schedule is caught up. For
    /// work that must happen once per period on average.
    #[default]
    Burst,
    /// Yield one tick now and count the next period from now: the schedule shifts by the delay.
    Delay,
    /// Yield one tick now and drop the missed ones: the next tick is the next one of the original
    /// schedule that lies in the future.
    Skip,
}

/// Ticks at a fixed period: a [`Stream`] of the instants the ticks were scheduled for.
///
/// Created by [`Timer::interval`](crate::Timer::interval),
/// [`Timer::interval_at`](crate::Timer::interval_at) and the ambient
/// [`interval`](crate::interval). The first tick is at the start instant (immediately, for
/// `interval`); each later one a period after the previous scheduled tick, with missed ticks
/// handled by the [`MissedTickBehavior`] (default: [`Burst`](MissedTickBehavior::Burst)). A zero
/// period ticks on every poll. The stream never ends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use reactor_timer::{MissedTickBehavior, Timer};
///
/// let (timer, _clock) = Timer::with_manual_clock();
/// let mut interval = timer.interval(Duration::from_secs(1));
/// interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// assert_eq!(interval.period(), Duration::from_secs(1));
/// ```
#[must_use = "an Interval does nothing unless polled"]
pub struct Interval {
    /// Sleeps until the next scheduled tick.
    sleep: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    pub(crate) fn new(sleep: Sleep, period: Duration) -> Self {
        Self { sleep, period, missed_tick_behavior: MissedTickBehavior::default() }
    }

    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: the poll-based form of [`tick`](Self::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline_tick();
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let clock = &self.sleep.timer().shared.clock;
        let now = clock.now();
        let next = clock.after(scheduled, self.period);
        let next = if next > now || self.period.is_zero() {
            next
        } else {
            match self.missed_tick_behavior {
                MissedTickBehavior::Burst => next,
                MissedTickBehavior::Delay => clock.after(now, self.period),
                MissedTickBehavior::Skip => {
                    let period = self.period.as_nanos();
                    let periods_late = u128::from(now - scheduled) / period + 1;
                    u64::try_from(periods_late * period)
                        .map_or(NEVER, |late| clock.after(scheduled, Duration::from_nanos(late)))
                }
            }
        };
        // The sleep completed, so its deadline was not `NEVER` and converts.
        let tick = clock.instant_of(scheduled).unwrap_or_else(|| clock.now_instant());
        self.sleep.reset_tick(next);
        Poll::Ready(tick)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let timer = self.sleep.timer();
        let next = timer.tick_after(self.period);
        self.sleep.reset_tick(next);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the policy for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.sleep.deadline())
            .field("missed_tick_behavior", &self.missed_tick_behavior)
            .finish()
    }
}

impl crate::Timer {
    /// An [`Interval`] whose first tick is now and then every `period`.
    pub fn interval(&self, period: Duration) -> Interval {
        Interval::new(self.sleep(Duration::ZERO), period)
    }

    /// An [`Interval`] whose first tick is at `start` and then every `period`.
    pub fn interval_at(&self, start: Instant, period: Duration) -> Interval {
        Interval::new(self.sleep_until(start), period)
    }
}
