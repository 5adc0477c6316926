//! `Interval`: ticks on schedule, and the three missed-tick policies.

mod common;

use std::time::{Duration, Instant};

use common::{poll_with, CountingWaker};
use futures_core::Stream;
use reactor::EventSource;
use reactor_timer::{Interval, ManualClock, MissedTickBehavior, Timer};

const SECOND: Duration = Duration::from_secs(1);

/// Polls the stream once; the tick's offset from `start` if one was ready.
fn next_tick(interval: &mut Interval, start: Instant) -> Option<Duration> {
    let waker = std::task::Waker::from(CountingWaker::new());
    let mut cx = std::task::Context::from_waker(&waker);
    match std::pin::Pin::new(interval).poll_next(&mut cx) {
        std::task::Poll::Ready(Some(tick)) => Some(tick - start),
        std::task::Poll::Ready(None) => panic!("an interval never ends"),
        std::task::Poll::Pending => None,
    }
}

fn setup(behavior: MissedTickBehavior) -> (Timer, ManualClock, Interval, Instant) {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let mut interval = timer.interval(SECOND);
    interval.set_missed_tick_behavior(behavior);
    (timer, clock, interval, start)
}

#[test]
fn ticks_at_start_then_every_period_and_wakes_the_poller() {
    let (timer, clock, mut interval, start) = setup(MissedTickBehavior::Burst);
    assert_eq!(next_tick(&mut interval, start), Some(Duration::ZERO));
    let waker = CountingWaker::new();
    assert!(poll_with(&mut Box::pin(interval.tick()), &waker).is_pending());
    clock.advance(SECOND);
    assert_eq!(timer.wait(None).unwrap(), 1);
    assert_eq!(waker.wakes(), 1);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND));
    assert_eq!(next_tick(&mut interval, start), None);
}

#[test]
fn burst_yields_every_missed_tick_back_to_back() {
    let (_timer, clock, mut interval, start) = setup(MissedTickBehavior::Burst);
    assert_eq!(next_tick(&mut interval, start), Some(Duration::ZERO));
    clock.advance(SECOND * 3 + SECOND / 2);
    let ticks: Vec<_> = std::iter::from_fn(|| next_tick(&mut interval, start)).collect();
    assert_eq!(ticks, [SECOND, SECOND * 2, SECOND * 3]);
    clock.advance(SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND * 4));
}

#[test]
fn delay_yields_one_tick_and_counts_the_next_period_from_now() {
    let (_timer, clock, mut interval, start) = setup(MissedTickBehavior::Delay);
    assert_eq!(next_tick(&mut interval, start), Some(Duration::ZERO));
    clock.advance(SECOND * 3 + SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND));
    assert_eq!(next_tick(&mut interval, start), None);
    clock.advance(SECOND - Duration::from_nanos(1));
    assert_eq!(next_tick(&mut interval, start), None);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(next_tick(&mut interval, start), Some(SECOND * 4 + SECOND / 2));
}

#[test]
fn skip_yields_one_tick_and_resumes_the_original_schedule() {
    let (_timer, clock, mut interval, start) = setup(MissedTickBehavior::Skip);
    assert_eq!(next_tick(&mut interval, start), Some(Duration::ZERO));
    clock.advance(SECOND * 3 + SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND));
    assert_eq!(next_tick(&mut interval, start), None);
    clock.advance(SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND * 4));
}

#[test]
fn a_tick_late_by_less_than_a_period_keeps_the_schedule_under_every_policy() {
    for behavior in [MissedTickBehavior::Burst, MissedTickBehavior::Delay, MissedTickBehavior::Skip] {
        let (_timer, clock, mut interval, start) = setup(behavior);
        assert_eq!(next_tick(&mut interval, start), Some(Duration::ZERO));
        clock.advance(SECOND + SECOND / 2);
        assert_eq!(next_tick(&mut interval, start), Some(SECOND), "{behavior:?}");
        clock.advance(SECOND / 2);
        assert_eq!(next_tick(&mut interval, start), Some(SECOND * 2), "{behavior:?}");
    }
}

#[test]
fn interval_at_starts_later_and_reset_restarts_from_now() {
    let (timer, clock) = Timer::with_manual_clock();
    let start = timer.now();
    let mut interval = timer.interval_at(start + SECOND * 5, SECOND);
    assert_eq!(next_tick(&mut interval, start), None);
    clock.advance(SECOND * 5);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND * 5));
    clock.advance(SECOND / 2);
    interval.reset();
    clock.advance(SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), None);
    clock.advance(SECOND / 2);
    assert_eq!(next_tick(&mut interval, start), Some(SECOND * 6 + SECOND / 2));
}

#[test]
fn a_zero_period_ticks_on_every_poll() {
    let (timer, _clock) = Timer::with_manual_clock();
    let start = timer.now();
    let mut interval = timer.interval(Duration::ZERO);
    for _ in 0..3 {
        assert!(next_tick(&mut interval, start).is_some());
    }
}
