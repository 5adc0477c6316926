//! [`Timeout`]: a future bounded by a deadline, and its [`Elapsed`] error.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::Sleep;

/// A future that resolves to the output of `F`, or to [`Elapsed`] if `F` does not finish by the
/// deadline.
///
/// Created by [`Timer::timeout`](crate::Timer::timeout),
/// [`Timer::timeout_at`](crate::Timer::timeout_at) and the ambient [`timeout`](crate::timeout).
/// If the future finishes in the same poll as the deadline passes, its output wins. Dropping the
/// `Timeout` cancels both the future and the timer.
///
/// The deadline is honoured even around a future that spends the whole cooperative budget (see
/// [`reactor::coop`]) on every poll: once it has spent it, the deadline check runs without one.
#[must_use = "a Timeout does nothing unless awaited"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    pub(crate) fn new(future: F, sleep: Sleep) -> Self {
        Self { future, sleep }
    }

    /// The deadline, or `None` if it never arrives.
    pub fn deadline(&self) -> Option<Instant> {
        self.sleep.deadline()
    }

    /// The wrapped future, given back (for instance to await it without a deadline after all).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: `Timeout` never moves it out while pinned
        // (`into_inner` takes `self` by value, which a pinned `Timeout` can only give if it is
        // `Unpin`), has no `Drop` impl that could move it, and is `Unpin` only if `F` is. `sleep`
        // is not pinned: `Sleep` is `Unpin`, so handing out `&mut Sleep` is fine.
        let (future, sleep) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.future), &mut this.sleep)
        };
        let had_budget = reactor::coop::has_budget_remaining();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let poll_sleep = || match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed { _private: () })),
            Poll::Pending => Poll::Pending,
        };
        // A future that spends the whole cooperative budget on every poll would leave none for
        // the deadline check (an elapsed `Sleep` yields when the budget is gone), and the timeout
        // would never fire. When the inner future is what spent it, the check runs unconstrained.
        if had_budget && !reactor::coop::has_budget_remaining() {
            reactor::coop::with_unconstrained(poll_sleep)
        } else {
            poll_sleep()
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("deadline", &self.deadline()).finish_non_exhaustive()
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    _private: (),
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

impl crate::Timer {
    /// Runs `future` with a time limit of `duration` from now: a [`Timeout`] that resolves to
    /// its output, or to [`Elapsed`] once the time is up.
    pub fn timeout<F: Future>(&self, duration: std::time::Duration, future: F) -> Timeout<F> {
        Timeout::new(future, self.sleep(duration))
    }

    /// Runs `future` with a deadline: like [`timeout`](Self::timeout), up to an instant.
    pub fn timeout_at<F: Future>(&self, deadline: Instant, future: F) -> Timeout<F> {
        Timeout::new(future, self.sleep_until(deadline))
    }
}
