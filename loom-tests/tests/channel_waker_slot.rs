//! The receiver's waker slot: registration racing with wakes from senders.
#![cfg(reactor_loom)]

use loom::thread;
use reactor_channel::loom_internals::seeded_bug::{self, Bug};
use reactor_channel::loom_internals::{WakeCounter, WakerSlot};
use reactor_loom_tests::{assert_loom_catches, model};

/// A registered waker is never silently dropped: whatever the interleaving with a sender's wake,
/// it is woken then, or it is still in the slot for the next wake.
fn registered_waker_is_never_lost() {
    model(|| {
        let slot = loom::sync::Arc::new(WakerSlot::new());
        let sender = {
            let slot = slot.clone();
            thread::spawn(move || slot.wake())
        };
        let (counter, waker) = WakeCounter::waker();
        slot.register(&waker);
        sender.join().unwrap();
        slot.wake();
        assert!(counter.count() >= 1, "the registered waker was lost");
    });
}

#[test]
fn register_races_with_a_wake() {
    registered_waker_is_never_lost();
}

#[test]
fn a_newer_registration_replaces_the_older_one_under_concurrent_wakes() {
    model(|| {
        let slot = loom::sync::Arc::new(WakerSlot::new());
        let senders: Vec<_> = (0..2)
            .map(|_| {
                let slot = slot.clone();
                thread::spawn(move || slot.wake())
            })
            .collect();
        let (_first, first_waker) = WakeCounter::waker();
        let (second, second_waker) = WakeCounter::waker();
        slot.register(&first_waker);
        slot.register(&second_waker);
        senders.into_iter().for_each(|sender| sender.join().unwrap());
        slot.wake();
        assert!(second.count() >= 1, "the latest waker was lost");
    });
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_waker_slot_lost_wake() {
    seeded_bug::with(Bug::WakerSlotLostWake, registered_waker_is_never_lost);
}

#[test]
fn negative_control_a_wake_racing_with_register_is_dropped() {
    assert_loom_catches("seeded_waker_slot_lost_wake", "the registered waker was lost");
}
