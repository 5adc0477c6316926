//! The broadcast protocol between the signal handler, whoever drains the self-pipe, and the
//! listeners: the part of the crate that is concurrent, and what the loom models check.
//!
//! Per signal number a [`Slot`] holds:
//!
//! - `pending`: raised by the handler (async-signal-safe: one atomic store), taken by a dispatch.
//!   It carries the delivery; the pipe's byte only carries the wake-up, so a full pipe (whose
//!   write fails) or several deliveries folded into one byte lose nothing.
//! - under a lock, the **generation** (how many dispatches found the signal pending) and the
//!   wakers of the listeners subscribed to it. A listener remembers the generation it last saw;
//!   a different one is a delivery it has not seen.
//!
//! The two orders that make the protocol lose nothing (each has a seeded bug the models catch):
//!
//! 1. The handler raises `pending` **before** it writes its byte, and a dispatch drains the pipe
//!    **before** it takes the flags. Then a dispatch that drained the byte takes the flag
//!    behind it, and a flag raised after the take has a byte still in the pipe (written after
//!    the drain), so the pipe stays readable and another dispatch comes.
//! 2. A listener compares the generation and stores its waker **under the slot's lock**, and a
//!    dispatch bumps the generation and takes the wakers under the same lock. Then either the
//!    listener's check comes after the bump (and sees it), or its waker is in place before the
//!    dispatch takes the wakers (and is woken).
#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // public for the loom models only

use std::task::{Context, Poll, Waker};

use crate::sync::seeded_bug::{self, Bug};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// The self-pipe, as the protocol sees it: a wake-up raised from a signal handler and drained
/// by a dispatch.
pub trait Wakeup {
    /// Makes the read end readable (writes a byte). Called from the signal handler, so it must
    /// be async-signal-safe; a write that fails because the pipe is full loses nothing (the pipe
    /// is readable already, and the pending flag carries the delivery).
    fn raise(&self);

    /// Reads everything written so far, until the read end would block.
    fn drain(&self);
}

/// The state of every signal number: pending flags for the handler, generations and wakers for
/// the listeners.
#[derive(Debug)]
pub struct Hub {
    slots: Box<[Slot]>,
}

#[derive(Debug)]
struct Slot {
    /// A delivery no dispatch has taken yet.
    pending: AtomicBool,
    state: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    /// How many dispatches found the signal pending (wrapping; never reached in practice).
    generation: u64,
    /// One entry per subscription key: `Some(waker)` while that listener waits.
    waiters: Vec<Option<Waker>>,
    /// Whether each entry of `waiters` is taken by a subscription.
    occupied: Vec<bool>,
    /// Vacant entries of `waiters`, reused first.
    free: Vec<usize>,
}

/// A listener's subscription to one signal of a [`Hub`].
#[derive(Debug)]
pub struct Subscription {
    signal: usize,
    key: usize,
    /// The generation this listener has seen.
    seen: u64,
}

impl Subscription {
    /// The signal number (index into the hub) subscribed to.
    pub fn signal(&self) -> usize {
        self.signal
    }
}

impl Hub {
    /// A hub for signal numbers `0..signals` (number 0 is never delivered; it keeps the index
    /// equal to the number).
    pub fn new(signals: usize) -> Self {
        let slots = (0..signals)
            .map(|_| Slot { pending: AtomicBool::new(false), state: Mutex::new(SlotState::default()) })
            .collect();
        Self { slots }
    }

    /// The signal handler's half: marks `signal` pending, then raises the wake-up.
    /// Async-signal-safe when `wakeup.raise` is (one atomic store; no lock, no allocation).
    /// A number the hub has no slot for is ignored.
    pub fn on_signal(&self, signal: usize, wakeup: &impl Wakeup) {
        let Some(slot) = self.slots.get(signal) else { return };
        if seeded_bug::is_active(Bug::HandlerWritesBeforeMarking) {
            wakeup.raise();
            slot.pending.store(true, Ordering::Release);
            return;
        }
        // Release: pairs with the Acquire swap in `dispatch`. The pipe's write and read already
        // order this store before the swap of a dispatch that drained this byte (a write(2) and
        // read(2) through the kernel's locks; a loom mutex in the model); Release/Acquire also
        // cover a dispatch that sees the flag before reading the byte, and nothing else is
        // published with it.
        slot.pending.store(true, Ordering::Release);
        wakeup.raise();
    }

    /// The reading side's half: drains the wake-up, then broadcasts every pending signal to its
    /// listeners (each pending signal's generation goes up by one, and every listener waiting on
    /// it is woken). Any number of threads (runtimes) may dispatch at once; each pending flag is
    /// taken by exactly one of them.
    pub fn dispatch(&self, wakeup: &impl Wakeup) {
        if seeded_bug::is_active(Bug::DispatchTakesBeforeDraining) {
            let taken: Vec<bool> =
                self.slots.iter().map(|slot| slot.pending.swap(false, Ordering::Acquire)).collect();
            wakeup.drain();
            for (slot, taken) in self.slots.iter().zip(taken) {
                if taken {
                    slot.broadcast();
                }
            }
            return;
        }
        wakeup.drain();
        for slot in self.slots.iter() {
            // Acquire: pairs with the handler's Release store (see `on_signal`). Checked with a
            // load first so that a dispatch with nothing pending writes no cache line.
            if slot.pending.load(Ordering::Relaxed) && slot.pending.swap(false, Ordering::Acquire) {
                slot.broadcast();
            }
        }
    }

