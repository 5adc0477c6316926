//! Ordinary tests of the event bus, on real threads and a real executor (the loom models are in
//! `tests/loom.rs`). A lost event would hang, so every wait for events has a watchdog timeout
//! that fails the test instead.

use std::io;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use loom_user::bus;
use reactor::source::Notifier;
use reactor::{Builder, EventSource};

/// Far longer than any dispatch takes; only reached when an event was lost.
const WATCHDOG: Duration = Duration::from_secs(20);

fn receive(received: &Receiver<(usize, usize)>, count: usize) -> Vec<(usize, usize)> {
    (0..count)
        .map(|_| received.recv_timeout(WATCHDOG).expect("an event was lost: the handler never ran for it"))
        .collect()
}

#[test]
fn events_from_many_threads_all_reach_the_handler_in_publish_order_per_thread() {
    const PUBLISHERS: usize = 4;
    const EVENTS: usize = 2_000;
    let (events, received) = mpsc::channel();
    let (bus, publisher) = bus(move |event: (usize, usize)| events.send(event).unwrap());
    let executor = Builder::new().worker_threads(2).build(bus).unwrap();
    let threads: Vec<_> = (0..PUBLISHERS)
        .map(|thread| {
            let publisher = publisher.clone();
            thread::spawn(move || (0..EVENTS).for_each(|event| publisher.publish((thread, event)).unwrap()))
        })
        .collect();
    let mut next = [0; PUBLISHERS];
    for (thread, event) in receive(&received, PUBLISHERS * EVENTS) {
        assert_eq!(event, next[thread], "publisher {thread}'s events arrived out of order");
        next[thread] += 1;
    }
    threads.into_iter().for_each(|thread| thread.join().unwrap());
    drop(executor);
}

#[test]
fn events_published_before_the_bus_has_a_driver_are_dispatched_by_its_first_wait() {
    let (events, received) = mpsc::channel();
    let (bus, publisher) = bus(move |event| events.send(event).unwrap());
    publisher.publish((0, 0)).unwrap();
    publisher.publish((0, 1)).unwrap();
    // No publish after this point: nothing notifies the driver, only the pending deadline tells
    // its first wait not to block.
    let executor = Builder::new().worker_threads(1).build(bus).unwrap();
    assert_eq!(receive(&received, 2), [(0, 0), (0, 1)]);
    drop(executor);
}

#[test]
fn a_wait_with_nothing_published_dispatches_nothing_and_never_blocks() {
    let (bus, publisher) = bus(|_: u8| panic!("no event was published"));
    assert_eq!(bus.wait(None).unwrap(), 0);
    assert_eq!(bus.deadline(), None);
    assert!(!bus.can_block());
    drop(publisher);
}

#[test]
fn a_wait_dispatches_every_queued_event_once() {
    let (events, received) = mpsc::channel();
    let (bus, publisher) = bus(move |event: u8| events.send(event).unwrap());
    for event in 0..3 {
        publisher.publish(event).unwrap();
    }
    assert!(bus.deadline().is_some(), "pending events must make the driver's wait return at once");
    assert_eq!(bus.wait(Some(Duration::ZERO)).unwrap(), 3);
    assert_eq!(received.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(bus.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(bus.deadline(), None);
}

#[test]
fn a_publish_after_the_bus_is_dropped_hands_the_event_back() {
    let (bus, publisher) = bus(|_: String| {});
    drop(bus);
    let refused = publisher.publish("late".to_owned()).unwrap_err();
    assert_eq!(refused.into_inner(), "late");
}

#[test]
fn a_bus_refuses_a_second_driver_while_the_first_lives() {
    let (bus, _publisher) = bus(|_: u8| {});
    bus.attach(Notifier::new(|| {})).unwrap();
    let second = bus.attach(Notifier::new(|| {})).unwrap_err();
    assert_eq!(second.kind(), io::ErrorKind::AlreadyExists);
}
