//! A slot for the waker of the one task that consumes a channel.
//!
//! This is the `AtomicWaker` algorithm of `futures-util`, extended with a `REGISTERED` bit so that
//! a sender finding no waker to wake only reads the state. Under load, when the receiver is busy
//! and has no waker registered, many senders then share the state's cache line instead of
//! fighting over it with read-modify-writes.
//!
//! One thread registers at a time in this crate (a channel has exactly one receiver, and
//! registering needs `&mut Receiver`, the oneshot receiver pinned mutably, or the
//! [`ChannelSource`](crate::ChannelSource) dispatch, which owns the receiver). Nothing in the
//! types proves that to the slot, so [`WakerSlot::register`] does not rely on it: a registration
//! that finds another in progress leaves the slot to it and wakes its own waker instead, which is
//! memory-safe whoever calls it and still loses no wake.
//!
//! # Why no wake is lost
//!
//! The receiver registers and then looks at the queue again; a sender pushes and then looks at
//! the state. Each side has a `SeqCst` fence between its write and its read, so at least one of
//! them sees the other's write (the store-buffering pattern): the receiver finds the message, or
//! the sender finds the waker.

use std::mem;
use std::task::Waker;

use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::hint;
use crate::sync::UnsafeCell;

/// No waker is stored and nobody is touching `waker`.
const IDLE: usize = 0;
/// The receiver is writing `waker`; a sender that finds this bit leaves `WAKING` for it to see.
const REGISTERING: usize = 0b001;
/// A sender is taking `waker` out, or (together with `REGISTERING`) raced with a registration
/// that must now wake the waker it just stored.
const WAKING: usize = 0b010;
/// A waker is stored and nobody is touching `waker`.
const REGISTERED: usize = 0b100;

