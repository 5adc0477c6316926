//! Callback mode: deadline callbacks that stop or fire again, and their deregistration.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use reactor::EventSource;
use reactor_timer::{Timer, TimerAction, TimerRegistration};

const MS: Duration = Duration::from_millis(1);

fn recorder() -> (Arc<Mutex<Vec<Instant>>>, impl FnMut(Instant) + Send + 'static) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    (log, move |deadline| sink.lock().unwrap().push(deadline))
}

#[test]
fn a_callback_runs_at_its_deadline_with_that_deadline_then_stops() {
    let (timer, clock) = Timer::with_manual_clock();
    let deadline = timer.now() + MS * 5;
    let (log, mut record) = recorder();
    let _registration = timer.register(deadline, move |at| {
        record(at);
        TimerAction::Stop
    });
    clock.advance(MS * 4);
    assert_eq!(timer.wait(None).unwrap(), 0);
    clock.advance(MS * 10);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(timer.wait(None).unwrap(), 0);
    assert_eq!(*log.lock().unwrap(), [deadline]);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn reschedule_fires_again_and_into_the_past_runs_once_per_wait() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let (log, mut record) = recorder();
    let _registration = timer.register(start + MS, move |at| {
        record(at);
        TimerAction::Reschedule(at + MS)
    });
    clock.advance(MS * 3);
    assert_eq!(timer.wait(None).unwrap(), 1, "a missed reschedule waits for the next wait");
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(timer.wait(None).unwrap(), 0);
    assert_eq!(*log.lock().unwrap(), [start + MS, start + MS * 2, start + MS * 3]);
}

#[test]
fn after_the_registration_is_dropped_the_callback_never_runs() {
    let (timer, clock) = Timer::with_manual_clock();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let registration = timer.register(timer.now() + MS, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        TimerAction::Stop
    });
    drop(registration);
    assert_eq!(Arc::strong_count(&runs), 1, "the callback was freed with the registration");
    clock.advance(MS);
    assert_eq!(timer.wait(None).unwrap(), 0);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[test]
fn a_callback_may_drop_its_own_registration() {
    let (timer, clock) = Timer::with_manual_clock();
    let own: Arc<Mutex<Option<TimerRegistration>>> = Arc::default();
    let slot = own.clone();
    let registration = timer.register(timer.now() + MS, move |at| {
        drop(slot.lock().unwrap().take());
        TimerAction::Reschedule(at)
    });
    *own.lock().unwrap() = Some(registration);
    clock.advance(MS);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert!(own.lock().unwrap().is_none());
    assert_eq!(timer.wait(None).unwrap(), 0, "the reschedule of a dropped registration is ignored");
}

#[test]
fn reschedule_and_pause_from_another_thread() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let (sender, receiver) = mpsc::channel();
    let registration = timer.register(start + MS * 100, move |at| {
        sender.send(at).unwrap();
        TimerAction::Stop
    });
    std::thread::scope(|scope| {
        scope.spawn(|| registration.reschedule(start + MS * 2));
    });
    clock.advance(MS * 2);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(receiver.try_recv(), Ok(start + MS * 2));

    registration.reschedule(start + MS * 3);
    registration.pause();
    clock.advance(MS * 200);
    assert_eq!(timer.wait(None).unwrap(), 0);
    registration.reschedule(start);
    assert_eq!(timer.wait(None).unwrap(), 1);
}

#[test]
fn a_panicking_callback_loses_no_other_timer() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let (log, mut record) = recorder();
    let mut registrations = vec![timer.register(start + MS, |_| panic!("callback failed"))];
    for i in 2..5 {
        let log = log.clone();
        registrations.push(timer.register(start + MS * i, move |at| {
            log.lock().unwrap().push(at);
            TimerAction::Stop
        }));
    }
    registrations.push(timer.register(start + MS * 9, move |at| {
        record(at);
        TimerAction::Stop
    }));
    clock.advance(MS * 5);
    assert!(catch_unwind(AssertUnwindSafe(|| timer.wait(None))).is_err());
    assert_eq!(timer.wait(None).unwrap(), 3, "the timers due with the panicking one still fire");
    assert_eq!(*log.lock().unwrap(), [start + MS * 2, start + MS * 3, start + MS * 4]);
    assert_eq!(timer.pending(), 1);
}

#[test]
fn callbacks_and_wakers_run_outside_the_lock_so_they_can_use_the_timer() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let (sender, receiver) = mpsc::channel();
    let inner_timer = timer.clone();
    let kept: Arc<Mutex<Vec<TimerRegistration>>> = Arc::default();
    let keep = kept.clone();
    let _outer = timer.register(start + MS, move |at| {
        // Registering, and dropping, other timers from inside a callback must not deadlock.
        let sender = sender.clone();
        keep.lock().unwrap().push(inner_timer.register(at + MS, move |at| {
            sender.send(at).unwrap();
            TimerAction::Stop
        }));
        drop(inner_timer.register(at, |_| TimerAction::Stop));
        TimerAction::Stop
    });
    clock.advance(MS);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(timer.pending(), 1);
    clock.advance(MS);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(receiver.try_recv(), Ok(start + MS * 2));
}
