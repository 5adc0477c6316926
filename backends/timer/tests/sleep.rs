//! `Sleep` on a manual clock: fires exactly at its deadline, never early, resets, frees at once.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{poll_with, CountingWaker};
use reactor::EventSource;
use reactor_timer::Timer;

#[test]
fn fires_exactly_at_the_deadline_never_a_nanosecond_early() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep(Duration::from_millis(10));
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert_eq!(timer.pending(), 1);

    clock.advance(Duration::from_millis(10) - Duration::from_nanos(1));
    assert_eq!(timer.wait(None).unwrap(), 0);
    assert_eq!(waker.wakes(), 0);
    assert!(poll_with(&mut sleep, &waker).is_pending());

    clock.advance(Duration::from_nanos(1));
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(waker.wakes(), 1);
    assert!(poll_with(&mut sleep, &waker).is_ready());
    assert_eq!(timer.pending(), 0);
}

#[test]
#[cfg_attr(miri, ignore = "real clock: under Miri a microsecond deadline passes before the first poll")]
fn the_deadline_is_reported_to_the_nanosecond() {
    let timer = Timer::new();
    let deadline = timer.now() + Duration::from_micros(1234) + Duration::from_nanos(567);
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep_until(deadline);
    assert_eq!(timer.deadline(), None);
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert_eq!(timer.deadline(), Some(deadline));
    assert_eq!(sleep.deadline(), Some(deadline));
}

#[test]
#[cfg_attr(miri, ignore = "real clock: under Miri a microsecond deadline passes before the first poll")]
fn a_real_clock_timer_composed_with_parking_fires_on_time_and_not_before() {
    let timer = Timer::new();
    let source = reactor::source::Composite::new(timer.clone()).unwrap();
    let deadline = timer.now() + Duration::from_micros(300);
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep_until(deadline);
    assert!(poll_with(&mut sleep, &waker).is_pending());
    while waker.wakes() == 0 {
        source.wait(None).unwrap();
    }
    assert!(Instant::now() >= deadline);
    assert!(poll_with(&mut sleep, &waker).is_ready());
}

#[test]
fn many_sleeps_fire_in_deadline_order_each_exactly_when_due() {
    let (timer, clock) = Timer::with_manual_clock();
    let wakers: Vec<_> = (0..100).map(|_| CountingWaker::new()).collect();
    let mut sleeps: Vec<_> =
        (0..100u64).map(|i| timer.sleep(Duration::from_millis((i * 37) % 100 + 1))).collect();
    for (sleep, waker) in sleeps.iter_mut().zip(&wakers) {
        assert!(poll_with(sleep, waker).is_pending());
    }
    for ms in 1..=100u64 {
        clock.advance(Duration::from_millis(1));
        timer.wait(None).unwrap();
        for (i, waker) in wakers.iter().enumerate() {
            let due = (i as u64 * 37) % 100 < ms;
            assert_eq!(waker.wakes(), usize::from(due), "sleep {i} at {ms} ms");
        }
    }
}

#[test]
fn reset_moves_the_deadline_earlier_or_later_and_rearms_a_completed_sleep() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep(Duration::from_secs(10));
    assert!(poll_with(&mut sleep, &waker).is_pending());

    sleep.reset(start + Duration::from_secs(2));
    clock.advance(Duration::from_secs(2));
    assert_eq!(timer.wait(None).unwrap(), 1, "the earlier deadline fires without another poll");
    assert!(poll_with(&mut sleep, &waker).is_ready());

    sleep.reset(start + Duration::from_secs(5));
    assert!(!sleep.is_elapsed());
    assert!(poll_with(&mut sleep, &waker).is_pending());
    sleep.reset(start + Duration::from_secs(7));
    clock.advance(Duration::from_secs(3));
    assert_eq!(timer.wait(None).unwrap(), 0, "moved later: not due at 5 s");
    clock.advance(Duration::from_secs(2));
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert!(poll_with(&mut sleep, &waker).is_ready());
}

#[test]
fn dropping_a_pending_sleep_releases_its_waker_at_once() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut sleep = timer.sleep(Duration::from_secs(1));
    assert!(poll_with(&mut sleep, &waker).is_pending());
    assert!(Arc::strong_count(&waker) > 1);
    drop(sleep);
    assert_eq!(Arc::strong_count(&waker), 1, "the timer kept no clone of the waker");
    assert_eq!(timer.pending(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(timer.wait(None).unwrap(), 0);
}

#[test]
fn a_repoll_with_a_new_waker_wakes_only_the_new_one() {
    let (timer, clock) = Timer::with_manual_clock();
    let (old, new) = (CountingWaker::new(), CountingWaker::new());
    let mut sleep = timer.sleep(Duration::from_secs(1));
    assert!(poll_with(&mut sleep, &old).is_pending());
    assert!(poll_with(&mut sleep, &new).is_pending());
    assert_eq!(Arc::strong_count(&old), 1);
    clock.advance(Duration::from_secs(1));
    timer.wait(None).unwrap();
    assert_eq!((old.wakes(), new.wakes()), (0, 1));
}

#[test]
fn sleeps_are_created_polled_and_dropped_from_other_threads() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            let (timer, waker) = (timer.clone(), waker.clone());
            std::thread::spawn(move || {
                let mut keep = timer.sleep(Duration::from_secs(i + 1));
                assert!(poll_with(&mut keep, &waker).is_pending());
                let mut dropped = timer.sleep(Duration::from_secs(i + 1));
                assert!(poll_with(&mut dropped, &waker).is_pending());
                keep
            })
        })
        .collect();
    let sleeps: Vec<_> = handles.into_iter().map(|handle| handle.join().unwrap()).collect();
    assert_eq!(timer.pending(), 4);
    clock.advance(Duration::from_secs(4));
    assert_eq!(timer.wait(None).unwrap(), 4);
    assert!(sleeps.iter().all(|sleep| sleep.is_elapsed()));
}

#[test]
fn a_sleep_polled_first_after_its_deadline_completes_at_once_or_at_the_next_wait() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut until = timer.sleep_until(timer.now() + Duration::from_secs(1));
    let mut after = timer.sleep(Duration::from_secs(1));
    clock.advance(Duration::from_secs(2));
    assert!(poll_with(&mut until, &waker).is_ready(), "sleep_until checks the clock on its first poll");
    // `sleep(d)` with `d > 0` saves that clock read: it registers, and the next wait fires it.
    assert!(poll_with(&mut after, &waker).is_pending());
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert!(poll_with(&mut after, &waker).is_ready());
}

/// A fired sleep completes without deregistering (its firing freed its slot); one that only
/// registered after the timer had fired past its deadline must still deregister when dropped.
#[test]
fn a_sleep_registered_after_the_timer_fired_past_its_deadline_leaves_nothing_when_dropped() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut fired = timer.sleep(Duration::from_secs(1));
    let mut late = timer.sleep(Duration::from_secs(1));
    assert!(poll_with(&mut fired, &waker).is_pending());
    clock.advance(Duration::from_secs(2));
    assert_eq!(timer.wait(None).unwrap(), 1);
    // Registers without reading the clock (its deadline was in the future at creation).
    assert!(poll_with(&mut late, &waker).is_pending());
    assert_eq!(timer.pending(), 1);
    drop(late);
    assert_eq!(timer.pending(), 0, "the dropped sleep stayed queued");
    assert!(poll_with(&mut fired, &waker).is_ready());
    drop(fired);
    assert_eq!(Arc::strong_count(&waker), 1, "the timer kept a clone of a waker");
    assert_eq!(timer.wait(None).unwrap(), 0);
}
