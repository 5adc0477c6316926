//! Loom models of registration, dispatch, deregistration, notification and composition, run
//! through the mock backend (`reactor_loom::mock`), whose registry, dispatch and readiness cache
//! are the core's, as every backend's are:
//!
//! - register vs dispatch: a registration made and fired on another thread while the loop waits
//!   and dispatches is dispatched exactly once;
//! - deregister vs an in-flight callback: once the registration's drop returns, its callback
//!   never runs, even when a dispatch on another thread had already looked it up;
//! - notify vs wait: a notify from another thread ends a blocked wait, and the notifier's writes
//!   are visible after it;
//! - readiness vs a parked task: a message sent from another thread reaches, through the mock's
//!   kernel, the registry and the readiness cache of a real `reactor_net::Async`, a task that
//!   `block_on` runs on the thread blocked in the mock;
//! - composite wake-up: a send on a channel (a passive source) from another thread wakes the
//!   composite blocked in the mock, whose dispatch then runs the channel's callback.
#![cfg(reactor_loom)]

use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use reactor::io::Readiness;
use reactor::loom_internals::seeded_bug as core_bug;
use reactor::source::{Composite, EventSource};
use reactor::{Builder, Executor};
use reactor_channel::loom_internals::seeded_bug as channel_bug;
use reactor_channel::{unbounded, ChannelSource};
use reactor_loom::mock::{MockFd, MockRegistration, MockSource};
use reactor_loom::{assert_loom_catches, model, spawn_unjoined};
use reactor_net::Async;

/// A callback that counts its runs.
fn counting(runs: &Arc<AtomicUsize>) -> impl FnMut(Readiness) + Send + 'static {
    let runs = runs.clone();
    move |_| {
        runs.fetch_add(1, Ordering::Release);
    }
}

/// The loop dispatches an earlier registration's event while another thread registers, fires
/// the new registration and hands it over; the loop must run the new callback exactly once.
fn register_vs_dispatch() {
    model(|| {
        let source = MockSource::new();
        let (early_runs, late_runs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let early = source.register(counting(&early_runs));
        early.fire(Readiness::READABLE);
        let handed_over: Arc<Mutex<Option<MockRegistration>>> = Arc::default();
        let registered = {
            let (source, late_runs, handed_over) = (source.clone(), late_runs.clone(), handed_over.clone());
            spawn_unjoined(move || {
                let late = source.register(counting(&late_runs));
                late.fire(Readiness::WRITABLE);
                *handed_over.lock().unwrap() = Some(late);
            })
        };
        while late_runs.load(Ordering::Acquire) == 0 {
            source.wait(None).unwrap();
        }
        registered();
        assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0, "nothing left to dispatch");
        assert_eq!((early_runs.load(Ordering::Acquire), late_runs.load(Ordering::Acquire)), (1, 1));
        drop(handed_over.lock().unwrap().take());
        drop(early);
        assert_eq!(source.registrations(), 0);
    });
}

#[test]
fn a_registration_made_and_fired_during_dispatch_runs_exactly_once() {
    register_vs_dispatch();
}

