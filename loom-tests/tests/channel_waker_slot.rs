//! The receiver's waker slot: registration racing with wakes from senders.
#![cfg(reactor_loom)]

use loom::thread;
use reactor_channel::loom_internals::seeded_bug::{self, Bug};
use reactor_channel::loom_internals::{WakeCounter, WakerSlot};
use reactor_loom::{assert_loom_catches, model};

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

/// Two threads register at once while a third wakes. A channel has one receiver, so the crate
/// never does this, but the slot's `register` is a safe function and must stay memory-safe
/// whoever calls it: loom reports any access to the stored waker from two threads at once. Each
/// registration then ends with its waker stored for the next wake or woken already, so the last
/// wake reaches one of them at least.
fn concurrent_registrations_never_share_the_slot() {
    model(|| {
        let slot = loom::sync::Arc::new(WakerSlot::new());
        let sender = {
            let slot = slot.clone();
            thread::spawn(move || slot.wake())
        };
        let other = {
            let slot = slot.clone();
            thread::spawn(move || {
                let (counter, waker) = WakeCounter::waker();
                slot.register(&waker);
                counter
            })
        };
        let (first, first_waker) = WakeCounter::waker();
        slot.register(&first_waker);
        let second = other.join().unwrap();
        sender.join().unwrap();
        slot.wake();
        assert!(first.count() + second.count() >= 1, "neither registration was woken");
    });
}

#[test]
fn two_threads_registering_at_once_beside_a_wake_never_touch_the_waker_together() {
    concurrent_registrations_never_share_the_slot();
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

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_register_ignores_registration() {
    seeded_bug::with(Bug::RegisterIgnoresRegistration, concurrent_registrations_never_share_the_slot);
}

#[test]
fn negative_control_two_registrations_that_both_take_the_slot_write_it_together() {
    assert_loom_catches(
        "seeded_register_ignores_registration",
        "Causality violation: Concurrent write accesses to `UnsafeCell`",
    );
}
