//! Wakes the thread running a `block_on`: its main future's waker, and the scheduler of its
//! `!Send` tasks.

use std::time::Duration;

use event_listener::Event;

use crate::executor::shared::wait_listener;
use crate::source::EventSource;
use crate::sync::atomic::{fence, AtomicBool, AtomicU8, Ordering};
use crate::sync::Wake;

/// The `block_on` thread is running: a wake only needs to set its flag.
const AWAKE: u8 = 0;
/// The thread is (about to be) asleep on `Signal::event`.
const LISTENING: u8 = 1;
/// The thread is (about to be) blocked in the source as the poller.
const POLLING: u8 = 2;

/// How a `block_on` thread is woken, whichever way it sleeps.
///
/// The thread publishes how it is about to sleep in `sleep_state`, issues a SeqCst fence, then
/// checks for work one last time. A waker records its work (the `woken` flag, or a queued local
/// task), issues a SeqCst fence, then reads `sleep_state` and wakes the thread the way it sleeps.
/// The two fences are totally ordered (a Dekker handshake): either the thread sees the work or
/// the waker sees the sleeper, so a wake is never lost, and a running thread costs a waker no
/// notification at all.
pub(crate) struct Signal {
    /// The main future was woken.
    woken: AtomicBool,
    /// `AWAKE`, `LISTENING` or `POLLING`; written only by the `block_on` thread.
    sleep_state: AtomicU8,
    event: Event,
    source: std::sync::Arc<dyn EventSource>,
}

impl Signal {
    /// A signal whose main future starts out woken, so that it is polled once at the start.
    pub(crate) fn new(source: std::sync::Arc<dyn EventSource>) -> Self {
        Self { woken: AtomicBool::new(true), sleep_state: AtomicU8::new(AWAKE), event: Event::new(), source }
    }

    /// Consumes the main future's wake-up.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }

    /// Whether the main future was woken (without consuming it).
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// Wakes the thread the way it sleeps, if it sleeps (the waker half of the handshake).
    /// Callers record what it should look at first.
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        // Relaxed: ordered against the thread's store by the two SeqCst fences.
        match self.sleep_state.load(Ordering::Relaxed) {
            LISTENING => {
                #[cfg(reactor_loom)]
                if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::BlockOnWakeSkipsEvent) {
                    return;
                }
                self.event.notify(1);
            }
            POLLING => {
                #[cfg(reactor_loom)]
                if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::BlockOnWakeSkipsSource) {
                    return;
                }
                self.source.notify();
            }
            _ => {}
        }
    }

    /// Marks the thread as the poller (`true`) or running (`false`). The caller issues the
    /// SeqCst fence before its last check for work.
    pub(crate) fn set_polling(&self, polling: bool) {
        // Relaxed: published by the caller's SeqCst fence (see the type's docs).
        self.sleep_state.store(if polling { POLLING } else { AWAKE }, Ordering::Relaxed);
    }

    /// Sleeps on the private event until [`notify`](Self::notify) or `timeout`, unless
    /// `has_work` says there is something to do already.
    pub(crate) fn sleep(&self, timeout: Option<Duration>, has_work: &dyn Fn() -> bool) {
        // Relaxed: published by the fence below, before the last check for work.
        self.sleep_state.store(LISTENING, Ordering::Relaxed);
        let listener = self.event.listen();
        fence(Ordering::SeqCst);
        if !has_work() {
            wait_listener(listener, timeout);
        }
        self.sleep_state.store(AWAKE, Ordering::Relaxed);
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
