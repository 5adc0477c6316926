//! The harness that runs each runtime test on every I/O backend a [`Runtime`] can be built on.
//!
//! A test is written once, as a function of the [`Backend`] it runs on, and listed in
//! [`on_every_backend!`], which turns it into one `#[test]` per backend: `cargo test manual_clock`
//! runs it on all of them, and a failure names the backend (`...::polling_oneshot`).

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::sync::{mpsc, Arc};
use std::time::Duration;

use reactor::EventSource;
use reactor_epoll::{Backend, Epoll, PollingSource, Runtime, RuntimeBuilder, Triggering};

/// The name of `backend`'s test in [`on_every_backend!`].
pub fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Epoll => "epoll",
        Backend::Polling => "polling",
        Backend::PollingOneshot => "polling_oneshot",
        Backend::IoUring => "io_uring",
        other => unreachable!("no test runs on {other:?}"),
    }
}

/// A fresh source of `backend`, bare (no runtime around it), as one type for every backend.
pub fn source(backend: Backend) -> Arc<dyn EventSource> {
    match backend {
        Backend::Epoll => Arc::new(Epoll::new().unwrap()),
        Backend::Polling => Arc::new(PollingSource::new().unwrap()),
        Backend::PollingOneshot => Arc::new(PollingSource::with_triggering(Triggering::Oneshot).unwrap()),
        Backend::IoUring => {
            Arc::new(reactor_epoll::Uring::new().expect("io_uring (set up a kernel that allows it)"))
        }
        other => unreachable!("no test runs on {other:?}"),
    }
}

/// A runtime builder on `backend`.
pub fn builder(backend: Backend) -> RuntimeBuilder {
    Runtime::builder().backend(backend)
}

/// Fails unless `runtime` runs on `backend`: a test on the polling backends must not pass on
/// epoll by mistake.
pub fn assert_runs_on(runtime: &Runtime, backend: Backend) {
    let triggering = runtime.polling().map(|polling| polling.triggering());
    let expected = match backend {
        Backend::Epoll | Backend::IoUring => None,
        Backend::Polling => Some(Triggering::Edge),
        _ => Some(Triggering::Oneshot),
    };
    assert_eq!(triggering, expected, "the runtime runs on {backend:?}");
    assert_eq!(runtime.epoll().is_some(), backend == Backend::Epoll);
    assert_eq!(runtime.uring().is_some(), backend == Backend::IoUring);
    assert_eq!(runtime.backend_choice().backend(), backend);
}

/// How long one test may run on one backend before the watchdog fails it. Never reached when
/// the test passes; it turns a lost wake-up into a failure instead of a hung test run.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `test` on `backend` on a thread of its own, and fails if it panics or has not returned
/// within [`WATCHDOG`] (the thread is then left behind; the test binary exits without it).
pub fn run_bounded(test_name: &str, backend: Backend, test: fn(Backend)) {
    let name = format!("{test_name}::{}", name(backend));
    let (finished, finish) = mpsc::channel();
    let runner = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(|| test(backend));
            let _ = finished.send(outcome);
        })
        .unwrap();
    match finish.recv_timeout(WATCHDOG) {
        Ok(Ok(())) => runner.join().unwrap(),
        // The panic was printed by the test's thread; fail this one with it.
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{name} did not finish within {WATCHDOG:?}: a lost wake-up or a hang"),
    }
}

/// Expands each listed test function (`fn name(backend: Backend)`) into a module of the same
/// name with one `#[test]` per backend, each run under the watchdog ([`run_bounded`]).
///
/// The functions stay ordinary items (formatted, linted); one left out of the list is dead code,
/// which the lints report.
macro_rules! on_every_backend {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            use reactor_epoll::Backend;
            use $crate::common::run_bounded;

            #[test]
            fn epoll() {
                run_bounded(stringify!($test), Backend::Epoll, super::$test);
            }

            #[test]
            fn polling() {
                run_bounded(stringify!($test), Backend::Polling, super::$test);
            }

            #[test]
            fn polling_oneshot() {
                run_bounded(stringify!($test), Backend::PollingOneshot, super::$test);
            }

            #[test]
            fn io_uring() {
                run_bounded(stringify!($test), Backend::IoUring, super::$test);
            }
        }
    )+};
}
pub(crate) use on_every_backend;
