//! The whole reactor under loom: an executor with two workers over a composite of the mock
//! backend and a timer on a manual clock, running tasks that sleep, send on a channel and
//! receive.
//!
//! One task sleeps until a deadline and then sends; another awaits the message. The main thread
//! advances the clock (before or after the sleep registers, as loom chooses) and waits for the
//! receiver to report. Every wake-up in between crosses a protocol checked alone elsewhere:
//! spawn into an idle pool, the timer's earliest-deadline notification through the composite,
//! the channel's waker slot, and the hand-off between the poller and the listening worker. A
//! lost one leaves every thread asleep, which loom reports as a deadlock.
#![cfg(reactor_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Notify};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::Composite;
use reactor::{Builder, Executor};
use reactor_channel::unbounded;
use reactor_loom::mock::MockSource;
use reactor_loom::{assert_loom_catches, model};
use reactor_timer::Timer;

fn spawn_sleep_send_receive() {
    model(|| {
        let (timer, clock) = Timer::with_manual_clock();
        let source =
            Composite::new(MockSource::new()).unwrap().with(timer.clone()).expect("the timer is passive");
        let executor: Executor<Composite> = Builder::new().worker_threads(2).build(source).unwrap();
        let deadline = clock.now() + Duration::from_millis(10);
        let (tx, mut rx) = unbounded::<u32>();
        let received = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Notify::new());
        executor
            .spawn(async move {
                timer.sleep_until(deadline).await;
                tx.try_send(7).unwrap();
            })
            .detach();
        executor
            .spawn({
                let (received, done) = (received.clone(), done.clone());
                async move {
                    assert_eq!(rx.recv().await, Ok(7));
                    received.store(true, Ordering::Release);
                    done.notify();
                }
            })
            .detach();
        clock.advance(Duration::from_millis(10));
        while !received.load(Ordering::Acquire) {
            done.wait();
        }
    });
}

#[test]
fn spawn_sleep_send_and_receive_on_two_workers() {
    spawn_sleep_send_receive();
}

/// The timer forgetting to notify the blocked waiter of an earlier deadline: the sleeping task
/// is registered on one worker and handed, through the timer's waker, to whichever thread runs
/// it next. Before pool polls held a loom-visible lock (see `Tracked` in the executor), loom saw
/// that hand-off as unsynchronised and reported a false causality violation instead of this
/// deadlock.
#[test]
fn negative_control_a_timer_that_skips_the_earliest_deadline_notify_is_caught() {
    assert_loom_catches("seeded_timer_skips_earliest_notify", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_timer_skips_earliest_notify() {
    reactor_timer::loom_internals::seeded_bug::with(
        reactor_timer::loom_internals::seeded_bug::Bug::SkipEarliestNotify,
        spawn_sleep_send_receive,
    );
}

#[test]
fn negative_control_a_lost_wake_up_of_the_poller_is_caught() {
    assert_loom_catches("seeded_poller_wake_up_lost", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_poller_wake_up_lost() {
    seeded_bug::with(Bug::ParkingLostUnpark, spawn_sleep_send_receive);
}