    /// Forgets a pending delivery of `signal` (left by a handler of an earlier installation that
    /// was still running when its last listener went), so that a new listener does not see it.
    pub fn clear_pending(&self, signal: usize) {
        if let Some(slot) = self.slots.get(signal) {
            // Relaxed: a stale flag carries no data; a delivery racing with this store is one
            // the caller has not installed the handler for yet.
            slot.pending.store(false, Ordering::Relaxed);
        }
    }

    /// Subscribes a listener to `signal`: it sees every dispatch of it from now on. `None` for a
    /// number the hub has no slot for.
    pub fn subscribe(&self, signal: usize) -> Option<Subscription> {
        let slot = self.slots.get(signal)?;
        let mut state = slot.state.lock();
        let key = match state.free.pop() {
            Some(key) => key,
            None => {
                state.waiters.push(None);
                state.occupied.push(false);
                state.waiters.len() - 1
            }
        };
        state.occupied[key] = true;
        Some(Subscription { signal, key, seen: state.generation })
    }

    /// Whether `subscription`'s signal was dispatched since the listener last saw it; if not,
    /// registers `cx`'s waker for the next dispatch. Several dispatches since the last poll are
    /// seen once.
    pub fn poll(&self, subscription: &mut Subscription, cx: &mut Context<'_>) -> Poll<()> {
        let Some(slot) = self.slots.get(subscription.signal) else { return Poll::Pending };
        let mut state = slot.state.lock();
        if state.generation != subscription.seen {
            subscription.seen = state.generation;
            state.waiters[subscription.key] = None;
            return Poll::Ready(());
        }
        if seeded_bug::is_active(Bug::PollRegistersAfterChecking) {
            drop(state);
            state = slot.state.lock();
        }
        let entry = &mut state.waiters[subscription.key];
        match entry {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => *entry = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Ends `subscription`: its entry is freed, and no dispatch wakes its waker afterwards.
    pub fn unsubscribe(&self, subscription: &Subscription) {
        let Some(slot) = self.slots.get(subscription.signal) else { return };
        let mut state = slot.state.lock();
        let key = subscription.key;
        if state.occupied.get(key) == Some(&true) {
            state.occupied[key] = false;
            let waker = state.waiters[key].take();
            state.free.push(key);
            drop(state);
            drop(waker);
        }
    }
}

impl Slot {
    /// One dispatch of this signal: the generation goes up, and every waiting listener is woken
    /// (outside the lock, so a waker that polls at once does not meet it held).
    fn broadcast(&self) {
        let mut state = self.state.lock();
        state.generation = state.generation.wrapping_add(1);
        let wakers: Vec<Waker> = state.waiters.iter_mut().filter_map(Option::take).collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use super::{Hub, Wakeup};

    #[derive(Default)]
    struct Bytes(AtomicUsize);

    impl Wakeup for Bytes {
        fn raise(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }

        fn drain(&self) {
            self.0.store(0, Ordering::Relaxed);
        }
    }

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn deliveries_before_a_poll_are_seen_once_and_a_waiting_listener_is_woken() {
        let (hub, pipe) = (Hub::new(4), Bytes::default());
        let mut subscription = hub.subscribe(2).unwrap();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(hub.poll(&mut subscription, &mut cx).is_pending());
        hub.on_signal(2, &pipe);
        hub.on_signal(2, &pipe);
        assert_eq!(pipe.0.load(Ordering::Relaxed), 2);
        hub.dispatch(&pipe);
        assert_eq!(pipe.0.load(Ordering::Relaxed), 0);
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(hub.poll(&mut subscription, &mut cx).is_ready());
        assert!(hub.poll(&mut subscription, &mut cx).is_pending(), "two deliveries coalesced into one");
        hub.unsubscribe(&subscription);
    }

    #[test]
    fn a_listener_subscribed_after_a_dispatch_does_not_see_it_and_keys_are_reused() {
        let (hub, pipe) = (Hub::new(4), Bytes::default());
        let first = hub.subscribe(1).unwrap();
        hub.on_signal(1, &pipe);
        hub.dispatch(&pipe);
        let mut late = hub.subscribe(1).unwrap();
        let waker = Waker::from(Arc::new(Count::default()));
        assert!(hub.poll(&mut late, &mut Context::from_waker(&waker)).is_pending());
        hub.unsubscribe(&first);
        let reused = hub.subscribe(1).unwrap();
        assert_eq!(reused.key, first.key);
        hub.unsubscribe(&late);
        hub.unsubscribe(&reused);
    }

    #[test]
    fn numbers_without_a_slot_are_ignored_rather_than_panicking() {
        let (hub, pipe) = (Hub::new(4), Bytes::default());
        hub.on_signal(4, &pipe);
        hub.on_signal(usize::MAX, &pipe);
        hub.clear_pending(99);
        assert!(hub.subscribe(4).is_none());
        hub.dispatch(&pipe);
    }
}
