//! `EventSource::attach`: a source is driven by exactly one composite or executor at a time. A
//! second driver is refused with `AlreadyExists` where it is set up, instead of silently taking
//! the first one's wake-ups.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use reactor::source::{Composite, Notifier, NotifierSlot, Parking, PingSource};
use reactor::{Builder, EventSource};

fn counting_notifier() -> (Notifier, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let notifier = Notifier::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (notifier, count)
}

#[test]
fn the_same_ping_source_composed_twice_is_refused_and_handed_back() {
    let pings = PingSource::new();
    let (ping, _registration) = pings.register(|| {});
    let first = Composite::new(Parking::new()).unwrap().with(pings.clone()).unwrap();

    let error = Composite::new(Parking::new()).unwrap().with(pings.clone()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    assert!(!error.is_blocking());
    assert_eq!(error.attach_error().map(io::Error::kind), Some(io::ErrorKind::AlreadyExists));
    let message = error.to_string();
    assert!(message.starts_with("cannot compose `reactor::source::ping::PingSource`: "), "{message}");
    assert!(message.contains("attached already"), "{message}");
    let _handed_back: PingSource = error.into_inner();

    // The first composite still gets the pings: its wait returns for one from now on.
    ping.ping();
    assert_eq!(first.wait(None).unwrap(), 1);
}

#[test]
fn a_second_attach_is_refused_and_the_first_notifier_keeps_the_wakeups() {
    let pings = PingSource::new();
    let (first, first_count) = counting_notifier();
    let (second, second_count) = counting_notifier();
    pings.attach(first).unwrap();
    assert_eq!(pings.attach(second).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    let (ping, _registration) = pings.register(|| {});
    ping.ping();
    assert_eq!((first_count.load(Ordering::SeqCst), second_count.load(Ordering::SeqCst)), (1, 0));
}

#[test]
fn a_source_may_be_composed_again_once_its_composite_is_dropped() {
    let pings = PingSource::new();
    let (ping, _registration) = pings.register(|| {});
    let first = Composite::new(Parking::new()).unwrap().with(pings.clone()).unwrap();
    drop(first);
    let second = Composite::new(Parking::new()).unwrap().with(pings).unwrap();
    ping.ping();
    assert_eq!(second.wait(None).unwrap(), 1, "the new composite is the one woken");
}

#[test]
fn a_compose_error_converts_into_an_io_error_with_its_kind_and_cause() {
    fn compose(pings: PingSource) -> io::Result<Composite> {
        Ok(Composite::new(Parking::new())?.with(pings)?)
    }
    let pings = PingSource::new();
    let _first = compose(pings.clone()).unwrap();
    let error = compose(pings).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    assert!(error.to_string().starts_with("cannot compose `reactor::source::ping::PingSource`"));
    let cause = error.get_ref().and_then(|inner| inner.source()).expect("the source's own error");
    assert!(cause.to_string().contains("attached already"));

    fn second_blocking() -> io::Result<Composite> {
        Ok(Composite::new(Parking::new())?.with(Parking::new())?)
    }
    let error = second_blocking().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("exactly one"));
}

#[test]
fn a_passive_source_driven_by_one_executor_is_refused_by_a_second() {
    let pings = PingSource::new();
    let first = Builder::new().worker_threads(1).build(pings.clone()).unwrap();
    let error = Builder::new().worker_threads(1).build(pings.clone()).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    let message = error.to_string();
    assert!(
        message.starts_with("cannot run an executor over `reactor::source::ping::PingSource`"),
        "{message}"
    );
    // The first executor keeps working; once it is gone the source may be driven again.
    assert_eq!(first.block_on(async { 7 }), 7);
    drop(first);
    let again = Builder::new().worker_threads(1).build(pings).unwrap();
    assert_eq!(again.block_on(async { 8 }), 8);
}

#[test]
fn a_blocking_source_shared_by_two_executors_is_refused_by_the_second() {
    let parking = Arc::new(Parking::new());
    let first = Builder::new().worker_threads(1).build(parking.clone()).unwrap();
    let error = Builder::new().worker_threads(1).build(parking.clone()).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(first.block_on(async { 1 }), 1);

    let composite = Arc::new(Composite::new(Parking::new()).unwrap());
    let _first = Builder::new().worker_threads(1).build(composite.clone()).unwrap();
    let error = Builder::new().worker_threads(1).build(composite).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
}

#[test]
fn a_blocking_source_composed_twice_is_refused_by_the_second_composite() {
    let parking = Arc::new(Parking::new());
    let first = Composite::new(parking.clone()).unwrap();
    let error = Composite::new(parking.clone()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    parking.notify();
    assert_eq!(first.wait(Some(Duration::from_secs(10))).unwrap(), 0, "returns for the notify");
}

#[test]
fn a_notifier_slot_notifies_once_attached_and_accepts_a_new_driver_once_the_old_one_is_gone() {
    let slot = NotifierSlot::new();
    slot.notify(); // nobody to wake yet
    assert!(!slot.is_attached());

    let driver = Arc::new(Parking::new());
    slot.attach(Notifier::from_weak(Arc::downgrade(&driver))).unwrap();
    assert!(slot.is_attached());
    let (other, other_count) = counting_notifier();
    assert_eq!(slot.attach(other.clone()).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    slot.notify();
    assert_eq!(driver.wait(Some(Duration::ZERO)).unwrap(), 0);

    drop(driver);
    assert!(!slot.is_attached(), "a notifier whose source is gone is not live");
    slot.attach(other).unwrap();
    slot.notify();
    assert_eq!(other_count.load(Ordering::SeqCst), 1);

    let dead: Weak<Parking> = Weak::new();
    assert!(!Notifier::from_weak(dead).is_live());
}
