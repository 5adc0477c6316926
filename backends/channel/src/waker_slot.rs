//! A slot for the waker of the one task that consumes a channel.
//!
//! This is the `AtomicWaker` algorithm of `futures-util`, cut down to a single registering
//! thread: a channel has exactly one receiver, and registering needs `&mut Receiver` (or the
//! [`ChannelSource`](crate::ChannelSource) dispatch, which owns the receiver). Any number of
//! senders wake concurrently. It is cheaper than an `event-listener` `Event`: no allocation, no
//! list, one read-modify-write per wake.

use std::mem;
use std::task::Waker;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::hint;
use crate::sync::UnsafeCell;

/// Nobody is touching `waker`.
const IDLE: usize = 0;
/// The receiver is writing `waker`; a waker that finds this bit leaves `WAKING` for it to see.
const REGISTERING: usize = 0b01;
/// A sender is taking `waker` out, or (together with `REGISTERING`) raced with a registration
/// that must now wake the waker it just stored.
const WAKING: usize = 0b10;

/// The receiver's waker, registered by the receiver and woken by any sender.
///
/// Invariant: `waker` is written only by the thread that moved `state` from `IDLE` to
/// `REGISTERING` (the receiver) or from `IDLE` to `WAKING` (one sender), until it clears that bit.
#[derive(Debug)]
pub(crate) struct WakerSlot {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: `waker` is only accessed under the `state` lock protocol described on the type, so it is
// never accessed from two threads at once; `Waker` itself is `Send + Sync`.
unsafe impl Send for WakerSlot {}
// SAFETY: as for `Send`.
unsafe impl Sync for WakerSlot {}

impl WakerSlot {
    pub(crate) fn new() -> Self {
        Self { state: AtomicUsize::new(IDLE), waker: UnsafeCell::new(None) }
    }

    /// Stores `waker` to be woken by the next [`wake`](Self::wake).
    ///
    /// A wake that races with this call is not lost: it wakes `waker`. The caller must check its
    /// condition (the queue) again after registering, and must be the only thread that registers.
    pub(crate) fn register(&self, waker: &Waker) {
        // Acquire: a sender that took the previous waker released it; we may now overwrite it.
        match self.state.compare_exchange(IDLE, REGISTERING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                let abort = AbortOnPanic;
                // SAFETY: we hold `REGISTERING`, so no sender touches `waker` (a sender that
                // arrives now only sets `WAKING` and leaves the slot to us).
                let replaced = self.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(current) if current.will_wake(waker) => None,
                        _ => (*slot).replace(waker.clone()),
                    }
                });
                mem::forget(abort);
                // AcqRel: Release publishes the stored waker to the sender that takes it next;
                // Acquire (also on failure) orders us after a sender that set `WAKING`.
                let raced = self
                    .state
                    .compare_exchange(REGISTERING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err();
                if raced {
                    // Only `WAKING` can have been added meanwhile: a sender sent and wanted to
                    // wake us, but the slot was ours. Take the waker back out and wake it.
                    // SAFETY: `REGISTERING` is still set, so the slot is still ours.
                    let woken = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                    // A swap, not a store: it must come after every sender's `fetch_or` in the
                    // modification order, or a stale `WAKING` could outlive us and make the next
                    // wake take nothing. Release: the next `register` or wake acquires the
                    // emptied slot.
                    self.state.swap(IDLE, Ordering::AcqRel);
                    #[cfg(reactor_loom)]
                    if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::WakerSlotLostWake) {
                        drop(replaced);
                        return;
                    }
                    if let Some(woken) = woken {
                        woken.wake();
                    }
                }
                drop(replaced);
            }
            // A sender is taking the previous waker out right now: it will wake that waker, not
            // ours, so wake ours here. The caller's re-check may then find the message already.
            // Being woken at once makes the caller poll again, which is a spin on that sender:
            // hint so (under loom, it lets the sender run). The hint comes first because loom's
            // yield forgets an unpark the thread gave itself just before.
            Err(_) => {
                hint::spin_loop();
                waker.wake_by_ref();
            }
        }
    }

    /// Wakes the registered waker, if any, and empties the slot.
    pub(crate) fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    fn take(&self) -> Option<Waker> {
        // AcqRel: Acquire pairs with the Release of `register` so the stored waker is visible;
        // Release publishes the sender's prior writes (the message) to a racing `register`, which
        // acquires `WAKING` on its failed exchange.
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            IDLE => {
                // SAFETY: we moved the state from `IDLE` to `WAKING`, so the slot is ours.
                let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                // Release: the next `register` acquires the emptied slot.
                self.state.fetch_and(!WAKING, Ordering::Release);
                waker
            }
            // `REGISTERING`: the receiver sees our `WAKING` when it finishes and wakes itself.
            // `WAKING`: another sender is already waking the same waker.
            _ => None,
        }
    }
}

/// Aborts the process if dropped: held across user code (`Waker::clone`) that runs while the slot
/// is locked, where unwinding would leave the slot locked for ever and every later wake lost.
struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        std::process::abort();
    }
}
