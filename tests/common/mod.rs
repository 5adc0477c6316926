//! Helpers shared by the integration tests: a future another thread releases, and a value that
//! counts its drops.
#![allow(dead_code)] // each test file uses its own subset

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A future that stays pending until `Gate::open`, from any thread.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    state: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Gate {
    pub(crate) fn open(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn wait(&self) -> GateWait {
        GateWait { gate: self.clone() }
    }
}

pub(crate) struct GateWait {
    gate: Gate,
}

impl Future for GateWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.gate.state.lock().unwrap();
        if state.0 {
            return Poll::Ready(());
        }
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Counts its drops.
pub(crate) struct DropCounter(pub(crate) Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// How long a scenario may take before it counts as hung. Generous: these machines are shared.
pub(crate) const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `scenario` on a thread and fails with `what` if it has not finished within [`WATCHDOG`];
/// a panic of the scenario fails the caller with the same payload.
#[allow(dead_code)] // not every test binary uses it
pub(crate) fn within_watchdog(what: &str, scenario: impl FnOnce() + Send + 'static) {
    use std::sync::mpsc;
    let (done_tx, done) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        scenario();
        let _ = done_tx.send(());
    });
    match done.recv_timeout(WATCHDOG) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = runner.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for {WATCHDOG:?}: {what}"),
    }
}
