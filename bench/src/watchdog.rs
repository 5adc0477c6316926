//! Turns a hung run (a lost wake-up, a deadlocked runtime) into a loud failure instead of a
//! benchmark, or a CI job, that never ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest one run of one workload on one peer may take; the slowest full-size run takes
/// well under a second.
const LIMIT: Duration = Duration::from_secs(120);

/// The watchdog thread's name.
const THREAD_NAME: &str = "bench-watchdog";

/// Watches the run in progress from a thread of its own; exits the process with a failure if
/// one run outlasts [`LIMIT`].
#[derive(Debug)]
pub(crate) struct Watchdog {
    current: Arc<Mutex<Option<(String, Instant)>>>,
}

impl Watchdog {
    /// Starts the watching thread.
    pub(crate) fn start() -> Self {
        let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::default();
        let watched = current.clone();
        // Named, so that `bench/syscalls.sh` can leave its sleeps out of a server's syscalls.
        std::thread::Builder::new()
            .name(THREAD_NAME.to_string())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_secs(1));
                if let Some((run, started)) = watched.lock().expect("watchdog lock").as_ref() {
                    if started.elapsed() > LIMIT {
                        eprintln!(
                            "reactor-bench: FAILED: {run} still running after {} s: hung",
                            LIMIT.as_secs()
                        );
                        std::process::exit(1);
                    }
                }
            })
            .expect("spawning the watchdog thread");
        Self { current }
    }

    /// Runs `f`, named `run` in the failure message should it hang.
    pub(crate) fn watch<T>(&self, run: String, f: impl FnOnce() -> T) -> T {
        *self.current.lock().expect("watchdog lock") = Some((run, Instant::now()));
        let output = f();
        *self.current.lock().expect("watchdog lock") = None;
        output
    }
}
