//! Real signals, sent with kill(2), delivered to listeners on real runtimes.
//!
//! The tests of this binary share one process: each uses signals no other test here uses
//! (named in its doc line).

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::Poll;

use common::{disposition, run_bounded, runtime, send, BACKENDS};
#[cfg(target_os = "linux")]
use common::{realtime, send_surely, wait_until_not_pending};
use futures_lite::future::poll_once;
use futures_lite::StreamExt;
use reactor_epoll::signal::Signals;
use reactor_epoll::Backend;

/// SIGUSR1: on each backend in turn (epoll, portable edge-triggered, portable one-shot).
#[test]
fn a_listener_sees_a_signal_sent_with_kill_on_every_backend() {
    run_bounded("kill_on_every_backend", || {
        for backend in BACKENDS {
            let runtime = runtime(backend);
            let received = runtime.block_on(async {
                let mut signals = Signals::new(&[libc::SIGUSR1])?;
                send(libc::SIGUSR1);
                signals.recv().await
            });
            assert_eq!(received.unwrap(), libc::SIGUSR1, "on {backend:?}");
        }
    });
}

/// SIGUSR2: three listeners, two in one task and one in another, all see one delivery.
#[test]
fn several_listeners_of_one_signal_each_see_a_delivery() {
    run_bounded("several_listeners", || {
        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let mut first = Signals::new(&[libc::SIGUSR2]).unwrap();
            let mut second = Signals::new(&[libc::SIGUSR2]).unwrap();
            let mut third = Signals::new(&[libc::SIGUSR2]).unwrap();
            let other_task = reactor_epoll::spawn(async move { third.recv().await });
            send(libc::SIGUSR2);
            assert_eq!(first.recv().await.unwrap(), libc::SIGUSR2);
            assert_eq!(second.next().await.unwrap().unwrap(), libc::SIGUSR2);
            assert_eq!(other_task.await.unwrap().unwrap(), libc::SIGUSR2);
        });
    });
}

/// SIGWINCH: a listener on each of two runtimes; one delivery reaches both, whichever runtime's
/// loop reads the pipe.
#[test]
fn listeners_on_two_runtimes_both_see_one_delivery() {
    run_bounded("two_runtimes", || {
        let ready = Arc::new(Barrier::new(3));
        let listeners: Vec<_> = (0..2)
            .map(|_| {
                let ready = ready.clone();
                std::thread::spawn(move || {
                    let runtime = runtime(Backend::Epoll);
                    runtime.block_on(async {
                        let mut signals = Signals::new(&[libc::SIGWINCH]).unwrap();
                        ready.wait();
                        signals.recv().await.unwrap()
                    })
                })
            })
            .collect();
        ready.wait();
        send(libc::SIGWINCH);
        for listener in listeners {
            assert_eq!(listener.join().unwrap(), libc::SIGWINCH);
        }
    });
}

static URG_HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_urg(_signal: libc::c_int) {
    URG_HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Waits (bounded by the watchdog) until the user's SIGURG handler has run `count` times.
fn wait_for_urg_handled(count: usize) {
    while URG_HANDLED.load(Ordering::SeqCst) < count {
        std::thread::yield_now();
    }
}

/// SIGURG: a handler the program installed before listening still runs on each delivery, and
/// is the disposition again once the listener is gone.
#[test]
fn a_handler_installed_before_listening_still_runs_and_is_restored() {
    run_bounded("chaining", || {
        let user_handler = count_urg as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installs a handler that only does an atomic increment.
        let previous = unsafe { libc::signal(libc::SIGURG, user_handler) };
        assert_ne!(previous, libc::SIG_ERR);

        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let mut signals = Signals::new(&[libc::SIGURG]).unwrap();
            assert_ne!(disposition(libc::SIGURG), user_handler, "ours is installed");
            send(libc::SIGURG);
            assert_eq!(signals.recv().await.unwrap(), libc::SIGURG);
        });
        wait_for_urg_handled(1);

        assert_eq!(disposition(libc::SIGURG), user_handler, "the user's handler is restored");
        send(libc::SIGURG);
        wait_for_urg_handled(2);
    });
}

static ALRM_SEEN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn record_alrm(signal: libc::c_int, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler, and ours passes it on.
    let signo = unsafe { (*info).si_signo };
    if signo == signal {
        ALRM_SEEN.fetch_add(1, Ordering::SeqCst);
    }
}

