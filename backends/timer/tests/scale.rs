//! A million pending timers: registered, cancelled and fired, with nothing left behind.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{poll_with, CountingWaker};
use reactor::EventSource;
use reactor_timer::Timer;

const TIMERS: u64 = 1_000_000;

#[test]
fn a_million_pending_sleeps_cancel_and_fire_leaving_nothing_behind() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = CountingWaker::new();
    let mut sleeps: Vec<_> = (0..TIMERS)
        .map(|i| {
            let mut sleep = timer.sleep(Duration::from_micros(i.wrapping_mul(7_919) % TIMERS + 1));
            assert!(poll_with(&mut sleep, &waker).is_pending());
            sleep
        })
        .collect();
    assert_eq!(timer.pending(), TIMERS as usize);

    // Cancel every other one, from the middle of the heap.
    let mut index = 0;
    sleeps.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    assert_eq!(timer.pending(), sleeps.len());
    // Each pending sleep, polled once, holds one waker clone: in the timer.
    assert_eq!(Arc::strong_count(&waker), 1 + sleeps.len(), "cancelled wakers were dropped");

    clock.advance(Duration::from_secs(1));
    assert_eq!(timer.wait(None).unwrap(), sleeps.len());
    assert_eq!(waker.wakes(), sleeps.len());
    assert_eq!(timer.pending(), 0);
    assert!(sleeps.iter_mut().all(|sleep| poll_with(sleep, &waker).is_ready()));
    assert_eq!(Arc::strong_count(&waker), 1);
}
