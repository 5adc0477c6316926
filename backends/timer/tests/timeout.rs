//! `Timeout`: the future's output if it finishes in time, `Elapsed` otherwise.

mod common;

use std::future::{pending, ready};
use std::time::Duration;

use common::{poll_with, CountingWaker};
use reactor::EventSource;
use reactor_timer::{Elapsed, Timer};

#[test]
fn a_future_that_finishes_in_time_gives_its_output() {
    let (timer, _clock) = Timer::with_manual_clock();
    let mut timeout = timer.timeout(Duration::from_secs(1), ready(7));
    assert_eq!(poll_with(&mut timeout, &CountingWaker::new()), std::task::Poll::Ready(Ok(7)));
}

#[test]
fn a_future_still_pending_at_the_deadline_fails_with_elapsed() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut timeout = timer.timeout(Duration::from_secs(30), pending::<()>());
    assert!(poll_with(&mut timeout, &waker).is_pending());
    clock.advance(Duration::from_secs(29));
    timer.wait(None).unwrap();
    assert!(poll_with(&mut timeout, &waker).is_pending());
    clock.advance(Duration::from_secs(1));
    timer.wait(None).unwrap();
    assert_eq!(waker.wakes(), 1);
    let std::task::Poll::Ready(Err(elapsed)) = poll_with(&mut timeout, &waker) else {
        panic!("expected the timeout to elapse");
    };
    assert_eq!(elapsed.to_string(), "deadline has elapsed");
    assert_eq!(std::io::Error::from(elapsed).kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn output_wins_over_a_deadline_passing_in_the_same_poll() {
    let (timer, clock) = Timer::with_manual_clock();
    let mut timeout = timer.timeout(Duration::from_secs(1), ready("done"));
    clock.advance(Duration::from_secs(5));
    assert_eq!(poll_with(&mut timeout, &CountingWaker::new()), std::task::Poll::Ready(Ok("done")));
}

#[test]
fn the_inner_future_can_be_taken_back_and_dropping_cancels_the_timer() {
    let (timer, _clock) = Timer::with_manual_clock();
    let mut timeout = timer.timeout_at(timer.now() + Duration::from_secs(1), pending::<Elapsed>());
    assert!(poll_with(&mut timeout, &CountingWaker::new()).is_pending());
    assert_eq!(timer.pending(), 1);
    let _inner = timeout.into_inner();
    assert_eq!(timer.pending(), 0);
}
