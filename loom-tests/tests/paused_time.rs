//! Loom models of paused time: a timer on a paused clock (`Timer::with_paused_clock`) jumps to
//! its next deadline once every thread of the executor is idle. The protocol that must not lose
//! that moment: the poller checks "all idle" before it blocks, and the last thread to fall asleep
//! beside a poller already blocked wakes it (see the executor's `paused_time.rs`). A lost moment
//! leaves every thread asleep with a timer pending, which loom reports as a deadlock.
#![cfg(reactor_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Notify};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::Builder;
use reactor_loom::{assert_loom_catches, model, Gate};
use reactor_timer::Timer;

/// One worker and the main thread's `block_on`: a task sleeps 10 ms of paused time while the
/// main thread waits for it. Nobody advances the clock by hand.
fn a_sleep_on_paused_time() {
    model(|| {
        let (timer, clock) = Timer::with_paused_clock();
        let start = clock.now();
        let executor = Builder::new().worker_threads(1).build(timer.clone()).unwrap();
        let woke = Arc::new(AtomicBool::new(false));
        let done = Arc::new(Notify::new());
        executor
            .spawn({
                let (woke, done) = (woke.clone(), done.clone());
                async move {
                    timer.sleep(Duration::from_millis(10)).await;
                    woke.store(true, Ordering::Release);
                    done.notify();
                }
            })
            .detach();
        while !woke.load(Ordering::Acquire) {
            done.wait();
        }
        assert_eq!(
            clock.now() - start,
            Duration::from_millis(10),
            "the clock jumped exactly to the deadline"
        );
    });
}

#[test]
fn paused_time_moves_once_the_only_worker_is_idle() {
    a_sleep_on_paused_time();
}

/// The same with a `block_on` thread beside the worker: either may be the poller, and either may
/// be the last to fall asleep.
fn a_sleep_on_paused_time_awaited_in_block_on() {
    model(|| {
        let (timer, clock) = Timer::with_paused_clock();
        let start = clock.now();
        let executor = Builder::new().worker_threads(1).build(timer.clone()).unwrap();
        // Completion comes through a loom-visible gate, not the task's handle (whose output
        // travels through async-task's atomics, which loom cannot see).
        let gate = Gate::default();
        let opened = gate.clone();
        executor
            .spawn(async move {
                timer.sleep(Duration::from_millis(10)).await;
                opened.open();
            })
            .detach();
        executor.block_on(gate);
        assert_eq!(
            clock.now() - start,
            Duration::from_millis(10),
            "the clock jumped exactly to the deadline"
        );
    });
}

#[test]
fn paused_time_moves_once_the_worker_and_the_block_on_thread_are_idle() {
    a_sleep_on_paused_time_awaited_in_block_on();
}

#[test]
fn negative_control_a_last_sleeper_that_leaves_the_poller_blocked_is_caught() {
    assert_loom_catches("seeded_last_sleeper_leaves_the_poller_blocked", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_last_sleeper_leaves_the_poller_blocked() {
    seeded_bug::with(Bug::LastSleeperLeavesPollerBlocked, a_sleep_on_paused_time_awaited_in_block_on);
}

#[test]
fn negative_control_an_idle_wait_that_ignores_its_own_wake_up_is_caught() {
    assert_loom_catches("seeded_idle_wait_ignores_its_wake_up", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_idle_wait_ignores_its_wake_up() {
    seeded_bug::with(Bug::IdleWaitIgnoresItsWakeUp, a_sleep_on_paused_time_awaited_in_block_on);
}
