//! Cooperative scheduling: a per-poll budget so that an always-ready task yields.
//!
//! A task whose every await completes at once (a channel that always has a message, a socket that
//! always has data) never returns `Pending` on its own and would keep its worker forever. The
//! executor gives each task poll a budget of [`BUDGET`] operations; leaf futures that can
//! complete without waiting (channel receives, reads, timers already due) call
//! [`poll_proceed`] first, and once the budget is spent they return `Pending` after waking the
//! task, which goes to the back of the run queue.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sync::thread_local;

/// Operations a task may complete in one poll before leaf futures make it yield.
pub const BUDGET: u32 = 128;

thread_local! {
    /// The budget left to the task being polled on this thread; `None` outside the executor
    /// (no limit).
    static REMAINING: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Consumes one unit of the current task's budget, or returns `Pending` (having woken the task)
/// when it is spent.
///
/// Call it at the top of a leaf future's `poll`, before doing work that could complete at once.
/// Outside an executor it always returns `Ready`.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
///
/// /// A receive that is always ready, made fair.
/// struct AlwaysReady;
///
/// impl Future for AlwaysReady {
///     type Output = u32;
///
///     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
///         std::task::ready!(reactor::coop::poll_proceed(cx));
///         Poll::Ready(7)
///     }
/// }
///
/// let executor = reactor::Executor::new(reactor::source::Parking::new()).unwrap();
/// assert_eq!(executor.block_on(AlwaysReady), 7);
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    REMAINING.with(|remaining| match remaining.get() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(left) => {
            remaining.set(Some(left - 1));
            Poll::Ready(())
        }
        None => Poll::Ready(()),
    })
}

/// Whether the task being polled on this thread has budget left: `false` once leaf futures
/// would make it yield. Always `true` outside an executor.
///
/// A combinator uses it to tell whether the future it wraps spent the budget; see
/// [`with_unconstrained`].
pub fn has_budget_remaining() -> bool {
    REMAINING.with(|remaining| remaining.get() != Some(0))
}

/// Runs `f` without a budget: leaf futures polled inside it never yield for the budget and use
/// none of it. The budget in force before is restored afterwards (also when `f` panics).
///
/// For a combinator whose own check must not be starved by what its inner future spent. A
/// timeout, say, polls its inner future and then its deadline; a future that spends the whole
/// budget on every poll would otherwise leave the deadline check always yielding, and the
/// timeout would never fire. Unconstrained, the check runs; a combinator should grant it only
/// when the inner future is what spent the budget (it had some before and none after), so that a
/// task still yields once its budget is gone.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use reactor::coop;
///
/// /// Polls `inner`, then `check`, which stays responsive even when `inner` spent the budget.
/// struct Guarded<F, C> {
///     inner: F,
///     check: C,
/// }
///
/// impl<F: Future + Unpin, C: Future<Output = F::Output> + Unpin> Future for Guarded<F, C> {
///     type Output = F::Output;
///
///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
///         let had_budget = coop::has_budget_remaining();
///         if let Poll::Ready(output) = Pin::new(&mut self.inner).poll(cx) {
///             return Poll::Ready(output);
///         }
///         if had_budget && !coop::has_budget_remaining() {
///             coop::with_unconstrained(|| Pin::new(&mut self.check).poll(cx))
///         } else {
///             Pin::new(&mut self.check).poll(cx)
///         }
///     }
/// }
///
/// let executor = reactor::Executor::new(reactor::source::Parking::new()).unwrap();
/// let guarded = Guarded { inner: std::future::pending::<u8>(), check: std::future::ready(1) };
/// assert_eq!(executor.block_on(guarded), 1);
/// ```
pub fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_remaining(None, f)
}

/// Runs `poll` (one task poll) with a fresh budget, restoring the previous one afterwards (even
/// on unwind).
#[inline]
pub(crate) fn with_budget<R>(poll: impl FnOnce() -> R) -> R {
    with_remaining(Some(BUDGET), poll)
}

/// Runs `f` with `budget`, restoring the previous budget afterwards (even on unwind).
#[inline]
fn with_remaining<R>(budget: Option<u32>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            REMAINING.with(|remaining| remaining.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|remaining| remaining.replace(budget)));
    f()
}

/// Yields once to the executor: the task goes to the back of its run queue.
///
/// # Examples
///
/// ```
/// use reactor::{source::Parking, Executor};
///
/// let executor = Executor::new(Parking::new()).unwrap();
/// executor.block_on(async {
///     reactor::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
