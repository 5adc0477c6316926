//! Running a channel future to completion on a plain OS thread.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::waker_refcount::Arc;
use crate::sync::{thread, thread_local};

thread_local! {
    /// This thread's waker for [`block_on`], made once: a fresh one per call cost an
    /// allocation, a free and a `Thread` handle clone on every `send_blocking` (about 300
    /// instructions, a third of a blocking send to a waiting task).
    static UNPARKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
}

/// Polls `future` on this thread, parking it while the future waits.
///
/// Meant for threads outside any runtime (`send_blocking`, `recv_blocking`). The parking goes
/// through the loom shim, so the blocking calls can be modelled too.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // The thread's waker is gone only while its thread-locals are being destroyed (a blocking
    // send from another thread-local's destructor): make one for this call then.
    UNPARKER
        .try_with(|waker| poll_until_ready(future.as_mut(), waker))
        .unwrap_or_else(|_| poll_until_ready(future, &Waker::from(Arc::new(Unparker(thread::current())))))
}

/// Polls `future` with `waker`, which unparks this thread, parking between polls.
///
/// A wake left over from an earlier call (a waker the channel kept) only makes one park return
/// early: the loop polls again and parks again.
fn poll_until_ready<F: Future>(mut future: Pin<&mut F>, waker: &Waker) -> F::Output {
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake between the poll and here leaves the park token set, so this returns at once.
        thread::park();
    }
}

/// Wakes a thread parked in [`block_on`].
struct Unparker(thread::Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}
