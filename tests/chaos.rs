//! The executor over a chaotic source.
//!
//! The `EventSource` contract lets `wait` return early at any time and fail. `Chaos<S>`
//! (`chaos/source.rs`) wraps a blocking source and does all of it at seeded random: spurious and
//! zero-time returns, shortened waits, errors before or after the inner wait, bounded delays
//! before and after it, and spurious notifies from the waiting thread or a background thread;
//! everything else it forwards. Each workload runs over `Chaos<Parking>` and `Chaos<Epoll>`
//! (composed with a timer and a channel source, as the default runtime composes them), with 0, 1,
//! 2 and 4 workers, under each profile of `harness::PROFILES` (from calm, no chaos at all, to
//! hostile), and checks its own result exactly: nothing lost, nothing duplicated, nothing early.
//! Every injected error must reach `on_source_error`, and each kind of chaos a profile asks for
//! must have happened. A run that does not finish within the watchdog period fails with its name,
//! what it was doing, and the seed; `chaos/harness.rs` lists the environment variables that
//! reproduce a run, repeat the matrix or scale the workloads up.

#[path = "chaos/cross.rs"]
mod cross;
#[path = "chaos/harness.rs"]
mod harness;
#[path = "chaos/source.rs"]
mod source;
#[path = "chaos/threads.rs"]
mod threads;
#[path = "chaos/workloads.rs"]
mod workloads;

use std::any::TypeId;
use std::time::Duration;

use harness::{run_matrix, Profile, BOTH, EPOLL_ONLY, PROFILES};
use reactor::source::{Composite, Parking};
use reactor::EventSource;
use reactor_epoll::Epoll;
use reactor_timer::{Timer, TimerAction};
use source::{Chaos, Rates, Rng, Stats};

#[test]
fn the_chaos_wrapper_forwards_everything_but_wait() {
    let (chaos, stats) = Chaos::new(Epoll::new().unwrap(), Rates::default(), 1);
    assert!(chaos.can_block());
    let composite = Composite::new(chaos).unwrap().with(Timer::new()).unwrap();
    let found = composite.component(TypeId::of::<Epoll>()).and_then(|found| found.downcast_ref::<Epoll>());
    assert!(found.is_some(), "the epoll inside the wrapper is found through the composite");
    assert!(composite.component(TypeId::of::<Timer>()).is_some());
    composite.notify();
    assert_eq!(Stats::get(&stats.notifies), 1, "notify is forwarded");
    let timer = Timer::new();
    let _registration = timer.register(timer.now() + Duration::from_secs(60), |_| TimerAction::Stop);
    let (passive, _) = Chaos::new(timer.clone(), Rates::default(), 1);
    assert!(!passive.can_block(), "a passive source stays passive inside the wrapper");
    assert!(
        passive.deadline().is_some() && passive.deadline() == timer.deadline(),
        "the deadline is forwarded"
    );
    let (failing, stats) = Chaos::new(Parking::new(), Profile::Failing.rates(), 1);
    assert!(failing.wait(Some(Duration::ZERO)).is_err());
    assert_eq!(Stats::get(&stats.errors), 1);
}

#[test]
fn the_same_seed_gives_the_same_choices() {
    let (a, b) = (Rng::new(42), Rng::new(42));
    let draws = |rng: &Rng| (0..100).map(|_| rng.below(1000)).collect::<Vec<_>>();
    assert_eq!(draws(&a), draws(&b));
    assert_ne!(draws(&Rng::new(43)), draws(&Rng::new(42)));
}

#[test]
fn timers_complete_once_and_never_early() {
    run_matrix("timers", BOTH, PROFILES, workloads::timers);
}

#[test]
fn channel_messages_arrive_once_and_in_order() {
    run_matrix("channels", BOTH, PROFILES, workloads::channels);
}

#[test]
fn spawn_storms_run_every_task_once() {
    run_matrix("spawn-storm", BOTH, PROFILES, workloads::spawn_storm);
}

#[test]
fn tcp_echo_returns_every_byte() {
    run_matrix("tcp-echo", EPOLL_ONLY, PROFILES, workloads::tcp_echo);
}

#[test]
fn concurrent_block_on_calls_all_return_and_pool_timers_still_fire() {
    run_matrix("concurrent-block-on", BOTH, PROFILES, threads::concurrent_block_on);
}

#[test]
fn a_plain_thread_ping_ponging_with_pool_tasks_always_gets_its_reply() {
    run_matrix("ping-pong", BOTH, PROFILES, threads::ping_pong);
}

#[test]
fn dropping_the_executor_mid_workload_drops_every_future() {
    run_matrix("shutdown", BOTH, PROFILES, threads::shutdown);
}

#[test]
fn a_source_that_always_fails_does_not_stop_tasks_nor_make_the_executor_spin() {
    run_matrix("failing-source", BOTH, &[Profile::Failing], threads::failing_source);
}

#[test]
fn tasks_woken_by_another_executors_sources_run() {
    run_matrix("two-executors", BOTH, PROFILES, cross::two_executors);
}
