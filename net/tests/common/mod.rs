//! Helpers shared by the integration tests, and the harness that runs each I/O test on every
//! built-in backend.
//!
//! A test is written once, as a function of the [`Backend`] it runs on, and listed in
//! [`on_every_backend!`], which turns it into one `#[test]` per backend: `cargo test half_close`
//! runs it on all of them, and a failure names the backend
//! (`half_close_delivers_eof...::polling_oneshot`).

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Wake, Waker};
use std::time::Duration;

use reactor::io::AsIoHandle;
use reactor::{EventSource, Executor};
use reactor_epoll::Epoll;
use reactor_polling::{PollingSource, Triggering};

/// The built-in I/O backends, each of which runs every test listed in [`on_every_backend!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `reactor_epoll::Epoll`: edge-triggered, marks every hang-up (`EPOLLRDHUP`).
    Epoll,
    /// `PollingSource::new()`: `polling`'s edge-triggered epoll on Linux, no hang-up marking.
    Polling,
    /// `PollingSource::with_triggering(Triggering::Oneshot)`: one-shot registrations re-armed
    /// after each report and each `WouldBlock`, the path of event ports and `poll(2)`.
    PollingOneshot,
    /// `reactor_uring::Uring`: multishot polls in an io_uring, marks every hang-up (`POLLRDHUP`).
    IoUring,
}

/// Every backend's source as one type, so that a test is one function.
pub type Source = Arc<dyn EventSource>;

impl Backend {
    /// A fresh source of this backend.
    pub fn source(self) -> Source {
        match self {
            Self::Epoll => Arc::new(Epoll::new().unwrap()),
            Self::Polling => {
                let polling = PollingSource::new().unwrap();
                assert_eq!(polling.triggering(), Triggering::Edge, "the default on Linux");
                Arc::new(polling)
            }
            Self::PollingOneshot => Arc::new(PollingSource::with_triggering(Triggering::Oneshot).unwrap()),
            // Fails where io_uring is disabled: the suite is meant to run on it here.
            Self::IoUring => {
                Arc::new(reactor_uring::Uring::new().expect("io_uring (set up a kernel that allows it)"))
            }
        }
    }

    /// The name of this backend's test in [`on_every_backend!`].
    pub fn name(self) -> &'static str {
        match self {
            Self::Epoll => "epoll",
            Self::Polling => "polling",
            Self::PollingOneshot => "polling_oneshot",
            Self::IoUring => "io_uring",
        }
    }

    /// An executor over a fresh source of this backend, one worker per core.
    pub fn executor(self) -> Executor<Source> {
        Executor::new(self.source()).unwrap()
    }
}

/// Number of fds registered with `source`'s I/O backend.
pub fn registrations(source: &(impl AsIoHandle + ?Sized)) -> usize {
    source.io_handle().expect("an I/O backend").source().registry().count()
}

/// How long one test may run on one backend before the watchdog fails it. Never reached when
/// the test passes; it turns a lost wake-up into a failure instead of a hung test run.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `test` on `backend` under the watchdog (see [`bounded`]).
pub fn run_bounded(name: &str, backend: Backend, test: fn(Backend)) {
    bounded(&format!("{name}::{}", backend.name()), move || test(backend));
}

/// Runs `test` on a thread of its own named `name`, and fails if it panics or has not returned
/// within [`WATCHDOG`] (the thread is then left behind; the test binary exits without it).
pub fn bounded(name: &str, test: impl FnOnce() + Send + 'static) {
    let (finished, finish) = mpsc::channel();
    let runner = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            // Unwind safety does not matter: the panic is only handed on, nothing is used after.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test));
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
/// name with one `#[test]` per [`Backend`], each run under the watchdog ([`run_bounded`]).
///
/// The functions stay ordinary items (formatted, linted); one left out of the list is dead code,
/// which the lints report. `test: polling_oneshot #[attribute]` puts an attribute on that
/// backend's run alone (an `#[ignore = "why"]` for a known failure of the re-armed path).
#[allow(unused_macros)] // user_backend.rs runs on its own backend alone
macro_rules! on_every_backend {
    ($($test:ident $(: polling_oneshot #[$oneshot:meta])?),+ $(,)?) => {$(
        mod $test {
            use $crate::common::{run_bounded, Backend};

            #[test]
            fn epoll() {
                run_bounded(stringify!($test), Backend::Epoll, super::$test);
            }

            #[test]
            fn polling() {
                run_bounded(stringify!($test), Backend::Polling, super::$test);
            }

            #[test]
            $(#[$oneshot])?
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
#[allow(unused_imports)]
pub(crate) use on_every_backend;

/// A waker target that counts its wakes; `Arc::strong_count` counts the live wakers.
#[derive(Default)]
pub struct CountingWaker {
    pub wakes: AtomicUsize,
}

impl CountingWaker {
    /// A new target and one waker for it.
    pub fn new() -> (Arc<Self>, Waker) {
        let target = Arc::new(Self::default());
        let waker = Waker::from(target.clone());
        (target, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Wakers alive for `target`, other than the test's own `Arc` and its one waker.
pub fn stored_wakers(target: &Arc<CountingWaker>) -> usize {
    Arc::strong_count(target) - 2
}
