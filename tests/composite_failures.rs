//! A `Composite` dispatches every part on each wait, even when another part fails.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reactor::source::{Composite, Parking, PingSource};
use reactor::EventSource;

/// A passive source whose every wait fails.
struct AlwaysFailing;

impl EventSource for AlwaysFailing {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        Err(io::Error::other("this source always fails"))
    }

    fn notify(&self) {}

    fn can_block(&self) -> bool {
        false
    }
}

/// A blocking source whose every wait fails at once.
struct FailingBlocking;

impl EventSource for FailingBlocking {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::PermissionDenied, "the blocking wait failed"))
    }

    fn notify(&self) {}
}

/// A passive source whose every wait panics.
struct AlwaysPanicking;

impl EventSource for AlwaysPanicking {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        panic!("this source always panics")
    }

    fn notify(&self) {}

    fn can_block(&self) -> bool {
        false
    }
}

fn counting_pings() -> (PingSource, reactor::source::Ping, reactor::source::PingRegistration, Arc<AtomicUsize>)
{
    let pings = PingSource::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let (ping, registration) = pings.register(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (pings, ping, registration, runs)
}

#[test]
fn a_failing_passive_source_does_not_starve_a_healthy_one_composed_after_it() {
    let (pings, ping, _registration, runs) = counting_pings();
    let source = Composite::new(Parking::new()).unwrap().with(AlwaysFailing).unwrap().with(pings).unwrap();
    for round in 1..=3 {
        ping.ping();
        let error = source.wait(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(error.to_string(), "this source always fails");
        assert_eq!(runs.load(Ordering::SeqCst), round, "the ping's callback ran despite the failure");
    }
}

#[test]
fn a_panicking_passive_source_does_not_starve_a_healthy_one_and_its_panic_still_propagates() {
    let (pings, ping, _registration, runs) = counting_pings();
    let source = Composite::new(Parking::new()).unwrap().with(AlwaysPanicking).unwrap().with(pings).unwrap();
    ping.ping();
    let wait = std::panic::AssertUnwindSafe(|| source.wait(Some(Duration::ZERO)));
    let panic = std::panic::catch_unwind(wait).unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"this source always panics"));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the ping's callback ran despite the panic");
}

#[test]
fn a_failing_blocking_source_does_not_starve_the_passive_ones() {
    let (pings, ping, _registration, runs) = counting_pings();
    let source = Composite::new(FailingBlocking).unwrap().with(pings).unwrap();
    ping.ping();
    let error = source.wait(None).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the ping's callback ran despite the failure");
}

#[test]
fn several_failing_parts_give_one_error_that_lists_them_all() {
    let (pings, ping, _registration, runs) = counting_pings();
    let source = Composite::new(FailingBlocking).unwrap().with(AlwaysFailing).unwrap().with(pings).unwrap();
    ping.ping();
    let error = source.wait(None).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "the first failure's kind");
    assert_eq!(
        error.to_string(),
        "2 parts of a composite event source failed: the blocking wait failed; this source always fails"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
