//! Running a source's code on a thread of its own with a watchdog, so that a source that blocks
//! for ever is reported instead of hanging the suite.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How often a rescue nudges a stuck thread.
const NUDGE_EVERY: Duration = Duration::from_millis(10);

/// How a bounded run ended.
pub(crate) enum Ended<T> {
    /// `f` returned in time.
    Returned(T),
    /// `f` panicked (or its thread could not be spawned): the message.
    Panicked(String),
    /// `f` was still running when the bound passed.
    TimedOut(Running<T>),
}

/// A thread that outlived its bound.
pub(crate) struct Running<T> {
    result: mpsc::Receiver<thread::Result<T>>,
    handle: JoinHandle<()>,
}

impl<T> Running<T> {
    /// Calls `nudge` (a notify, typically) every few milliseconds, on a thread of its own, until
    /// the thread ends or `patience` passes; returns whether it ended. A thread that does not end
    /// is left behind, and so is a nudge that blocks: the suite never hangs on a broken source.
    pub(crate) fn rescue(self, patience: Duration, nudge: impl Fn() + Send + 'static) -> bool {
        let _nudging = nudging(nudge);
        match self.result.recv_timeout(patience) {
            Ok(_) | Err(RecvTimeoutError::Disconnected) => {
                let _ = self.handle.join();
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
        }
    }
}

/// Calls `nudge` every few milliseconds on a thread of its own until the returned guard is
/// dropped (the thread is not waited for: a nudge that blocks for ever is left behind).
pub(crate) fn nudging(nudge: impl Fn() + Send + 'static) -> Nudging {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let _ = thread::Builder::new().name("conformance: nudge".into()).spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            nudge();
            thread::sleep(NUDGE_EVERY);
        }
    });
    Nudging(stop)
}

/// Stops the nudges of [`nudging`] when dropped.
pub(crate) struct Nudging(Arc<AtomicBool>);

impl Drop for Nudging {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `f` on a new thread named `name` and waits at most `bound` for it.
pub(crate) fn run<T: Send + 'static>(
    name: &str,
    bound: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Ended<T> {
    match start(name, f) {
        Ok(running) => running.finish(bound),
        Err(error) => Ended::Panicked(error),
    }
}

/// Starts `f` on a new thread named `name`; [`Running::finish`] waits for it.
///
/// # Errors
///
/// The thread could not be spawned.
pub(crate) fn start<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Running<T>, String> {
    let (sender, result) = mpsc::channel();
    let spawned = thread::Builder::new().name(format!("conformance: {name}")).spawn(move || {
        let _ = sender.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match spawned {
        Ok(handle) => Ok(Running { result, handle }),
        Err(error) => Err(format!("could not spawn a thread: {error}")),
    }
}

impl<T> Running<T> {
    /// Waits at most `bound` for the thread to end.
    pub(crate) fn finish(self, bound: Duration) -> Ended<T> {
        match self.result.recv_timeout(bound) {
            Ok(Ok(value)) => {
                let _ = self.handle.join();
                Ended::Returned(value)
            }
            Ok(Err(payload)) => {
                let _ = self.handle.join();
                Ended::Panicked(panic_message(&*payload))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Ended::Panicked("the thread ended without a result".into())
            }
            Err(RecvTimeoutError::Timeout) => Ended::TimedOut(self),
        }
    }
}

/// The message of a panic payload, for a report.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        format!("panicked: {message}")
    } else if let Some(message) = payload.downcast_ref::<String>() {
        format!("panicked: {message}")
    } else {
        "panicked".into()
    }
}

/// What the suite says about a thread it gave up on after a rescue.
pub(crate) fn rescue_note(rescued: bool) -> &'static str {
    if rescued {
        "a notify from the suite then ended it"
    } else {
        "not even repeated notifies ended it; its thread is left behind"
    }
}
