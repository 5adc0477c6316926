//! `Epoll` as an `EventSource`: notify, timeouts, composition.

use std::sync::mpsc;
use std::time::Duration;

use reactor::source::{Composite, PingSource};
use reactor::{EventSource, Executor};
use reactor_epoll::Epoll;

#[test]
fn notify_from_another_thread_ends_a_blocked_wait() {
    let epoll = Epoll::new().unwrap();
    for _ in 0..100 {
        let (about_to_wait, waiting) = mpsc::channel();
        let notifier = {
            let epoll = epoll.clone();
            std::thread::spawn(move || {
                waiting.recv().unwrap();
                epoll.notify();
            })
        };
        about_to_wait.send(()).unwrap();
        assert_eq!(epoll.wait(None).unwrap(), 0, "a notification dispatches no callback");
        notifier.join().unwrap();
    }
}

#[test]
fn a_notify_before_the_wait_is_kept_and_repeated_notifies_coalesce() {
    let epoll = Epoll::new().unwrap();
    epoll.notify();
    epoll.notify();
    epoll.notify();
    assert_eq!(epoll.wait(None).unwrap(), 0); // returns at once
                                              // Nothing is left pending: a timed wait now runs to its timeout.
    assert_eq!(epoll.wait(Some(Duration::from_millis(1))).unwrap(), 0);
    epoll.notify();
    assert_eq!(epoll.wait(None).unwrap(), 0, "notifications keep working after coalescing");
}

#[test]
fn sub_millisecond_and_zero_timeouts_return() {
    let epoll = Epoll::new().unwrap();
    assert_eq!(epoll.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(epoll.wait(Some(Duration::from_micros(250))).unwrap(), 0);
    assert_eq!(epoll.wait(Some(Duration::from_nanos(1))).unwrap(), 0);
    // A timeout too long for the kernel waits without a limit instead of overflowing.
    epoll.notify();
    assert_eq!(epoll.wait(Some(Duration::MAX)).unwrap(), 0);
    epoll.notify();
    assert_eq!(epoll.wait(Some(Duration::from_secs(u64::MAX / 2))).unwrap(), 0);
}

#[test]
fn an_executor_over_a_composite_finds_its_epoll() {
    let epoll = Epoll::new().unwrap();
    let composite = Composite::new(epoll.clone()).with(PingSource::new()).unwrap();
    let executor = Executor::new(composite).unwrap();
    let found = executor.block_on(async { reactor::current_source::<Epoll>() }).expect("the composed epoll");
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let registered = reactor_epoll::Async::with_source(a, &found).unwrap();
    assert_eq!(epoll.registrations(), 1, "the handle found is the same source");
    drop(registered);
}
