//! [`ManualClock`]: manual and paused time for deterministic, instant tests of timing logic.

use std::fmt;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::Timer;

/// Moves the clock of a timer created by [`Timer::with_manual_clock`]; time stands still
/// otherwise.
///
/// Timers on a manual clock fire exactly when an advance reaches their deadline, whatever real
/// time says, so a test of timeout logic is deterministic and takes no real time. Unlike tokio's
/// `time::pause`, this works on any executor with any number of worker threads: an advance from
/// any thread that makes a timer due wakes the executor's blocked waiter, which fires it.
///
/// While nothing is due, the timer reports no deadline to its executor, so an idle executor blocks
/// until the next advance instead of waking on real time.
///
/// # Examples
///
/// ```
/// use std::future::pending;
/// use std::time::Duration;
/// use reactor::Builder;
/// use reactor_timer::Timer;
///
/// let (timer, clock) = Timer::with_manual_clock();
/// let executor = Builder::new().worker_threads(4).build(timer.clone())?;
/// // Deadlines are fixed when the futures are created, whenever the tasks first run.
/// let late = executor.spawn(timer.timeout(Duration::from_secs(3600), pending::<()>()));
/// let early = executor.spawn(timer.timeout(Duration::from_secs(3601), async {}));
///
/// clock.advance(Duration::from_secs(3600)); // an hour, in no real time
/// assert!(executor.block_on(late)?.is_err());
/// assert!(executor.block_on(early)?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ManualClock {
    timer: Timer,
}

impl Timer {
    /// A timer on a manual clock, and the clock: time moves only by [`ManualClock::advance`].
    ///
    /// The clock starts at the real `Instant::now()` of this call; read it with
    /// [`Timer::now`] or [`ManualClock::now`], and compute deadlines from that.
    pub fn with_manual_clock() -> (Timer, ManualClock) {
        let timer = Timer::with_clock(Clock::manual());
        (timer.clone(), ManualClock { timer })
    }
}

impl Timer {
    /// A timer on a paused clock, and the clock: like [`with_manual_clock`](Self::with_manual_clock),
    /// and moreover, whenever every thread of the executor driving the timer is idle (no task
    /// runs or is queued, and its other sources have nothing ready), the clock jumps to the
    /// earliest pending deadline, which then fires.
    ///
    /// So a test of timeout logic needs no advances at all: it awaits, and time passes exactly
    /// when nothing else can happen, in no real time, with the same result on any number of
    /// worker threads. [`ManualClock::advance`] still moves the clock by hand. Only a thread
    /// outside the executor is invisible to it: time may jump while such a thread is about to
    /// wake a task, as with tokio's paused clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use std::time::Duration;
    /// use reactor::Builder;
    /// use reactor_timer::Timer;
    ///
    /// let (timer, clock) = Timer::with_paused_clock();
    /// let start = clock.now();
    /// let executor = Builder::new().worker_threads(4).build(timer.clone())?;
    /// let task = executor.spawn({
    ///     let timer = timer.clone();
    ///     async move { timer.timeout(Duration::from_secs(30), pending::<()>()).await }
    /// });
    /// assert!(executor.block_on(task)?.is_err()); // timed out, in no real time
    /// assert_eq!(clock.now() - start, Duration::from_secs(30));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_paused_clock() -> (Timer, ManualClock) {
        let timer = Timer::with_clock(Clock::paused());
        (timer.clone(), ManualClock { timer })
    }
}

impl ManualClock {
    /// The current time on this clock.
    pub fn now(&self) -> Instant {
        self.timer.now()
    }

    /// Moves the clock forward by `by` (saturating far in the future: `Duration::MAX` does not
    /// overflow). If that makes a timer due, wakes the waiter of the timer's executor, which
    /// fires it.
    pub fn advance(&self, by: Duration) {
        let shared = &self.timer.shared;
        let now = shared.clock.advance(by);
        // Read under the `view` lock after the advance: a registration racing with this advance
        // either sees the new time and wakes the waiter itself, or is seen here (see
        // `Shared::needs_wake`).
        if shared.earliest_locked() <= now {
            shared.notify_waiter();
        }
    }

    /// Moves the clock forward to `instant`; does nothing if it is not in the future.
    pub fn advance_to(&self, instant: Instant) {
        let shared = &self.timer.shared;
        let target = shared.clock.tick_of(instant);
        let now = shared.clock.now();
        if target > now {
            self.advance(Duration::from_nanos(target - now));
        }
    }

    /// Moves the clock forward to the earliest pending deadline, if any, and returns it.
    ///
    /// Only what is registered at this moment counts: while an executor runs, a task that has not
    /// been polled yet has not registered its deadline, so a loop of `advance_to_next` calls
    /// races with the tasks. To let time pass whenever nothing else can happen, use a
    /// [paused clock](Timer::with_paused_clock) instead, which the executor advances itself.
    pub fn advance_to_next(&self) -> Option<Instant> {
        let shared = &self.timer.shared;
        let next = shared.clock.instant_of(shared.earliest())?;
        self.advance_to(next);
        Some(next)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("now", &self.now()).finish()
    }
}
