//! Signals delivered to a worker blocked in the epoll wait, inside an executor: each interrupted
//! wait is a spurious return the worker repeats, never an error for the source-error hook, and
//! the worker keeps running tasks. (`backends/epoll/tests/source.rs` checks the bare
//! `Epoll::wait` returning `Ok(0)` for `EINTR`; this checks what the executor makes of it.)

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use reactor::{Builder, EventSource, Executor, OnSourceError};
use reactor_epoll::Epoll;

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a handler for SIGUSR1 that does nothing, so the signal interrupts a system call
/// instead of killing the process.
fn install_handler() {
    // SAFETY: installs a handler that does nothing, for a signal nothing else in this test binary
    // uses; `action` is fully initialised (zeroed, then the handler and an empty mask).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
}

/// Epoll, counting how often its wait returns.
struct CountingReturns {
    epoll: Epoll,
    returns: AtomicUsize,
}

impl EventSource for CountingReturns {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let result = self.epoll.wait(timeout);
        self.returns.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn notify(&self) {
        self.epoll.notify();
    }
}

#[test]
fn signals_to_a_worker_blocked_in_epoll_are_not_errors_and_it_keeps_working() {
    install_handler();
    let (thread_tx, worker_thread) = mpsc::channel();
    let (errors_tx, errors) = mpsc::channel();
    let source = CountingReturns { epoll: Epoll::new().unwrap(), returns: AtomicUsize::new(0) };
    let executor: Executor<CountingReturns> = Builder::new()
        .worker_threads(1)
        // SAFETY: `pthread_self` has no preconditions.
        .on_thread_start(move || thread_tx.send(unsafe { libc::pthread_self() }).unwrap())
        .on_source_error(move |failure| {
            errors_tx.send(failure.error().to_string()).unwrap();
            OnSourceError::Continue
        })
        .build(source)
        .unwrap();
    let worker = worker_thread.recv().unwrap();
    // The idle worker blocks in the wait with nothing registered and nobody notifying it, so it
    // returns only when a signal interrupts it; a signal landing outside the wait is handled
    // and the wait blocks, so keep signalling until it has returned several times.
    let before = executor.source().returns.load(Ordering::SeqCst);
    while executor.source().returns.load(Ordering::SeqCst) < before + 3 {
        // SAFETY: the worker thread lives until the executor drops, after this loop.
        assert_eq!(unsafe { libc::pthread_kill(worker, libc::SIGUSR1) }, 0);
        std::thread::yield_now();
    }
    let task = executor.spawn(async { 42 });
    assert_eq!(executor.block_on(task).unwrap(), 42);
    assert_eq!(errors.try_recv(), Err(mpsc::TryRecvError::Empty), "an interrupted wait is not an error");
}
