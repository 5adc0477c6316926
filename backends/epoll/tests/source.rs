//! `Epoll` as an `EventSource`: notify, timeouts, composition.

use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
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
    // A timeout too long for the kernel is cut to the longest it takes, without overflowing.
    epoll.notify();
    assert_eq!(epoll.wait(Some(Duration::MAX)).unwrap(), 0);
    epoll.notify();
    assert_eq!(epoll.wait(Some(Duration::from_secs(u64::MAX / 2))).unwrap(), 0);
    epoll.notify();
    assert_eq!(epoll.wait(Some(Duration::from_millis(u64::MAX))).unwrap(), 0);
}

#[test]
fn an_executor_over_a_composite_finds_its_epoll() {
    let epoll = Epoll::new().unwrap();
    let composite = Composite::new(epoll.clone()).unwrap().with(PingSource::new()).unwrap();
    let executor = Executor::new(composite).unwrap();
    let found = executor.block_on(async { reactor::current_source::<Epoll>() }).expect("the composed epoll");
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let registered = reactor_epoll::Async::with_source(a, &found).unwrap();
    assert_eq!(epoll.registrations(), 1, "the handle found is the same source");
    drop(registered);
}

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn a_wait_interrupted_by_a_signal_returns_ok() {
    // SAFETY: installs a handler that does nothing, for a signal nothing else in this test binary
    // uses; `action` is fully initialised (zeroed, then the handler and an empty mask).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
    let epoll = Epoll::new().unwrap();
    let returned = Arc::new(AtomicBool::new(false));
    let waiter = {
        let returned = returned.clone();
        std::thread::spawn(move || {
            let result = epoll.wait(None).map_err(|error| error.kind());
            returned.store(true, Ordering::SeqCst);
            result
        })
    };
    // Nothing but a signal can end that wait. A signal that lands before the wait starts is
    // handled and the wait blocks, so keep signalling until it returns.
    while !returned.load(Ordering::SeqCst) {
        // SAFETY: the thread is joined only after this loop, so its pthread handle is live.
        assert_eq!(unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) }, 0);
        std::thread::yield_now();
    }
    assert_eq!(waiter.join().unwrap(), Ok(0), "EINTR is an empty wait, not an error");
}

#[test]
fn a_second_concurrent_wait_returns_at_once() {
    let epoll = Epoll::new().unwrap();
    let (started, waiting) = mpsc::channel();
    let blocked = {
        let epoll = epoll.clone();
        std::thread::spawn(move || {
            started.send(()).unwrap();
            epoll.wait(None)
        })
    };
    waiting.recv().unwrap();
    // A zero-timeout wait never blocks, even behind a wait already blocked on another thread
    // (if that one has not started yet, this one simply runs first).
    assert_eq!(epoll.wait(Some(Duration::ZERO)).unwrap(), 0);
    epoll.notify();
    assert_eq!(blocked.join().unwrap().unwrap(), 0);
}
