//! Loom models of the epoll backend's two protocols that need no OS:
//!
//! - the readiness cache (`IoState`): an edge that arrives while an operation is failing with
//!   `WouldBlock` is never lost, so the waiting task always wakes or finds the fd ready;
//! - registration against dispatch (`Registry`): once `remove` returns, the callback never runs,
//!   even when a dispatch on another thread looked the registration up just before.
#![cfg(reactor_loom)]

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use reactor::io::{DispatchBuffer, IoState, Readiness, Registry, WaiterKey};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor_loom::{assert_loom_catches, model};

/// A waker that raises a loom flag, so loom sees the wake's ordering.
struct Flag(Arc<AtomicBool>);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// A reader's `WouldBlock` races with the arrival of data and its edge: afterwards the reader
/// either sees the direction still ready or has been woken (otherwise it would sleep forever).
fn edge_during_would_block_is_not_lost() {
    model(|| {
        let state = Arc::new(IoState::default());
        state.on_event(Readiness::READABLE); // an earlier edge, whose data the reader drained
        let data = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicBool::new(false));
        let kernel = {
            let (state, data) = (state.clone(), data.clone());
            thread::spawn(move || {
                data.store(true, Ordering::Release);
                state.on_event(Readiness::READABLE);
            })
        };
        let waker = Waker::from(std::sync::Arc::new(Flag(woken.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut key = WaiterKey::default();
        let Poll::Ready(tick) = state.poll_ready(Readiness::READABLE, &mut cx, Some(&mut key)) else {
            panic!("the earlier edge left the fd ready");
        };
        let parked = if data.load(Ordering::Acquire) {
            false // the read succeeds
        } else {
            state.clear(Readiness::READABLE, tick); // the read met WouldBlock
            state.poll_ready(Readiness::READABLE, &mut cx, Some(&mut key)).is_pending()
        };
        kernel.join().unwrap();
        assert!(!parked || woken.load(Ordering::Acquire), "the reader parked and the edge was lost");
    });
}

#[test]
fn an_edge_during_would_block_wakes_the_reader_or_leaves_it_ready() {
    edge_during_would_block_is_not_lost();
}

#[test]
fn negative_control_clearing_without_the_tick_loses_the_edge() {
    assert_loom_catches("seeded_clear_ignores_tick", "the edge was lost");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_clear_ignores_tick() {
    seeded_bug::with(Bug::ClearIgnoresTick, edge_during_would_block_is_not_lost);
}

/// The `try_*` path (`Async::try_read_with`, the `try_read` of the `net` types): the reader
/// reads the tick with `IoState::tick` instead of `poll_ready`, runs its operation whatever the
/// cache says, and clears after `WouldBlock`; then it waits with `readable`. An edge that
/// arrives meanwhile is never lost.
fn edge_during_a_try_read_is_not_lost() {
    model(|| {
        let state = Arc::new(IoState::default());
        let data = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicBool::new(false));
        let kernel = {
            let (state, data) = (state.clone(), data.clone());
            thread::spawn(move || {
                data.store(true, Ordering::Release);
                state.on_event(Readiness::READABLE);
            })
        };
        let waker = Waker::from(std::sync::Arc::new(Flag(woken.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut key = WaiterKey::default();
        let tick = state.tick();
        let parked = if data.load(Ordering::Acquire) {
            false // the try_read succeeds
        } else {
            state.clear(Readiness::READABLE, tick); // the try_read met WouldBlock
            state.poll_ready(Readiness::READABLE, &mut cx, Some(&mut key)).is_pending()
        };
        kernel.join().unwrap();
        assert!(!parked || woken.load(Ordering::Acquire), "the reader parked and the edge was lost");
        state.withdraw(Readiness::READABLE, &mut key);
    });
}

#[test]
fn an_edge_during_a_try_read_wakes_the_reader_or_leaves_it_ready() {
    edge_during_a_try_read_is_not_lost();
}

#[test]
fn negative_control_a_try_read_clearing_without_the_tick_loses_the_edge() {
    assert_loom_catches("seeded_try_read_clear_ignores_tick", "the edge was lost");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_try_read_clear_ignores_tick() {
    seeded_bug::with(Bug::ClearIgnoresTick, edge_during_a_try_read_is_not_lost);
}

/// A dispatch of an event races with the removal of its registration: once `remove` returns,
/// the callback never runs again.
fn no_callback_after_remove() {
    model(|| {
        let registry = Arc::new(Registry::default());
        let removed = Arc::new(AtomicBool::new(false));
        let late_calls = std::sync::Arc::new(StdAtomicUsize::new(0));
        let key = {
            let (removed, late_calls) = (removed.clone(), late_calls.clone());
            registry
                .insert(Box::new(move |_| {
                    if removed.load(Ordering::Acquire) {
                        late_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }))
                .unwrap()
        };
        let dispatcher = {
            let registry = registry.clone();
            thread::spawn(move || {
                registry.dispatch([(key, Readiness::READABLE)].into_iter(), &mut DispatchBuffer::default());
            })
        };
        registry.remove(key);
        removed.store(true, Ordering::Release);
        dispatcher.join().unwrap();
        assert_eq!(
            late_calls.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "a callback ran after its removal returned"
        );
        assert_eq!(registry.count(), 0);
    });
}

#[test]
fn no_callback_runs_after_its_removal_returns() {
    no_callback_after_remove();
}

#[test]
fn negative_control_skipping_the_callback_slot_lets_a_callback_run_late() {
    assert_loom_catches("seeded_remove_skips_callback_slot", "a callback ran after its removal returned");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_remove_skips_callback_slot() {
    seeded_bug::with(Bug::RemoveSkipsCallbackSlot, no_callback_after_remove);
}
