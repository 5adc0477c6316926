//! Each I/O backend as an `EventSource`: notify, timeouts, signals, concurrent waits,
//! composition.

mod common;

use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::{on_every_backend, source};
use reactor::io::{AsIoHandle, IoHandle};
use reactor::source::{Composite, PingSource};
use reactor::{EventSource, Executor};
use reactor_epoll::Backend;

on_every_backend!(
    notify_from_another_thread_ends_a_blocked_wait,
    a_notify_before_the_wait_is_kept_and_repeated_notifies_coalesce,
    sub_millisecond_and_zero_timeouts_return,
    an_executor_over_a_composite_finds_its_backend,
    a_signal_during_a_wait_is_never_an_error,
    a_second_concurrent_wait_returns_at_once,
);

fn notify_from_another_thread_ends_a_blocked_wait(backend: Backend) {
    let source = source(backend);
    for _ in 0..100 {
        let (about_to_wait, waiting) = mpsc::channel();
        let notifier = {
            let source = source.clone();
            std::thread::spawn(move || {
                waiting.recv().unwrap();
                source.notify();
            })
        };
        about_to_wait.send(()).unwrap();
        assert_eq!(source.wait(None).unwrap(), 0, "a notification dispatches no callback");
        notifier.join().unwrap();
    }
}

fn a_notify_before_the_wait_is_kept_and_repeated_notifies_coalesce(backend: Backend) {
    let source = source(backend);
    source.notify();
    source.notify();
    source.notify();
    assert_eq!(source.wait(None).unwrap(), 0); // returns at once
                                               // Nothing is left pending: a timed wait now runs to its timeout.
    assert_eq!(source.wait(Some(Duration::from_millis(1))).unwrap(), 0);
    source.notify();
    assert_eq!(source.wait(None).unwrap(), 0, "notifications keep working after coalescing");
}

fn sub_millisecond_and_zero_timeouts_return(backend: Backend) {
    let source = source(backend);
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(source.wait(Some(Duration::from_micros(250))).unwrap(), 0);
    assert_eq!(source.wait(Some(Duration::from_nanos(1))).unwrap(), 0);
    // A timeout too long for the kernel is cut to the longest it takes, without overflowing.
    source.notify();
    assert_eq!(source.wait(Some(Duration::MAX)).unwrap(), 0);
    source.notify();
    assert_eq!(source.wait(Some(Duration::from_secs(u64::MAX / 2))).unwrap(), 0);
    source.notify();
    assert_eq!(source.wait(Some(Duration::from_millis(u64::MAX))).unwrap(), 0);
}

fn an_executor_over_a_composite_finds_its_backend(backend: Backend) {
    let source = source(backend);
    let composite = Composite::new(source.clone()).unwrap().with(PingSource::new()).unwrap();
    let executor = Executor::new(composite).unwrap();
    let found = executor.block_on(async { IoHandle::current() }).expect("the composed backend");
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let registered = reactor_epoll::Async::with_source(a, &found).unwrap();
    let registry_count = || source.io_handle().unwrap().source().registry().count();
    assert_eq!(registry_count(), 1, "the handle found is the same source");
    drop(registered);
    assert_eq!(registry_count(), 0);
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// A signal is never an error of a wait. Epoll's wait returns `Ok(0)` for it (`EINTR`, which a
/// signal-driven loop may rely on to look at its flags); `polling::Poller::wait` retries an
/// interrupted wait itself until its timeout, so the polling backend keeps waiting and only its
/// notify (or an event) ends the wait.
fn a_signal_during_a_wait_is_never_an_error(backend: Backend) {
    // SAFETY: installs a handler that does nothing, for a signal nothing else in this test binary
    // uses; `action` is fully initialised (zeroed, then the handler and an empty mask).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
    let source = source(backend);
    let returned = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (source, returned) = (source.clone(), returned.clone());
        std::thread::spawn(move || {
            let result = source.wait(None).map_err(|error| error.kind());
            returned.store(true, Ordering::SeqCst);
            result
        })
    };
    // SAFETY: the thread is joined only after the signals, so its pthread handle is live.
    let signal = || assert_eq!(unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) }, 0);
    if backend == Backend::Epoll {
        // Nothing but a signal can end that wait. A signal that lands before the wait starts is
        // handled and the wait blocks, so keep signalling until it returns.
        while !returned.load(Ordering::SeqCst) {
            signal();
            std::thread::yield_now();
        }
    } else {
        // Most of these land while the wait blocks; none may end it with an error.
        for _ in 0..1_000 {
            signal();
            std::thread::yield_now();
        }
        source.notify();
    }
    assert_eq!(waiter.join().unwrap(), Ok(0), "EINTR is an empty wait, not an error");
}

fn a_second_concurrent_wait_returns_at_once(backend: Backend) {
    let source = source(backend);
    let (started, waiting) = mpsc::channel();
    let blocked = {
        let source = source.clone();
        std::thread::spawn(move || {
            started.send(()).unwrap();
            source.wait(None)
        })
    };
    waiting.recv().unwrap();
    // A zero-timeout wait never blocks, even behind a wait already blocked on another thread
    // (if that one has not started yet, this one simply runs first).
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    source.notify();
    assert_eq!(blocked.join().unwrap().unwrap(), 0);
}
