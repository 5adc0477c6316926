//! Helpers shared by the signal tests: a watchdog, sending signals, reading dispositions.
//!
//! Every test binary shares its process's signals, so each test of a binary uses signals of its
//! own (the names in each test say which).

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::sync::mpsc;
use std::time::Duration;

use reactor_epoll::{Backend, Runtime};

/// How long a test may run before the watchdog fails it. Never reached when the test passes; it
/// turns a lost delivery into a failure instead of a hung test run.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `test` on a thread of its own, and fails if it panics or has not returned within
/// [`WATCHDOG`] (the thread is then left behind; the test binary exits without it).
pub fn run_bounded(name: &str, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            test();
            let _ = done.send(());
        })
        .unwrap();
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => thread.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().unwrap_err());
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name} hung: no result within {WATCHDOG:?}"),
    }
}

/// Sends `signal` to this process with kill(2), as another process would.
pub fn send(signal: i32) {
    // SAFETY: kill(2) with our own pid; every signal the tests send has a listener or a
    // handler installed by the test, or a default of "ignore".
    let result = unsafe { libc::kill(libc::getpid(), signal) };
    assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Sends `signal` with kill(2), retrying while the kernel's queue of real-time signals is full
/// (`EAGAIN`), so that this one is sure to be sent.
pub fn send_surely(signal: i32) {
    loop {
        // SAFETY: as in `send`.
        if unsafe { libc::kill(libc::getpid(), signal) } == 0 {
            return;
        }
        let error = std::io::Error::last_os_error();
        assert_eq!(error.raw_os_error(), Some(libc::EAGAIN), "kill: {error}");
        std::thread::yield_now();
    }
}

/// The real-time signal `SIGRTMIN + offset`.
#[cfg(target_os = "linux")]
pub fn realtime(offset: i32) -> i32 {
    libc::SIGRTMIN() + offset
}

/// The handler address (`sa_sigaction`) of `signal`'s disposition now: `SIG_DFL`, `SIG_IGN`, or
/// a function.
pub fn disposition(signal: i32) -> libc::sighandler_t {
    // SAFETY: zeroed, then filled in by sigaction.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries.
    let result = unsafe { libc::sigaction(signal, std::ptr::null(), &mut action) };
    assert_eq!(result, 0);
    action.sa_sigaction
}

/// A runtime of two workers on `backend`.
pub fn runtime(backend: Backend) -> Runtime {
    Runtime::builder().backend(backend).worker_threads(2).build().unwrap()
}

/// Every backend a runtime can be built on, here.
pub const BACKENDS: [Backend; 3] = [Backend::Epoll, Backend::Polling, Backend::PollingOneshot];

/// Waits (bounded by the watchdog) until no instance of `signal` is queued for the process
/// (`ShdPnd` in `/proc/self/status`; `sigpending` would not do: it reports only blocked
/// signals): every one sent so far has been taken by a thread, with the handler installed then,
/// so restoring a default disposition of "terminate" cannot meet one still queued.
#[cfg(target_os = "linux")]
pub fn wait_until_not_pending(signal: i32) {
    loop {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|line| line.starts_with("ShdPnd:")).unwrap();
        let mask = u64::from_str_radix(line["ShdPnd:".len()..].trim(), 16).unwrap();
        if mask & (1 << (signal - 1)) == 0 {
            return;
        }
        std::thread::yield_now();
    }
}
