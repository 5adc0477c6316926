//! What the timer models share: a waker that counts, and polling a sleep with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use reactor_timer::Sleep;

/// Counts wakes. Std atomics: the count is read only after the model's threads are joined.
#[derive(Default)]
pub(crate) struct Counter(AtomicUsize);

impl Counter {
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `sleep` once with a waker that counts into `counter`.
pub(crate) fn poll(sleep: &mut Sleep, counter: &Arc<Counter>) -> Poll<()> {
    let waker = Waker::from(counter.clone());
    Pin::new(sleep).poll(&mut Context::from_waker(&waker))
}
