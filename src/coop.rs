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

/// Runs `poll` (one task poll) with a fresh budget, restoring the previous one afterwards (even
/// on unwind).
pub(crate) fn with_budget<R>(poll: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|remaining| remaining.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|remaining| remaining.replace(Some(BUDGET))));
    poll()
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
