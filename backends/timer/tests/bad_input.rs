//! Durations and instants at the edges: far means never, past means now; no panic, no overflow.

mod common;

use std::time::{Duration, Instant};

use common::{poll_with, CountingWaker};
use reactor::EventSource;
use reactor_timer::{Timer, TimerAction};

#[test]
fn duration_max_never_fires_and_reports_no_deadline() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep(Duration::MAX);
    assert_eq!(sleep.deadline(), None);
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert_eq!(timer.pending(), 0, "a sleep that never fires takes no place in the queue");
    clock.advance(Duration::MAX);
    timer.wait(None).unwrap();
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert!(!sleep.is_elapsed());
    assert_eq!(waker.wakes(), 0);
}

#[test]
fn an_instant_centuries_away_never_fires_on_the_real_clock() {
    let timer = Timer::new();
    let far = Instant::now() + Duration::from_secs(700 * 365 * 24 * 3600);
    let mut sleep = timer.sleep_until(far);
    let waker = CountingWaker::new();
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert_eq!(sleep.deadline(), None);
    assert_eq!(timer.deadline(), None);
    let mut timeout = timer.timeout(Duration::MAX, std::future::pending::<()>());
    assert!(poll_with(&mut timeout, &waker).is_pending());
    let _registration = timer.register(far, |_| TimerAction::Stop);
    assert_eq!(timer.pending(), 0);
}

#[test]
fn an_instant_in_the_past_fires_at_once() {
    let (timer, _clock) = Timer::with_manual_clock();
    let long_ago = timer.now().checked_sub(Duration::from_secs(3600)).unwrap_or(timer.now());
    let waker = CountingWaker::new();
    assert!(poll_with(&mut timer.sleep_until(long_ago), &waker).is_ready());
    assert!(poll_with(&mut timer.sleep(Duration::ZERO), &waker).is_ready());

    let (sender, receiver) = std::sync::mpsc::channel();
    let _registration = timer.register(long_ago, move |_| {
        sender.send(()).unwrap();
        TimerAction::Stop
    });
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert!(receiver.try_recv().is_ok());
}

#[test]
fn a_manual_clock_advanced_to_the_end_of_time_does_not_overflow() {
    let (timer, clock) = Timer::with_manual_clock();
    clock.advance(Duration::MAX);
    clock.advance(Duration::MAX);
    let sleep = timer.sleep(Duration::from_secs(1));
    assert_eq!(sleep.deadline(), None, "past the clock's range is never");
    let mut interval = timer.interval(Duration::from_secs(1));
    let waker = CountingWaker::new();
    assert!(poll_with(&mut Box::pin(interval.tick()), &waker).is_ready());
}
