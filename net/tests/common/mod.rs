//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use reactor::Executor;
use reactor_epoll::Epoll;

/// An executor over a fresh epoll source, one worker per core.
pub fn executor() -> Executor<Epoll> {
    Executor::new(Epoll::new().unwrap()).unwrap()
}

/// A waker target that counts its wakes; `Arc::strong_count` counts the live wakers.
#[derive(Default)]
pub struct CountingWaker {
    pub wakes: AtomicUsize,
}

impl CountingWaker {
    /// A new target and one waker for it.
    pub fn new() -> (Arc<Self>, Waker) {
        let target = Arc::new(Self::default());
        let waker = Waker::from(target.clone());
        (target, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wakers alive for `target`, other than the test's own `Arc` and its one waker.
pub fn stored_wakers(target: &Arc<CountingWaker>) -> usize {
    Arc::strong_count(target) - 2
}
