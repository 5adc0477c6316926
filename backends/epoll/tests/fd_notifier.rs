//! `FdNotifier` against the real kernel, polled the way a user's blocking source polls it: with
//! `poll(2)`, level-triggered, next to an fd of the source's own. Every poll has a timeout that
//! fails the test instead of hanging, and no test asserts on how long anything took.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use reactor_epoll::FdNotifier;

/// How long a poll that must end waits before the test fails (milliseconds).
const PATIENCE_MS: i32 = 10_000;

/// Polls `fds` for readability for at most `timeout_ms`; returns which are readable.
fn poll<const N: usize>(fds: [BorrowedFd<'_>; N], timeout_ms: i32) -> [bool; N] {
    let mut fds = fds.map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
    // SAFETY: `fds` is an array of `N` initialised pollfds, alive for the call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), N as libc::nfds_t, timeout_ms) };
    assert!(ready >= 0, "poll failed: {}", io::Error::last_os_error());
    fds.map(|fd| fd.revents != 0)
}

/// Whether `notifier`'s fd is readable right now (a poll that does not block).
fn is_readable(notifier: &FdNotifier) -> bool {
    poll([notifier.as_fd()], 0)[0]
}

#[test]
fn a_notify_before_the_poll_ends_it_and_repeated_notifies_coalesce() {
    let notifier = FdNotifier::new().unwrap();
    assert!(!notifier.after_wait().unwrap(), "nothing to answer before any notify");
    notifier.notify();
    notifier.notify();
    notifier.notify();
    assert_eq!(poll([notifier.as_fd()], PATIENCE_MS), [true], "the notify before the poll was lost");
    assert!(notifier.after_wait().unwrap());
    // All three were answered at once, and the fd is quiet again: no busy loop.
    assert!(!is_readable(&notifier), "the fd stays readable after the answer");
    assert!(!notifier.after_wait().unwrap());
    notifier.notify();
    assert!(is_readable(&notifier), "a notify after the answer writes again");
    assert!(notifier.after_wait().unwrap());
}

#[test]
fn notify_from_another_thread_ends_a_blocked_poll() {
    let notifier = Arc::new(FdNotifier::new().unwrap());
    for _ in 0..200 {
        let barrier = Arc::new(Barrier::new(2));
        let other = {
            let (notifier, barrier) = (notifier.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                notifier.notify();
            })
        };
        barrier.wait();
        // Whether the notify lands before the poll blocks or while it does, the poll returns.
        assert_eq!(poll([notifier.as_fd()], PATIENCE_MS), [true], "the notify was lost");
        assert!(notifier.after_wait().unwrap());
        other.join().unwrap();
        assert!(!is_readable(&notifier));
    }
}

/// A source's wait loop: polls its own socket and the notifier, answers after every poll, reads
/// its socket, and checks `done`; fails if a poll meant to end does not.
fn wait_until(notifier: &FdNotifier, own: &UnixStream, done: impl Fn() -> bool) {
    let mut buffer = [0; 64];
    while !done() {
        let [own_ready, notified] = poll([own.as_fd(), notifier.as_fd()], PATIENCE_MS);
        assert!(own_ready || notified, "a poll was left waiting: a notify was lost");
        notifier.after_wait().unwrap();
        if own_ready {
            let _ = (&*own).read(&mut buffer);
        }
    }
}

#[test]
fn many_notifiers_racing_with_polls_ended_by_the_sources_own_fd_lose_nothing() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 2_000;
    let notifier = Arc::new(FdNotifier::new().unwrap());
    let (own, mut peer) = UnixStream::pair().unwrap();
    own.set_nonblocking(true).unwrap();
    let published = Arc::new(AtomicUsize::new(0));
    let handled = Arc::new(AtomicUsize::new(0));
    let notifiers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (notifier, published, handled) = (notifier.clone(), published.clone(), handled.clone());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    // Relaxed: the notifier's handshake is what must order it before the
                    // waiter's re-check, which is the property under test.
                    let mine = published.fetch_add(1, Ordering::Relaxed) + 1;
                    notifier.notify();
                    // Wait (spinning) until the waiter saw at least this much, so that every
                    // round needs a notify that is not lost.
                    while handled.load(Ordering::Acquire) < mine {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    // The source's own fd fires too, so some polls end for it while a notify is in flight.
    let writer = thread::spawn(move || {
        for _ in 0..200 {
            let _ = peer.write_all(b"x");
            thread::yield_now();
        }
    });
    let total = THREADS * ROUNDS;
    let mut seen = 0;
    while seen < total {
        wait_until(&notifier, &own, || published.load(Ordering::Relaxed) > seen);
        seen = published.load(Ordering::Relaxed);
        handled.store(seen, Ordering::Release);
    }
    notifiers.into_iter().for_each(|thread| thread.join().unwrap());
    writer.join().unwrap();
    notifier.after_wait().unwrap();
    assert!(!is_readable(&notifier), "the fd is left readable with nothing pending");
}

#[test]
fn free_running_notifiers_never_leave_a_poll_without_a_wake_up() {
    const THREADS: usize = 2;
    const NOTIFIES: usize = 1_000_000;
    let notifier = Arc::new(FdNotifier::new().unwrap());
    let published = Arc::new(AtomicUsize::new(0));
    let notifiers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (notifier, published) = (notifier.clone(), published.clone());
            thread::spawn(move || {
                for _ in 0..NOTIFIES {
                    // Relaxed: only the handshake orders it before the waiter's re-check.
                    published.fetch_add(1, Ordering::Relaxed);
                    notifier.notify();
                }
            })
        })
        .collect();
    // The waiter answers as fast as it can, so that notifies keep landing between its read of
    // the eventfd and its clearing of the flag.
    while published.load(Ordering::Relaxed) < THREADS * NOTIFIES {
        assert_eq!(
            poll([notifier.as_fd()], PATIENCE_MS),
            [true],
            "a poll was left waiting: a notify was lost"
        );
        notifier.after_wait().unwrap();
    }
    notifiers.into_iter().for_each(|thread| thread.join().unwrap());
    // Settled: answer what is left, then the fd is quiet and a fresh notify still ends a poll.
    notifier.after_wait().unwrap();
    assert!(!is_readable(&notifier), "the fd is left readable with nothing pending");
    notifier.notify();
    assert_eq!(poll([notifier.as_fd()], PATIENCE_MS), [true], "a notify after the race was lost");
}
