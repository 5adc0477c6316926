//! Loom models of the timer queue protocol: registering, firing and cancelling timers on
//! different threads at once. A cancel never removes another timer, a fired timer wakes its task
//! once, and a dropped callback registration never runs after the drop returns.
#![cfg(reactor_loom)]

mod timer_common;

use std::time::Duration;

use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;
use reactor::EventSource;
use reactor_timer::loom_internals::seeded_bug::{self, Bug};
use reactor_timer::{Timer, TimerAction};
use timer_common::{poll, Counter};

/// A due sleep is polled and dropped on one thread while another fires the timer; a second sleep,
/// not yet due, must survive both and fire once its time comes.
fn insert_fire_cancel() {
    let (timer, clock) = Timer::with_manual_clock();
    let (due, later) = (std::sync::Arc::new(Counter::default()), std::sync::Arc::new(Counter::default()));
    let mut survivor = timer.sleep(Duration::from_secs(1));
    assert!(poll(&mut survivor, &later).is_pending());

    let canceller = {
        let (timer, due) = (timer.clone(), due.clone());
        thread::spawn(move || {
            let mut sleep = timer.sleep(Duration::ZERO);
            clock.advance(Duration::from_nanos(1));
            let _ = poll(&mut sleep, &due);
            drop(sleep);
            clock
        })
    };
    let firer = {
        let timer = timer.clone();
        thread::spawn(move || timer.wait(None).unwrap())
    };
    let clock = canceller.join().unwrap();
    firer.join().unwrap();
    assert!(due.wakes() <= 1);

    clock.advance(Duration::from_secs(1));
    timer.wait(None).unwrap();
    assert_eq!(later.wakes(), 1, "the other timer was lost");
    assert!(poll(&mut survivor, &later).is_ready());
    assert_eq!(timer.pending(), 0);
}

#[test]
fn cancel_racing_with_fire_removes_only_its_own_timer() {
    reactor_loom_tests::model(insert_fire_cancel);
}

#[test]
#[should_panic]
fn negative_control_a_stale_queue_position_loses_another_timer() {
    seeded_bug::with(Bug::StaleQueuePosition, || reactor_loom_tests::model(insert_fire_cancel));
}

#[test]
fn a_dropped_callback_registration_never_runs_after_the_drop_returns() {
    reactor_loom_tests::model(|| {
        let (timer, _clock) = Timer::with_manual_clock();
        let dropped = Arc::new(AtomicBool::new(false));
        let registration = {
            let dropped = dropped.clone();
            timer.register(timer.now(), move |deadline| {
                assert!(!dropped.load(loom::sync::atomic::Ordering::SeqCst), "ran after deregistration");
                TimerAction::Reschedule(deadline)
            })
        };
        let dropper = thread::spawn(move || {
            drop(registration);
            dropped.store(true, loom::sync::atomic::Ordering::SeqCst);
        });
        let firer = {
            let timer = timer.clone();
            thread::spawn(move || timer.wait(None).unwrap())
        };
        dropper.join().unwrap();
        assert!(firer.join().unwrap() <= 1);
        assert_eq!(timer.wait(None).unwrap(), 0, "a reschedule revived a dropped registration");
        assert_eq!(timer.pending(), 0);
    });
}
