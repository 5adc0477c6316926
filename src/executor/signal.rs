//! Wakes the thread running a `block_on`: its main future's waker, and the scheduler of its
//! `!Send` tasks.

use std::time::Duration;

use event_listener::Event;

use crate::executor::shared::wait_listener;
use crate::source::EventSource;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::Wake;

/// How a `block_on` thread is woken, whichever way it sleeps.
///
/// The thread sleeps either as the poller, blocked in the source (`polling` set), or on `event`.
/// A wake sets its flag, then notifies both ways; the SeqCst store of the flag and load of
/// `polling` pair with the thread's SeqCst store of `polling` and load of the flag (a Dekker
/// handshake), so a wake is never lost.
pub(crate) struct Signal {
    /// The main future was woken.
    woken: AtomicBool,
    /// The thread is (about to be) blocked in the source as the poller.
    polling: AtomicBool,
    event: Event,
    source: std::sync::Arc<dyn EventSource>,
}

impl Signal {
    /// A signal whose main future starts out woken, so that it is polled once at the start.
    pub(crate) fn new(source: std::sync::Arc<dyn EventSource>) -> Self {
        Self { woken: AtomicBool::new(true), polling: AtomicBool::new(false), event: Event::new(), source }
    }

    /// Consumes the main future's wake-up.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// Whether the main future was woken (without consuming it).
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// Wakes the thread, however it sleeps. Callers set what it should look at first.
    pub(crate) fn notify(&self) {
        self.event.notify(1);
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::BlockOnWakeSkipsSource) {
            return;
        }
        if self.polling.load(Ordering::SeqCst) {
            self.source.notify();
        }
    }

    /// Marks the thread as the poller (`true`) or not (`false`).
    pub(crate) fn set_polling(&self, polling: bool) {
        self.polling.store(polling, Ordering::SeqCst);
    }

    /// Sleeps on the private event until [`notify`](Self::notify) or `timeout`, unless
    /// `has_work` says there is something to do already.
    pub(crate) fn sleep(&self, timeout: Option<Duration>, has_work: &dyn Fn() -> bool) {
        let listener = self.event.listen();
        if !has_work() {
            wait_listener(listener, timeout);
        }
    }
}

impl Wake for Signal {
    /// The main future's waker: mark it woken, then wake the thread unless an earlier wake-up
    /// is still pending (its notify already reached, or is about to reach, the thread).
    ///
    /// A swap rather than a store: as a read-modify-write it is ordered after the thread's
    /// `take_woken` swaps, so a wake can never be ordered before a consumption it did not see.
    fn wake(&self) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.notify();
        }
    }
}