/// The receiver's waker, registered by the receiver and woken by any sender.
///
/// Invariant: `waker` is accessed only by the thread that set `REGISTERING` on a state without
/// `REGISTERING` or `WAKING` (one registration), or that set `WAKING` on a state without either
/// (one sender), until that thread clears its bit.
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
    /// condition (the queue) again after registering.
    ///
    /// Registrations from two threads at once are safe: the one that finds the other in progress
    /// does not store its waker but wakes it at once, so that its caller polls again (and, polled
    /// again, registers again). The crate never registers from two threads at once; this only
    /// keeps a misuse from being undefined behaviour.
    pub(crate) fn register(&self, waker: &Waker) {
        #[cfg(reactor_loom)]
        let ignore_registering =
            crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RegisterIgnoresRegistration);
        #[cfg(not(reactor_loom))]
        let ignore_registering = false;
        // Relaxed: only a first guess for the exchange below, which acquires.
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            // `REGISTERING` (without `WAKING`): another thread is storing its waker right now and
            // owns the slot until it clears the bit. Exchanging `REGISTERING` for itself would
            // "succeed" and hand the slot to both of us.
            if current & WAKING != 0 || (current & REGISTERING != 0 && !ignore_registering) {
                // A sender is taking the previous waker out right now: it wakes that waker, not
                // ours, so wake ours here; the caller's re-check may already find the message.
                // (Or another registration holds the slot: ours is not stored, so wake it.)
                // Being woken at once makes the caller poll again, a spin on that sender: hint
                // so (under loom it lets the sender run). The hint comes first because loom's
                // yield forgets an unpark the thread gave itself just before.
                hint::spin_loop();
                waker.wake_by_ref();
                return;
            }
            // From `IDLE` or `REGISTERED` only (checked just above), so a success makes the slot
            // ours alone. Acquire: a sender that took the previous waker, or a registration that
            // stored one, released the slot.
            match self.state.compare_exchange(current, REGISTERING, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let abort = AbortOnPanic;
        // SAFETY: we set `REGISTERING` on a state without it or `WAKING`, so no sender touches
        // `waker` (a sender that arrives now only sets `WAKING` and leaves the slot to us) and no
        // other registration does (it finds `REGISTERING` and backs off).
        let replaced = self.waker.with_mut(|slot| unsafe {
            match &*slot {
                Some(stored) if stored.will_wake(waker) => None,
                _ => (*slot).replace(waker.clone()),
            }
        });
        mem::forget(abort);
        // Release: publishes the stored waker to the sender that takes it. Acquire on failure:
        // orders us after the sender that set `WAKING`.
        let raced = self
            .state
            .compare_exchange(REGISTERING, REGISTERED, Ordering::Release, Ordering::Acquire)
            .is_err();
        if raced {
            // Only `WAKING` can have been added meanwhile: a sender sent and wanted to wake us,
            // but the slot was ours. Take the waker back out and wake it.
            // SAFETY: `REGISTERING` is still set, so the slot is still ours.
            let woken = self.waker.with_mut(|slot| unsafe { (*slot).take() });
            // A store suffices: senders that find `WAKING` back off without writing, so nobody
            // else writes the state now. Release: the next `register` or wake acquires the
            // emptied slot (the failed exchange above already acquired the sender's change).
            self.state.store(IDLE, Ordering::Release);
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::WakerSlotLostWake) {
                drop(replaced);
                return;
            }
            if let Some(woken) = woken {
                woken.wake();
            }
        } else {
            // The receiver's half of the pattern in the module docs: its re-check of the queue
            // comes after this fence.
            fence(Ordering::SeqCst);
        }
        drop(replaced);
    }

    /// Wakes the registered waker, if any, and empties the slot.
    ///
    /// The caller must have made its change (pushed, closed) before calling.
    pub(crate) fn wake(&self) {
        // The sender's half of the pattern in the module docs: its change comes before this
        // fence, and the state is read after it.
        #[cfg(reactor_loom)]
        let skip_fence = crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::WakeSkipsFence);
        #[cfg(not(reactor_loom))]
        let skip_fence = false;
        if !skip_fence {
            fence(Ordering::SeqCst);
        }
        // Relaxed: the fence orders the load. Nothing to do when no waker is stored or being
        // stored, or when another sender is already taking it (`WAKING` alone).
        let current = self.state.load(Ordering::Relaxed);
        if current & (REGISTERING | REGISTERED) == 0 {
            return;
        }
        if let Some(waker) = self.take(current) {
            waker.wake();
        }
    }

    /// Takes the stored waker out, or leaves `WAKING` for a receiver that is registering one;
    /// `current` is a first guess of the state.
    fn take(&self, mut current: usize) -> Option<Waker> {
        loop {
            // `WAKING`: another sender is taking the waker out, or already told the registering
            // receiver to wake itself.
            if current & WAKING != 0 || current & (REGISTERING | REGISTERED) == 0 {
                return None;
            }
            // With `REGISTERING`, the receiver sees our `WAKING` when it finishes and wakes
            // itself. Otherwise the state is `REGISTERED` and `WAKING` alone makes the slot ours.
            let new = if current & REGISTERING != 0 { current | WAKING } else { WAKING };
            // AcqRel: Acquire pairs with the Release of `register` so the stored waker is
            // visible; Release publishes the sender's change to a racing `register`, which
            // acquires `WAKING` on its failed exchange.
            match self.state.compare_exchange(current, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) if new == WAKING => break,
                Ok(_) => return None,
                Err(actual) => current = actual,
            }
        }
        // SAFETY: we set `WAKING` on a state without `REGISTERING` or `WAKING`: the slot is ours.
        let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
        // A store, not a read-modify-write: while the state is `WAKING` alone nobody else writes
        // it (senders and `register` only read it and back off). Release: the next `register`
        // acquires the emptied slot.
        self.state.store(IDLE, Ordering::Release);
        waker
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

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, StdOrdering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    /// A registration that finds another one in progress (another thread between its two state
    /// changes, as if two threads registered at once) leaves the slot to it: it does not touch the
    /// stored waker, and wakes its own waker so that its caller polls again.
    #[test]
    fn a_registration_during_another_leaves_the_slot_alone_and_wakes_its_caller() {
        let slot = WakerSlot::new();
        // The state another thread holds from its first exchange until it stored its waker.
        slot.state.store(REGISTERING, Ordering::SeqCst);
        let (woken, waker) = counting_waker();
        slot.register(&waker);
        assert_eq!(woken.0.load(StdOrdering::SeqCst), 1, "the caller is told to poll again");
        assert_eq!(slot.state.load(Ordering::SeqCst), REGISTERING, "the other registration keeps the slot");
        // SAFETY: single-threaded test; nobody else touches the slot.
        let stored = slot.waker.with_mut(|waker| unsafe { (*waker).is_some() });
        assert!(!stored, "the slot the other registration is writing was not written");
    }

    #[test]
    fn a_wake_reaches_the_registered_waker_once() {
        let slot = WakerSlot::new();
        let (woken, waker) = counting_waker();
        slot.register(&waker);
        slot.wake();
        slot.wake();
        assert_eq!(woken.0.load(StdOrdering::SeqCst), 1);
    }
}
