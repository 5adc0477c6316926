//! The ambient API: free functions that use the timer of the executor they run on.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Interval, Sleep, Timeout, Timer};

/// What the ambient functions panic with outside an executor that has a timer.
const NO_TIMER: &str = "no reactor timer here: the ambient timer functions (reactor_timer::sleep, \
     timeout, interval, ...) must run inside a task or block_on of an Executor whose source \
     includes a reactor_timer::Timer; elsewhere call the methods of a Timer directly";

impl Timer {
    /// The timer of the executor this task (or `block_on`) runs on.
    ///
    /// # Panics
    ///
    /// Outside an executor, or on one whose source includes no `Timer`. See
    /// [`try_current`](Self::try_current) for the non-panicking form.
    pub fn current() -> Timer {
        Self::try_current().expect(NO_TIMER)
    }

    /// The timer of the executor this task (or `block_on`) runs on, or `None` outside an
    /// executor or on one whose source includes no `Timer`.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor::Executor;
    /// use reactor_timer::Timer;
    ///
    /// assert!(Timer::try_current().is_none());
    /// let executor = Executor::new(Timer::new())?;
    /// assert!(executor.block_on(async { Timer::try_current() }).is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_current() -> Option<Timer> {
        reactor::current_source::<Timer>()
    }
}

/// Sleeps for `duration` on the current executor's timer: see [`Timer::sleep`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use reactor::Executor;
///
/// let executor = Executor::new(reactor_timer::Timer::new())?;
/// let start = Instant::now();
/// // Called inside the executor: `block_on(sleep(..))` would call `sleep` before entering it.
/// executor.block_on(async { reactor_timer::sleep(Duration::from_millis(2)).await });
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Timer::current().into_sleep(duration)
}

/// Sleeps until `deadline` on the current executor's timer: see [`Timer::sleep_until`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Timer::current().into_sleep_until(deadline)
}

/// Runs `future` with a time limit on the current executor's timer: see [`Timer::timeout`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout::new(future, Timer::current().into_sleep(duration))
}

/// Runs `future` with a deadline on the current executor's timer: see [`Timer::timeout_at`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout::new(future, Timer::current().into_sleep_until(deadline))
}

/// Ticks every `period` from now on the current executor's timer: see [`Timer::interval`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
pub fn interval(period: Duration) -> Interval {
    Interval::new(Timer::current().into_sleep(Duration::ZERO), period)
}

/// Ticks every `period` from `start` on the current executor's timer: see
/// [`Timer::interval_at`].
///
/// # Panics
///
/// Outside an executor that has a [`Timer`] (see [`Timer::current`]).
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval::new(Timer::current().into_sleep_until(start), period)
}
