//! Signals that cannot be listened to, and listeners made where there is no I/O backend.

mod common;

use std::io;

use common::{run_bounded, runtime};
use reactor_epoll::signal::Signals;
use reactor_epoll::Backend;

/// The error of listening to `signals` inside a runtime's task.
fn refusal(signals: &'static [i32]) -> io::Error {
    let runtime = runtime(Backend::Epoll);
    runtime.block_on(async { Signals::new(signals).unwrap_err() })
}

#[test]
fn signals_that_cannot_be_caught_or_answered_are_refused_with_invalid_input_naming_them() {
    run_bounded("uncatchable", || {
        for (signals, named) in [
            (&[libc::SIGKILL][..], "9 (SIGKILL)"),
            (&[libc::SIGUSR1, libc::SIGSTOP][..], "(SIGSTOP)"),
            (&[libc::SIGSEGV][..], "(SIGSEGV)"),
            (&[libc::SIGBUS][..], "(SIGBUS)"),
            (&[libc::SIGILL][..], "(SIGILL)"),
            (&[libc::SIGFPE][..], "(SIGFPE)"),
        ] {
            let error = refusal(signals);
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{signals:?}: {error}");
            assert!(error.to_string().contains(named), "{error}");
        }
    });
}

#[test]
fn zero_negative_out_of_range_and_reserved_numbers_are_refused_with_invalid_input() {
    run_bounded("out_of_range", || {
        for (signals, named) in [
            (&[0][..], "signal 0:"),
            (&[-2][..], "signal -2:"),
            (&[65][..], "signal 65:"),
            (&[1000][..], "signal 1000:"),
            (&[i32::MIN][..], "signal -2147483648:"),
            // glibc keeps 32 and 33 for its threads; SIGRTMIN is above them.
            (&[32][..], "signal 32:"),
        ] {
            let error = refusal(signals);
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{signals:?}: {error}");
            assert!(error.to_string().contains(named), "{error}");
        }
        let error = refusal(&[]);
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("empty"), "{error}");
    });
}

#[test]
fn a_refused_list_installs_nothing() {
    run_bounded("refused_list", || {
        // SIGUSR2 is valid, SIGKILL is not: the whole list is refused before anything is
        // installed, so SIGUSR2 keeps its default disposition.
        let error = refusal(&[libc::SIGUSR2, libc::SIGKILL]);
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(common::disposition(libc::SIGUSR2), libc::SIG_DFL);
    });
}

#[test]
fn a_listener_outside_an_executor_fails_with_not_found() {
    run_bounded("outside", || {
        let error = Signals::new(&[libc::SIGUSR1]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound, "{error}");
        let error = futures_lite::future::block_on(reactor_epoll::signal::ctrl_c()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound, "{error}");
        // Bad input is reported first, wherever the listener is made.
        let error = Signals::new(&[libc::SIGKILL]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
        assert_eq!(common::disposition(libc::SIGUSR1), libc::SIG_DFL);
        assert_eq!(common::disposition(libc::SIGINT), libc::SIG_DFL);
    });
}

/// The futures and the listener can move between a runtime's workers.
#[test]
fn the_listener_and_its_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    send(&reactor_epoll::signal::ctrl_c());
    fn send_type<T: Send + Sync>() {}
    send_type::<Signals>();
}
