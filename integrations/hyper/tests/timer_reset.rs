//! `ReactorTimer` as hyper uses it: `reset` moves a sleep's deadline earlier or later, before or
//! after it fired, and the task polling it is woken at the new deadline (hyper's HTTP/2
//! keep-alive re-arms one sleep so). On a runtime with a manual clock: time moves only when the
//! test advances it, and the runtime's worker fires the timers.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use reactor_epoll::time::ManualClock;
use reactor_epoll::Runtime;
use reactor_hyper::ReactorTimer;
use support::bounded;

/// A waker that counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A hyper sleep and the waker it is polled with, from the test's thread.
struct Polled {
    sleep: Pin<Box<dyn Sleep>>,
    wakes: Arc<Counter>,
}

impl Polled {
    fn new(sleep: Pin<Box<dyn Sleep>>) -> Self {
        Self { sleep, wakes: Arc::default() }
    }

    fn poll(&mut self) -> Poll<()> {
        let waker = Waker::from(self.wakes.clone());
        self.sleep.as_mut().poll(&mut Context::from_waker(&waker))
    }

    fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }

    /// Waits (under the test's watchdog) until the timer has woken the waker more than `seen`
    /// times, then checks that the sleep is complete.
    fn assert_fires(&mut self, seen: usize) {
        while self.wakes() <= seen {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(self.poll(), Poll::Ready(()), "woken, but not complete");
    }
}

/// A runtime on a manual clock (one worker, which fires the timers), its timer for hyper, the
/// clock and the time it started at.
fn manual() -> (Runtime, ReactorTimer, ManualClock, Instant) {
    let (runtime, clock) =
        Runtime::builder().worker_threads(1).build_with_manual_clock().expect("start the runtime");
    let timer = ReactorTimer::new(runtime.timer().clone());
    let start = clock.now();
    (runtime, timer, clock, start)
}

#[test]
fn a_sleep_reset_earlier_fires_at_the_new_deadline() {
    bounded("reset_earlier", || {
        let (_runtime, timer, clock, start) = manual();
        let mut sleep = Polled::new(timer.sleep(Duration::from_secs(60)));
        assert_eq!(sleep.poll(), Poll::Pending);
        timer.reset(&mut sleep.sleep, start + Duration::from_secs(5));
        clock.advance(Duration::from_secs(4));
        assert_eq!(sleep.poll(), Poll::Pending, "complete before the new deadline");
        let seen = sleep.wakes();
        clock.advance(Duration::from_secs(1));
        sleep.assert_fires(seen);
        assert_eq!(timer.now() - start, Duration::from_secs(5));
    });
}

#[test]
fn a_sleep_reset_later_does_not_fire_at_the_old_deadline() {
    bounded("reset_later", || {
        let (_runtime, timer, clock, start) = manual();
        let mut sleep = Polled::new(timer.sleep(Duration::from_secs(5)));
        assert_eq!(sleep.poll(), Poll::Pending);
        timer.reset(&mut sleep.sleep, start + Duration::from_secs(20));
        clock.advance(Duration::from_secs(5));
        assert_eq!(sleep.poll(), Poll::Pending, "complete at the old deadline");
        clock.advance(Duration::from_secs(14));
        assert_eq!(sleep.poll(), Poll::Pending, "complete before the new deadline");
        let seen = sleep.wakes();
        clock.advance(Duration::from_secs(1));
        sleep.assert_fires(seen);
    });
}

#[test]
fn a_sleep_reset_after_it_fired_fires_again_at_the_new_deadline() {
    bounded("reset_after_firing", || {
        let (_runtime, timer, clock, start) = manual();
        let mut sleep = Polled::new(timer.sleep(Duration::from_secs(1)));
        assert_eq!(sleep.poll(), Poll::Pending);
        clock.advance(Duration::from_secs(1));
        sleep.assert_fires(0);
        timer.reset(&mut sleep.sleep, start + Duration::from_secs(11));
        assert_eq!(sleep.poll(), Poll::Pending, "complete at once after a reset to a later deadline");
        clock.advance(Duration::from_secs(9));
        assert_eq!(sleep.poll(), Poll::Pending, "complete before the new deadline");
        let seen = sleep.wakes();
        clock.advance(Duration::from_secs(1));
        sleep.assert_fires(seen);
    });
}

/// A sleep hyper got from another timer (or built itself) is replaced by one of ours.
#[test]
fn a_foreign_sleep_reset_fires_at_the_new_deadline() {
    struct Never;
    impl Future for Never {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }
    impl Sleep for Never {}

    bounded("reset_foreign", || {
        let (_runtime, timer, clock, start) = manual();
        let mut sleep = Polled::new(Box::pin(Never));
        timer.reset(&mut sleep.sleep, start + Duration::from_secs(3));
        assert_eq!(sleep.poll(), Poll::Pending);
        let seen = sleep.wakes();
        clock.advance(Duration::from_secs(3));
        sleep.assert_fires(seen);
    });
}

/// hyper reads the time from the timer (to compute deadlines): it is the runtime's clock, not
/// the wall clock.
#[test]
fn the_timer_tells_the_runtime_clock() {
    bounded("timer_now", || {
        let (_runtime, timer, clock, start) = manual();
        assert_eq!(timer.now(), clock.now());
        clock.advance(Duration::from_secs(7));
        assert_eq!(timer.now() - start, Duration::from_secs(7));
        let deadline = timer.now() + Duration::from_secs(1);
        let mut sleep = Polled::new(timer.sleep_until(deadline));
        assert_eq!(sleep.poll(), Poll::Pending);
        clock.advance(Duration::from_secs(1));
        sleep.assert_fires(0);
    });
}
