//! Ordinary tests of the blocking pipe source, on real threads and a real executor. A lost ring
//! would hang, so every wait for callbacks has a watchdog timeout that fails the test instead.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use loom_user::pipe_source::PipeSource;
use reactor::source::Notifier;
use reactor::{Builder, EventSource};

/// Far longer than any dispatch takes; only reached when a ring was lost.
const WATCHDOG: Duration = Duration::from_secs(20);

fn receive(received: &Receiver<usize>, count: usize) -> Vec<usize> {
    (0..count)
        .map(|_| received.recv_timeout(WATCHDOG).expect("a ring was lost: its callback never ran"))
        .collect()
}

#[test]
fn rings_from_many_threads_each_run_their_callback_on_the_executor() {
    const RINGERS: usize = 4;
    const ROUNDS: usize = 500;
    let source = PipeSource::new().unwrap();
    let (ran, received) = mpsc::channel();
    let doorbells: Vec<_> = (0..RINGERS)
        .map(|ringer| {
            let ran = ran.clone();
            source.register(move || ran.send(ringer).unwrap())
        })
        .collect();
    let executor = Builder::new().worker_threads(1).build(source).unwrap();
    for _ in 0..ROUNDS {
        // Each ringer rings once and waits for its callback, so no ring coalesces with another.
        let threads: Vec<_> = doorbells
            .iter()
            .map(|(doorbell, _)| doorbell.clone())
            .map(|d| thread::spawn(move || d.ring()))
            .collect();
        let mut seen = receive(&received, RINGERS);
        seen.sort_unstable();
        assert_eq!(seen, (0..RINGERS).collect::<Vec<_>>());
        threads.into_iter().for_each(|thread| thread.join().unwrap());
    }
    drop(executor);
}

#[test]
fn rings_before_the_source_has_a_driver_are_dispatched_by_its_first_wait() {
    let source = PipeSource::new().unwrap();
    let (ran, received) = mpsc::channel();
    let (doorbell, _registration) = source.register(move || ran.send(7).unwrap());
    doorbell.ring();
    let executor = Builder::new().worker_threads(1).build(source).unwrap();
    assert_eq!(receive(&received, 1), [7]);
    drop(executor);
}

#[test]
fn more_doorbells_rung_than_the_pipe_holds_all_run_their_callbacks() {
    // The pipe holds 8,192 ids of 8 bytes: the rings after that find it full and fall back to a
    // scan of every doorbell.
    const BELLS: usize = 10_000;
    let source = PipeSource::new().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let registrations: Vec<_> = (0..BELLS)
        .map(|_| {
            let ran = ran.clone();
            source.register(move || {
                ran.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    registrations.iter().for_each(|(doorbell, _)| doorbell.ring());
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), BELLS);
    assert_eq!(ran.load(Ordering::Relaxed), BELLS);
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0, "every doorbell ran exactly once");
}

#[test]
fn rings_before_a_wait_coalesce_into_one_run_of_the_callback() {
    let source = PipeSource::new().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let (doorbell, _registration) = source.register(move || {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    (0..3).for_each(|_| doorbell.ring());
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 1);
    assert_eq!(ran.load(Ordering::Relaxed), 1);
    doorbell.ring();
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 1, "a ring after the run runs it again");
}

#[test]
fn a_zero_timeout_wait_with_nothing_rung_returns_at_once_with_nothing_run() {
    let source = PipeSource::new().unwrap();
    let (_doorbell, _registration) = source.register(|| panic!("nothing was rung"));
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(source.wait(Some(Duration::from_millis(1))).unwrap(), 0);
    assert!(source.can_block());
    assert_eq!(source.deadline(), None);
}

#[test]
fn a_doorbell_rung_after_its_registration_is_dropped_runs_nothing() {
    let source = PipeSource::new().unwrap();
    let (doorbell, registration) = source.register(|| panic!("deregistered before the ring"));
    let (other, _kept) = source.register(|| {});
    drop(registration);
    doorbell.ring();
    other.ring();
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 1, "only the registered doorbell runs");
}

#[test]
fn a_callback_may_drop_its_own_registration() {
    let source = PipeSource::new().unwrap();
    let own = Arc::new(reactor::sync::Mutex::new(None));
    let inside = own.clone();
    let (doorbell, registration) = source.register(move || drop(inside.lock().take()));
    *own.lock() = Some(registration);
    doorbell.ring();
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 1);
    doorbell.ring();
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0, "deregistered by its own callback");
}

#[test]
fn a_pipe_source_refuses_a_second_driver_while_the_first_lives() {
    let source = PipeSource::new().unwrap();
    source.attach(Notifier::new(|| {})).unwrap();
    let second = source.attach(Notifier::new(|| {})).unwrap_err();
    assert_eq!(second.kind(), io::ErrorKind::AlreadyExists);
}
