//! Loom models of the earliest-deadline notification: a waiter blocked in a composite without a
//! timeout is woken by a registration from another thread that is due (the earliest deadline), and
//! by a manual-clock advance that makes a timer due, even when the two race.
#![cfg(reactor_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use reactor::source::Composite;
use reactor::EventSource;
use reactor_loom::assert_loom_catches;
use reactor_timer::loom_internals::seeded_bug::{self, Bug};
use reactor_timer::{Timer, TimerAction, TimerRegistration};

/// Blocks in `source` until `fired` is set.
fn wait_until(source: &Composite, fired: &AtomicBool) {
    while !fired.load(Ordering::SeqCst) {
        source.wait(None).unwrap();
    }
}

/// Registers, on a new thread, a callback due now that sets `fired`; the thread returns the
/// registration.
fn register_due_on_another_thread(
    timer: Timer,
    fired: &Arc<AtomicBool>,
) -> thread::JoinHandle<TimerRegistration> {
    let fired = fired.clone();
    thread::spawn(move || {
        timer.register(timer.now(), move |_| {
            fired.store(true, Ordering::SeqCst);
            TimerAction::Stop
        })
    })
}

fn registration_wakes_the_waiter() {
    reactor_loom::model(|| {
        let (timer, _clock) = Timer::with_manual_clock();
        let source = Arc::new(Composite::new(timer.clone()).unwrap());
        let fired = Arc::new(AtomicBool::new(false));
        let registrar = register_due_on_another_thread(timer, &fired);
        wait_until(&source, &fired);
        drop(registrar.join().unwrap());
    });
}

#[test]
fn an_earliest_deadline_registered_elsewhere_wakes_the_blocked_waiter() {
    registration_wakes_the_waiter();
}

#[test]
fn negative_control_a_skipped_notify_is_caught() {
    assert_loom_catches("seeded_skip_earliest_notify", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_skip_earliest_notify() {
    seeded_bug::with(Bug::SkipEarliestNotify, registration_wakes_the_waiter);
}

#[test]
fn an_advance_racing_with_a_registration_still_wakes_the_waiter() {
    reactor_loom::model(|| {
        let (timer, clock) = Timer::with_manual_clock();
        let source = Arc::new(Composite::new(timer.clone()).unwrap());
        let fired = Arc::new(AtomicBool::new(false));
        let deadline = timer.now() + Duration::from_secs(1);
        let registrar = {
            let (timer, fired) = (timer.clone(), fired.clone());
            thread::spawn(move || {
                timer.register(deadline, move |_| {
                    fired.store(true, Ordering::SeqCst);
                    TimerAction::Stop
                })
            })
        };
        let advancer = thread::spawn(move || clock.advance(Duration::from_secs(1)));
        wait_until(&source, &fired);
        drop(registrar.join().unwrap());
        advancer.join().unwrap();
    });
}

#[test]
fn a_due_registration_in_one_shard_wakes_the_waiter_while_another_shard_cancels() {
    reactor_loom::model(|| {
        let (timer, _clock) = Timer::with_manual_clock();
        let source = Arc::new(Composite::new(timer.clone()).unwrap());
        // Registered by this thread, in its shard; not yet due.
        let earlier = timer.register(timer.now() + Duration::from_nanos(1), |_| TimerAction::Stop);
        let fired = Arc::new(AtomicBool::new(false));
        let canceller = thread::spawn(move || drop(earlier));
        // Another thread: another shard.
        let registrar = register_due_on_another_thread(timer, &fired);
        wait_until(&source, &fired);
        canceller.join().unwrap();
        drop(registrar.join().unwrap());
    });
}