/// SIGALRM: a previous handler installed with `SA_SIGINFO` is called with the delivery's
/// siginfo, and is the disposition again once the listener is gone (so the signal never meets
/// its default, which would end the process).
#[test]
fn a_previous_siginfo_handler_gets_the_siginfo_of_each_delivery() {
    run_bounded("chaining_siginfo", || {
        let user_handler = record_alrm as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as libc::sighandler_t;
        // SAFETY: zeroed, then filled in; the handler only reads its siginfo and counts.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = user_handler;
        action.sa_flags = libc::SA_SIGINFO;
        // SAFETY: a valid action; the old one is not needed.
        assert_eq!(unsafe { libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) }, 0);

        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let mut signals = Signals::new(&[libc::SIGALRM]).unwrap();
            send(libc::SIGALRM);
            assert_eq!(signals.recv().await.unwrap(), libc::SIGALRM);
        });
        while ALRM_SEEN.load(Ordering::SeqCst) < 1 {
            std::thread::yield_now();
        }
        assert_eq!(disposition(libc::SIGALRM), user_handler);
    });
}

extern "C" fn ignore_vtalrm(_signal: libc::c_int) {}

/// SIGVTALRM: a handler the program installs while a listener exists replaces ours, and the
/// last listener's drop keeps it rather than restoring what came before.
#[test]
fn a_handler_installed_after_ours_is_kept_when_the_last_listener_goes() {
    run_bounded("replaced", || {
        let user_handler = ignore_vtalrm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        let runtime = runtime(Backend::Epoll);
        let listening = Signals::with_source(&[libc::SIGVTALRM], runtime.io()).unwrap();
        // SAFETY: installs a handler that does nothing.
        assert_ne!(unsafe { libc::signal(libc::SIGVTALRM, user_handler) }, libc::SIG_ERR);
        drop(listening);
        assert_eq!(disposition(libc::SIGVTALRM), user_handler);
        // SAFETY: back to the default, which nothing in this test sends.
        unsafe { libc::signal(libc::SIGVTALRM, libc::SIG_DFL) };
    });
}

/// SIGTTIN (default: stop) and SIGPIPE (ignored by Rust programs): the disposition found is the
/// one restored when the last listener goes, and not before.
#[test]
fn the_last_listener_dropped_restores_the_previous_disposition() {
    run_bounded("restore", || {
        assert_eq!(disposition(libc::SIGTTIN), libc::SIG_DFL);
        assert_eq!(disposition(libc::SIGPIPE), libc::SIG_IGN);
        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let first = Signals::new(&[libc::SIGTTIN, libc::SIGPIPE]).unwrap();
            let second = Signals::new(&[libc::SIGTTIN]).unwrap();
            assert_ne!(disposition(libc::SIGTTIN), libc::SIG_DFL);
            assert_ne!(disposition(libc::SIGPIPE), libc::SIG_IGN);
            drop(first);
            assert_ne!(disposition(libc::SIGTTIN), libc::SIG_DFL, "a listener is left");
            assert_eq!(disposition(libc::SIGPIPE), libc::SIG_IGN);
            drop(second);
            assert_eq!(disposition(libc::SIGTTIN), libc::SIG_DFL);
        });
    });
}

/// SIGHUP: a listener made outside any task, on a runtime's I/O backend, sees a delivery made
/// before it is first polled; and a `recv` dropped before completing loses nothing.
#[test]
fn a_listener_made_with_with_source_sees_a_delivery_before_its_first_poll() {
    run_bounded("with_source", || {
        let runtime = runtime(Backend::Epoll);
        let mut signals = Signals::with_source(&[libc::SIGHUP], runtime.io()).unwrap();
        runtime.block_on(async {
            // Polled once and dropped while nothing was delivered: cancel-safe.
            assert!(poll_once(signals.recv()).await.is_none());
        });
        send(libc::SIGHUP);
        assert_eq!(runtime.block_on(signals.recv()).unwrap(), libc::SIGHUP);
    });
}

