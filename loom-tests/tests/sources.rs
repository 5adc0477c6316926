//! Loom models of the core's registration and dispatch protocols:
//!
//! - `CallbackSlot`: deregistration vs a dispatch in progress on another thread. Once `remove`
//!   has returned, the callback never runs again.
//! - `CallbackSlot` with nested callbacks: a callback running inside another slot's callback
//!   removes that outer slot while another thread dispatches it. The removal must not wait for
//!   the call up its own stack (a deadlock), and must still wait for the other thread's.
//! - `PingSource`: a ping from another thread vs a composite blocked in `Parking`. The ping queues
//!   the entry and wakes the waiter, which then runs the callback.
//! - `NotifierSlot`: a passive source offered to a second composite while the first blocks. The
//!   second attach is refused, so a ping from another thread still wakes the first waiter.
#![cfg(reactor_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::{CallbackSlot, Composite, EventSource, Parking, PingSource};
use reactor_loom::{assert_loom_catches, model};

type Slot = CallbackSlot<dyn FnMut() + Send>;

/// One thread dispatches the slot while another removes it; the callback asserts it never runs
/// after `remove` returned.
fn remove_vs_dispatch() {
    model(|| {
        let removed = Arc::new(AtomicBool::new(false));
        let seen = removed.clone();
        let slot: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new(move || {
            assert!(!seen.load(Ordering::Acquire), "callback ran after remove returned");
        })));
        let dispatcher = {
            let slot = slot.clone();
            thread::spawn(move || slot.call(|callback| callback()))
        };
        slot.remove();
        removed.store(true, Ordering::Release);
        dispatcher.join().unwrap();
        assert!(slot.call(|callback| callback()).is_none());
    });
}

#[test]
fn no_callback_runs_after_remove_returns() {
    remove_vs_dispatch();
}

#[test]
fn negative_control_remove_that_does_not_wait_is_caught() {
    assert_loom_catches("seeded_remove_skips_lock", "callback ran after remove returned");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_remove_skips_lock() {
    seeded_bug::with(Bug::CallbackRemoveSkipsLock, remove_vs_dispatch);
}

/// The outer slot's callback runs the inner slot, whose callback removes the outer slot; two
/// threads dispatch the outer slot at once. Whichever runs first removes it from inside its own
/// callback (returning at once, not waiting for itself); the other must then find it removed.
fn nested_remove_of_the_outer_slot() {
    model(|| {
        let outer_cell: Arc<Mutex<Option<Arc<Slot>>>> = Arc::new(Mutex::new(None));
        let removed = Arc::new(AtomicBool::new(false));
        let inner: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new({
            let (outer_cell, removed) = (outer_cell.clone(), removed.clone());
            move || {
                let outer = outer_cell.lock().unwrap().take();
                if let Some(outer) = outer {
                    outer.remove();
                    removed.store(true, Ordering::Release);
                }
            }
        })));
        let outer: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new({
            let (inner, removed) = (inner.clone(), removed.clone());
            move || {
                assert!(!removed.load(Ordering::Acquire), "the outer callback ran after its removal");
                inner.call(|callback| callback());
            }
        })));
        *outer_cell.lock().unwrap() = Some(outer.clone());
        let dispatcher = {
            let outer = outer.clone();
            thread::spawn(move || outer.call(|callback| callback()))
        };
        let here = outer.call(|callback| callback());
        let there = dispatcher.join().unwrap();
        assert_eq!(
            usize::from(here.is_some()) + usize::from(there.is_some()),
            1,
            "the outer callback runs exactly once"
        );
        assert!(outer.call(|callback| callback()).is_none());
    });
}

#[test]
fn a_nested_callback_removing_the_outer_slot_neither_deadlocks_nor_lets_it_run_again() {
    nested_remove_of_the_outer_slot();
}

#[test]
fn negative_control_remove_that_sees_only_the_innermost_running_slot_is_caught() {
    assert_loom_catches("seeded_remove_sees_only_the_innermost_slot", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_remove_sees_only_the_innermost_slot() {
    seeded_bug::with(Bug::CallbackRemoveSeesOnlyInnermost, nested_remove_of_the_outer_slot);
}

/// A ping from another thread reaches a composite whose only blocking part is `Parking`.
fn ping_wakes_blocked_composite() {
    model(|| {
        let pings = PingSource::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let (ping, _registration) = pings.register(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let source = Composite::new(Parking::new()).unwrap().with(pings).unwrap();
        let pinger = thread::spawn(move || ping.ping());
        while runs.load(Ordering::Relaxed) == 0 {
            source.wait(None).unwrap();
        }
        pinger.join().unwrap();
        assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0, "one ping, one run");
    });
}

#[test]
fn ping_from_another_thread_wakes_the_waiter() {
    ping_wakes_blocked_composite();
}

#[test]
fn negative_control_ping_without_notify_is_caught() {
    assert_loom_catches("seeded_ping_skips_notify", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_ping_skips_notify() {
    seeded_bug::with(Bug::PingSkipsNotify, ping_wakes_blocked_composite);
}

/// A `PingSource` offered to a second composite while the first one blocks in `Parking`: the
/// second must be refused (not re-point the source's notifier), so a ping from another thread
/// still wakes the first composite's waiter.
fn second_compose_leaves_the_first_waiter_reachable() {
    model(|| {
        let pings = PingSource::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let (ping, _registration) = pings.register(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let first = Composite::new(Parking::new()).unwrap().with(pings.clone()).unwrap();
        let second = Composite::new(Parking::new()).unwrap().with(pings);
        let pinger = thread::spawn(move || ping.ping());
        while runs.load(Ordering::Relaxed) == 0 {
            first.wait(None).unwrap();
        }
        pinger.join().unwrap();
        assert!(second.is_err(), "the second composite was refused");
    });
}

#[test]
fn a_source_composed_twice_is_refused_and_keeps_waking_its_first_waiter() {
    second_compose_leaves_the_first_waiter_reachable();
}

#[test]
fn negative_control_attach_that_overwrites_the_first_notifier_is_caught() {
    assert_loom_catches("seeded_notifier_slot_overwrites", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_notifier_slot_overwrites() {
    seeded_bug::with(Bug::NotifierSlotOverwrites, second_compose_leaves_the_first_waiter_reachable);
}
