//! Wakes the thread running a `block_on`: its main future's waker, and the scheduler of its
//! `!Send` tasks.

use crate::executor::parker::Parker;
use crate::source::EventSource;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Arc, Wake};

/// How a `block_on` thread is woken for its own work, whichever way it sleeps: a flag for its
/// main future, and its [`Parker`], which knows whether the thread is parked or blocked in the
/// source (see `parker.rs`).
pub(crate) struct Signal {
    /// The main future was woken.
    woken: AtomicBool,
    /// The `block_on` thread's parker.
    parker: Arc<Parker>,
    /// The source the thread blocks in when it is the poller.
    source: std::sync::Arc<dyn EventSource>,
}

impl Signal {
    /// A signal whose main future starts out woken, so that it is polled once at the start.
    pub(crate) fn new(parker: Arc<Parker>, source: std::sync::Arc<dyn EventSource>) -> Self {
        Self { woken: AtomicBool::new(true), parker, source }
    }

    /// Consumes the main future's wake-up.
    #[inline]
    pub(crate) fn take_woken(&self) -> bool {
        // A load first: `block_on` asks once per task it runs, and the main future is rarely
        // woken; a swap is a locked read-modify-write every time. A wake the load misses is
        // seen at the next ask, or by the sleep handshake (`OwnWork`), which loads it again
        // after its fence. SeqCst: one total order with the wakers' swaps, so a wake is never
        // ordered before a consumption it did not see.
        self.is_woken() && self.woken.swap(false, Ordering::SeqCst)
    }

    /// Whether the main future was woken (without consuming it).
    #[inline]
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// Wakes the thread however it sleeps, or makes its next sleep return at once. Callers
    /// record what it should look at first.
    pub(crate) fn notify(&self) {
        self.parker.unpark(&*self.source);
    }
}

impl Signal {
    /// Sleeps until `ready` holds, woken by [`notify`](Self::notify) (the `block_on` thread
    /// only, outside the pool's sleep: it waits for its own `!Send` tasks).
    pub(crate) fn wait_until(&self, ready: &dyn Fn() -> bool) {
        while !ready() {
            if self.parker.prepare(false) && !ready() {
                self.parker.park(None);
            }
            self.parker.finish();
        }
    }
}

impl Wake for Signal {
    /// The main future's waker: mark it woken, then wake the thread unless an earlier wake-up
    /// is still pending (it reached, or is about to reach, the thread).
    ///
    /// A swap rather than a store: as a read-modify-write it is ordered after the thread's
    /// `take_woken` swaps, so a wake can never be ordered before a consumption it did not see.
    fn wake(&self) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            self.notify();
        }
    }
}