#[test]
fn negative_control_a_lost_wake_up_for_a_new_registration_is_caught() {
    assert_loom_catches("seeded_fire_loses_its_wake_up", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_fire_loses_its_wake_up() {
    core_bug::with(core_bug::Bug::ParkingLostUnpark, register_vs_dispatch);
}

/// A dispatch on another thread races with the registration's drop; the callback asserts that
/// it never runs after the drop returned.
fn deregister_vs_in_flight_callback() {
    model(|| {
        let source = MockSource::new();
        let dropped = Arc::new(AtomicBool::new(false));
        let seen = dropped.clone();
        let registration = source.register(move |_| {
            assert!(!seen.load(Ordering::Acquire), "callback ran after its deregistration returned");
        });
        registration.fire(Readiness::READABLE);
        let dispatcher = {
            let source = source.clone();
            loom::thread::spawn(move || source.wait(Some(Duration::ZERO)).unwrap())
        };
        drop(registration);
        dropped.store(true, Ordering::Release);
        assert!(dispatcher.join().unwrap() <= 1);
        assert_eq!(source.registrations(), 0);
    });
}

#[test]
fn no_callback_runs_after_the_registration_drop_returns() {
    deregister_vs_in_flight_callback();
}

#[test]
fn negative_control_a_drop_that_does_not_wait_for_the_callback_is_caught() {
    assert_loom_catches(
        "seeded_drop_skips_the_callback_slot",
        "callback ran after its deregistration returned",
    );
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_drop_skips_the_callback_slot() {
    core_bug::with(core_bug::Bug::RemoveSkipsCallbackSlot, deregister_vs_in_flight_callback);
}

/// A notify from another thread ends the blocked wait; what the notifier wrote before is seen.
fn notify_vs_wait() {
    model(|| {
        let source = MockSource::new();
        let written = Arc::new(AtomicBool::new(false));
        let notified = {
            let (source, written) = (source.clone(), written.clone());
            spawn_unjoined(move || {
                written.store(true, Ordering::Relaxed);
                source.notify();
            })
        };
        // No spurious return is possible here (nothing else notifies and the wait is untimed),
        // so the first return is the notify's.
        assert_eq!(source.wait(None).unwrap(), 0);
        assert!(written.load(Ordering::Relaxed), "the notifier's write is visible after the wait");
        notified();
    });
}

#[test]
fn a_notify_racing_with_a_wait_ends_it() {
    notify_vs_wait();
}

#[test]
fn negative_control_a_lost_notify_is_caught() {
    assert_loom_catches("seeded_notify_loses_its_unpark", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_notify_loses_its_unpark() {
    core_bug::with(core_bug::Bug::ParkingLostUnpark, notify_vs_wait);
}

/// A composite blocked in the mock; a send on a channel registered with the composite's passive
/// channel source, from another thread, must end the wait and have the callback run.
fn composite_woken_by_a_passive_source() {
    model(|| {
        let channels = ChannelSource::new();
        let source = Composite::new(MockSource::new()).unwrap().with(channels.clone()).expect("passive");
        let (tx, rx) = unbounded();
        let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = received.clone();
        let _registration = channels.register(rx, move |n: usize| {
            counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        });
        source.wait(Some(Duration::ZERO)).unwrap(); // the channel is idle, its waker registered
        let keep_open = tx.clone();
        let sent = spawn_unjoined(move || tx.try_send(1).unwrap());
        while received.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            source.wait(None).unwrap();
        }
        sent();
        drop(keep_open);
    });
}

#[test]
fn a_send_on_a_passive_channel_source_wakes_the_composite_blocked_in_the_mock() {
    composite_woken_by_a_passive_source();
}

#[test]
fn negative_control_a_passive_source_that_never_notifies_is_caught() {
    assert_loom_catches("seeded_channel_source_skips_notify", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_channel_source_skips_notify() {
    channel_bug::with(channel_bug::Bug::SourceSkipsNotify, composite_woken_by_a_passive_source);
}

/// `block_on`, with no workers, reads from an `Async` it registers inside the task (finding the
/// mock as any I/O backend is found); another thread sends the message, so the kernel's report
/// is dispatched by the `block_on` thread itself as the poller and wakes its own future.
fn readiness_wakes_a_parked_task() {
    model(|| {
        let source = MockSource::new();
        let file = source.file().unwrap();
        let peer = file.peer();
        let executor: Executor<MockSource> = Builder::new().worker_threads(0).build(source).unwrap();
        let sent = spawn_unjoined(move || peer.make_ready(Readiness::READABLE));
        executor.block_on(async move {
            let file = Async::new(file).expect("the mock is the executor's I/O backend");
            file.read_with(MockFd::read).await.unwrap();
        });
        sent();
        assert_eq!(executor.source().registrations(), 0);
    });
}

#[test]
fn an_event_fired_from_another_thread_wakes_the_task_awaiting_readiness() {
    readiness_wakes_a_parked_task();
}

#[test]
fn negative_control_a_lost_wake_up_of_the_task_is_caught() {
    assert_loom_catches("seeded_readiness_wake_up_lost", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_readiness_wake_up_lost() {
    core_bug::with(core_bug::Bug::ParkingLostUnpark, readiness_wakes_a_parked_task);
}