#[cfg(target_os = "linux")]
/// SIGRTMIN+3 and SIGRTMIN+4: a listener of two signals sees each.
#[test]
fn a_listener_of_two_signals_sees_each() {
    run_bounded("two_signals", || {
        let (a, b) = (realtime(3), realtime(4));
        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let mut signals = Signals::new(&[b, a, b]).unwrap();
            assert_eq!(signals.signals().collect::<Vec<_>>(), [a, b], "sorted, duplicates once");
            send(a);
            send(b);
            let mut seen = [signals.recv().await.unwrap(), signals.recv().await.unwrap()];
            seen.sort_unstable();
            assert_eq!(seen, [a, b]);
        });
    });
}

#[cfg(target_os = "linux")]
/// Receives from `signals` until a `recv` completes with `stop` raised: once `stop` is raised
/// and one more signal is sent, a `recv` completes after it unless that delivery is lost (a
/// `recv` that took it sees `stop`, since the delivery came after it). Returns how many `recv`s
/// completed.
async fn receive_until_stopped(signals: &mut Signals, stop: &AtomicBool) -> usize {
    let mut received = 0;
    loop {
        signals.recv().await.unwrap();
        received += 1;
        if stop.load(Ordering::SeqCst) {
            return received;
        }
    }
}

#[cfg(target_os = "linux")]
/// SIGRTMIN+1: 10,000 kills from another thread while a listener receives; then `stop` is
/// raised and one more is sent, which must still complete a `recv` (no hang, and the pipe and
/// flags are not left stuck by the storm). Real-time signals queue in the kernel (up to its
/// limit), so most of the 10,000 run the handler, and its writes fill the pipe.
#[test]
fn a_signal_storm_neither_hangs_nor_loses_the_delivery_after_it() {
    run_bounded("storm", || {
        let signal = realtime(1);
        let runtime = runtime(Backend::Epoll);
        let stop = Arc::new(AtomicBool::new(false));
        let mut signals = Signals::with_source(&[signal], runtime.io()).unwrap();
        let receiver = {
            let stop = stop.clone();
            runtime.spawn(async move {
                let received = receive_until_stopped(&mut signals, &stop).await;
                (signals, received)
            })
        };
        let storm = std::thread::spawn(move || {
            for _ in 0..10_000 {
                // SAFETY: kill(2) with our own pid and a signal with a listener; a full queue
                // (EAGAIN) only drops this instance, which the test allows.
                unsafe { libc::kill(libc::getpid(), signal) };
            }
        });
        storm.join().unwrap();
        // The flag the receiver checks after each `recv`, then the delivery that must not be
        // lost: the `recv` that takes it sees the flag and ends the loop.
        let stop_for_final = stop.clone();
        let (signals, received) = runtime.block_on(async move {
            stop_for_final.store(true, Ordering::SeqCst);
            send_surely(signal);
            receiver.await.unwrap()
        });
        assert!(received >= 1);
        println!("the storm of 10,000 kills completed {received} recv calls");
        // The default disposition of a real-time signal ends the process: restore it only once
        // none is left queued.
        wait_until_not_pending(signal);
        drop(signals);
        assert_eq!(disposition(signal), libc::SIG_DFL);
    });
}

#[cfg(target_os = "linux")]
/// SIGRTMIN+2: one of two listeners is dropped while signals are being sent (after seeing one,
/// and while its `recv` is registered); the other keeps receiving, then is dropped last, which
/// restores the default disposition.
#[test]
fn dropping_a_listener_while_signals_are_in_flight_leaves_the_others_receiving() {
    run_bounded("drop_in_flight", || {
        let signal = realtime(2);
        let runtime = runtime(Backend::Epoll);
        let stop = Arc::new(AtomicBool::new(false));
        runtime.block_on(async {
            let mut dropped = Signals::new(&[signal]).unwrap();
            let mut kept = Signals::new(&[signal]).unwrap();
            let sender = std::thread::spawn(|| {
                for _ in 0..1_000 {
                    send_surely(realtime(2));
                }
            });
            assert_eq!(dropped.recv().await.unwrap(), signal);
            {
                let mut pending = pin!(dropped.recv());
                // Registered (or completed at once); dropped either way while kills go on.
                let _ = std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await;
            }
            drop(dropped);
            sender.join().unwrap();
            stop.store(true, Ordering::SeqCst);
            send_surely(signal);
            assert!(receive_until_stopped(&mut kept, &stop).await >= 1);
            // The default disposition of a real-time signal ends the process: restore it only
            // once none is left queued.
            wait_until_not_pending(signal);
            drop(kept);
        });
        assert_eq!(disposition(signal), libc::SIG_DFL);
    });
}
