//! What the integration tests share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A value that counts its drops in a shared counter, to check that messages are dropped
/// exactly once.
#[derive(Debug)]
pub(crate) struct DropCounter(pub(crate) Arc<AtomicUsize>);

impl DropCounter {
    /// How many values sharing `drops` were dropped.
    pub(crate) fn count(drops: &AtomicUsize) -> usize {
        drops.load(Ordering::SeqCst)
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs `f` on its own thread and fails the test if it has not finished within 30 s (a lost
/// wake-up shows as this failure instead of a hung test run).
// Each test file compiles this module on its own; not all of them use this helper.
#[allow(dead_code)]
pub(crate) fn within_30s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || done_tx.send(f()).unwrap());
    match done_rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(result) => {
            runner.join().unwrap();
            result
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(runner.join().unwrap_err());
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within 30 s"),
    }
}
