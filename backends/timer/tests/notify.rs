//! Wake-ups of the blocked waiter: an earlier deadline from any thread notifies it once, a later
//! one not at all; and a waiter blocked in a composite really is woken.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{poll_with, CountingWaker};
use reactor::source::{Composite, Notifier};
use reactor::EventSource;
use reactor_timer::{Timer, TimerAction};

/// A real-clock timer attached to a notifier that counts its calls.
fn counted(timer: &Timer) -> Arc<AtomicUsize> {
    let notifies = Arc::new(AtomicUsize::new(0));
    let counter = notifies.clone();
    timer
        .attach(Notifier::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }))
        .unwrap();
    notifies
}

#[test]
fn only_a_new_earliest_deadline_notifies_the_waiter() {
    let timer = Timer::new();
    let notifies = counted(&timer);
    let start = timer.now();
    let waker = CountingWaker::new();
    let on_thread = |offset: Duration| {
        let timer = timer.clone();
        let waker = waker.clone();
        std::thread::spawn(move || {
            let mut sleep = timer.sleep_until(start + offset);
            assert!(poll_with(&mut sleep, &waker).is_pending());
            sleep
        })
        .join()
        .unwrap()
    };
    let _first = on_thread(Duration::from_secs(10));
    assert_eq!(notifies.load(Ordering::SeqCst), 1, "the first deadline is the earliest");
    let _later = on_thread(Duration::from_secs(20));
    let _equal = on_thread(Duration::from_secs(10));
    assert_eq!(notifies.load(Ordering::SeqCst), 1, "later or equal deadlines cause no wake-up");
    let mut earlier = on_thread(Duration::from_secs(5));
    assert_eq!(notifies.load(Ordering::SeqCst), 2);
    earlier.reset(start + Duration::from_secs(30));
    assert_eq!(notifies.load(Ordering::SeqCst), 2, "moving the earliest later needs no wake-up");
    earlier.reset(start + Duration::from_secs(1));
    assert_eq!(notifies.load(Ordering::SeqCst), 3);
    let _registration = timer.register(start + Duration::from_millis(500), |_| TimerAction::Stop);
    assert_eq!(notifies.load(Ordering::SeqCst), 4);
    drop(earlier);
    assert_eq!(notifies.load(Ordering::SeqCst), 4, "cancelling causes no wake-up");
}

#[test]
fn on_a_manual_clock_only_due_timers_and_advances_that_make_them_due_notify() {
    let (timer, clock) = Timer::with_manual_clock();
    let notifies = counted(&timer);
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep(Duration::from_secs(10));
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert_eq!(timer.deadline(), None, "nothing is due: the waiter may block without a timeout");
    assert_eq!(notifies.load(Ordering::SeqCst), 0);
    clock.advance(Duration::from_secs(9));
    assert_eq!(notifies.load(Ordering::SeqCst), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(notifies.load(Ordering::SeqCst), 1);
    assert!(timer.deadline().is_some_and(|deadline| deadline <= std::time::Instant::now()));
    assert!(poll_with(&mut timer.sleep(Duration::ZERO), &waker).is_ready());
}

#[test]
fn an_earlier_deadline_from_another_thread_ends_a_blocked_wait() {
    let timer = Timer::new();
    let source = Arc::new(Composite::new(timer.clone()).unwrap());
    let (fired_sender, fired) = mpsc::channel();
    let (blocked_sender, blocked) = mpsc::channel();
    let waiter = {
        let source = source.clone();
        std::thread::spawn(move || {
            blocked_sender.send(()).unwrap();
            // Blocks without a timeout: only the registration's notify can end it.
            while fired.try_recv().is_err() {
                source.wait(None).unwrap();
            }
        })
    };
    blocked.recv().unwrap();
    let _registration = timer.register(timer.now() + Duration::from_millis(1), move |_| {
        fired_sender.send(()).unwrap();
        TimerAction::Stop
    });
    waiter.join().unwrap();
}

#[test]
fn a_manual_clock_advanced_from_another_thread_ends_a_blocked_wait() {
    let (timer, clock) = Timer::with_manual_clock();
    let source = Arc::new(Composite::new(timer.clone()).unwrap());
    let (fired_sender, fired) = mpsc::channel();
    let _registration = timer.register(timer.now() + Duration::from_secs(3600), move |_| {
        fired_sender.send(()).unwrap();
        TimerAction::Stop
    });
    let advancer = std::thread::spawn(move || clock.advance(Duration::from_secs(3600)));
    while fired.try_recv().is_err() {
        source.wait(None).unwrap();
    }
    advancer.join().unwrap();
}
