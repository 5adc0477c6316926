//! Loom models of the notify-vs-wait protocol of `Parking`, the portable blocking source: a
//! notify is never lost, whether it comes before, during or after the start of a wait.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::{EventSource, Parking};
use reactor_loom::{assert_loom_catches, model};

/// A waiter blocks with no timeout while another thread publishes a value and notifies: the
/// wait returns (loom reports a deadlock otherwise) and the value is visible after it.
fn notify_ends_wait() {
    model(|| {
        let parking = Arc::new(Parking::new());
        let published = Arc::new(AtomicBool::new(false));
        let notifier = {
            let (parking, published) = (parking.clone(), published.clone());
            thread::spawn(move || {
                published.store(true, Ordering::Relaxed);
                parking.notify();
            })
        };
        // The waiter's condition check, as every user of a source does it.
        while !published.load(Ordering::Relaxed) {
            parking.wait(None).unwrap();
        }
        notifier.join().unwrap();
    });
}

#[test]
fn notify_racing_with_wait_is_never_lost() {
    notify_ends_wait();
}

#[test]
fn two_notifies_and_two_waits_leave_no_waiter_stuck() {
    model(|| {
        let parking = Arc::new(Parking::new());
        let notifiers: Vec<_> = (0..2)
            .map(|_| {
                let parking = parking.clone();
                thread::spawn(move || parking.notify())
            })
            .collect();
        parking.wait(None).unwrap();
        for notifier in notifiers {
            notifier.join().unwrap();
        }
        // Whatever was left pending is consumed without blocking.
        parking.wait(Some(std::time::Duration::ZERO)).unwrap();
    });
}

#[test]
fn negative_control_a_lost_unpark_is_caught() {
    assert_loom_catches("seeded_lost_unpark", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_lost_unpark() {
    seeded_bug::with(Bug::ParkingLostUnpark, notify_ends_wait);
}
