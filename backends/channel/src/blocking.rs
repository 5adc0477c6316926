//! Running a channel future to completion on a plain OS thread.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::thread;
use crate::sync::waker_refcount::Arc;

/// Polls `future` on this thread, parking it while the future waits.
///
/// Meant for threads outside any runtime (`send_blocking`, `recv_blocking`). The parking goes
/// through the loom shim, so the blocking calls can be modelled too.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
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
