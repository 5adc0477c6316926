//! The helpers of the kit (see the crate docs); compiled only in the model build.

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `model` under loom, exploring every interleaving within the preemption bound
/// (`LOOM_MAX_PREEMPTIONS`, default [`DEFAULT_PREEMPTIONS`]).
///
/// Everything from `reactor::sync` (and every `reactor` executor or source) must be created
/// inside `model`; loom runs it once per interleaving, so it must set up its whole world each
/// time. Loom's other settings come from its environment variables (`LOOM_MAX_BRANCHES`,
/// `LOOM_LOG`, `LOOM_CHECKPOINT_FILE`...).
///
/// # Panics
///
/// Panics, with loom's report, when an interleaving fails: an assertion of the model, a
/// deadlock (every thread blocked; loom then aborts the process instead, see
/// [`assert_loom_catches`]), a data race on a `reactor::sync::UnsafeCell`, or a read that no
/// ordering allows ("Causality violation").
pub fn model(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    builder.check(model);
}

/// Asserts that loom catches a seeded bug: runs the `#[ignore]`d test `seeded_test` of the
/// current test binary in a child process and requires it to fail with a loom report containing
/// `report` (`"deadlock"`, `"Causality violation"`, an assertion message...).
///
/// The seeded test is the model run inside `reactor::sync::seeded_bug::with(bug, ..)`; give it
/// the attribute `#[ignore = "seeded bug: run by its negative control"]` so that only the
/// control runs it. `seeded_test` is its path inside the test binary (its name, for a test at
/// the top of the file).
///
/// A child process, not `#[should_panic]`, because loom aborts the process when it finds a
/// deadlock (its panic cannot unwind out of a model thread), and because this also checks *what*
/// loom reported, so a negative control cannot pass by failing for an unrelated reason.
pub fn assert_loom_catches(seeded_test: &str, report: &str) {
    let binary = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(binary)
        .args(["--exact", seeded_test, "--ignored", "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs");
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        printed.contains("running 1 test"),
        "no test `{seeded_test}` in this binary, or it is not `#[ignore]`d:\n{printed}"
    );
    assert!(!output.status.success(), "loom did not catch the seeded bug in `{seeded_test}`:\n{printed}");
    assert!(printed.contains(report), "`{seeded_test}` failed without loom reporting {report:?}:\n{printed}");
}

/// Runs `f` on a new loom thread; the returned closure waits until that thread has finished and
/// dropped everything it owned, as a join would.
///
/// Use it instead of `join` for a thread that may unpark the joining thread after it no longer
/// needs it (a late notify to a wait that already returned): loom 0.7 takes an unpark that
/// arrives while a thread is blocked in `join` for the join's own notification and fails an
/// internal assertion, where std ignores it. The returned closure spins with yields on a flag
/// instead of parking, and its Acquire orders the thread's drops before the caller's, which
/// matters for values counted by std's `Arc` (a waker's), whose drops loom cannot see.
pub fn spawn_unjoined(f: impl FnOnce() + Send + 'static) -> impl FnOnce() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    let finished = loom::sync::Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    loom::thread::spawn(move || {
        f();
        // Release: everything `f` did and dropped happens before the waiter's Acquire.
        flag.store(true, Ordering::Release);
    });
    move || {
        while !finished.load(Ordering::Acquire) {
            loom::thread::yield_now();
        }
    }
}

/// A future that stays pending until another thread [opens](Gate::open) it: the simplest outside
/// event a task can wait for, with its waker handed over through a loom mutex.
///
/// `executor.block_on(gate)` in a model ends once the gate is opened: if the opening is lost,
/// every thread ends up blocked and loom reports a deadlock.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    state: loom::sync::Arc<loom::sync::Mutex<(bool, Option<std::task::Waker>)>>,
}

impl Gate {
    /// Opens the gate and wakes the task waiting on it, if any.
    pub fn open(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl std::future::Future for Gate {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut state = self.state.lock().unwrap();
        if state.0 {
            return std::task::Poll::Ready(());
        }
        state.1 = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}
