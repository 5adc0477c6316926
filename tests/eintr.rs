//! A signal delivered to a thread blocked in the epoll wait: the wait returns `Ok(0)` (a spurious
//! return the executor simply repeats), not an error.

use std::os::unix::thread::JoinHandleExt;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use reactor::EventSource;
use reactor_epoll::Epoll;

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a handler for SIGUSR1 that does nothing, so the signal interrupts a system call
/// instead of killing the process.
fn install_handler() {
    // SAFETY: a zeroed `sigaction` is a valid empty action (no flags, empty mask); the handler
    // is an `extern "C" fn(c_int)` that touches nothing, so it is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
}

#[test]
fn a_signal_during_the_epoll_wait_is_a_spurious_return_not_an_error() {
    install_handler();
    let epoll = Epoll::new().unwrap();
    let (result_tx, result) = mpsc::channel();
    let (exit_tx, exit) = mpsc::channel::<()>();
    let waiter = {
        let epoll = epoll.clone();
        thread::spawn(move || {
            // No timeout and nobody notifies: only the signal can end this wait.
            result_tx.send(epoll.wait(None).map_err(|error| error.to_string())).unwrap();
            // Stay alive (and signallable) until the main thread stops signalling.
            exit.recv().unwrap();
        })
    };
    // The first signal may arrive before the thread blocks; repeat until one interrupts it.
    let outcome = loop {
        // SAFETY: the waiter thread is alive until `exit_tx` sends, which happens below.
        assert_eq!(unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) }, 0);
        match result.recv_timeout(Duration::from_millis(10)) {
            Ok(outcome) => break outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the waiter thread died"),
        }
    };
    exit_tx.send(()).unwrap();
    waiter.join().unwrap();
    assert_eq!(outcome, Ok(0));
}
