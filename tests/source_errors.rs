//! A source whose wait keeps failing: the executor backs off instead of spinning, keeps running
//! tasks, recovers when the source does, and shuts down when its error hook says so.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use reactor::source::Parking;
use reactor::{Builder, EventSource, Executor, OnSourceError};

/// A blocking source that fails every wait while `failing` is set.
#[derive(Clone, Default)]
struct Broken {
    inner: Arc<BrokenInner>,
}

#[derive(Default)]
struct BrokenInner {
    parking: Parking,
    failing: AtomicBool,
    waits: AtomicUsize,
    healthy_waits: AtomicUsize,
}

impl EventSource for Broken {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        self.inner.waits.fetch_add(1, Ordering::SeqCst);
        if self.inner.failing.load(Ordering::SeqCst) {
            return Err(io::Error::other("device gone"));
        }
        self.inner.healthy_waits.fetch_add(1, Ordering::SeqCst);
        self.inner.parking.wait(timeout)
    }

    fn notify(&self) {
        self.inner.parking.notify();
    }
}

fn broken() -> Broken {
    let broken = Broken::default();
    broken.inner.failing.store(true, Ordering::SeqCst);
    broken
}

#[test]
fn a_source_that_keeps_failing_is_backed_off_not_spun_on() {
    for workers in [0, 1, 2] {
        let source = broken();
        let failures = Arc::new(AtomicUsize::new(0));
        let counted = failures.clone();
        let executor: Executor<Broken> = Builder::new()
            .worker_threads(workers)
            .on_source_error(move |failure| {
                counted.fetch_add(1, Ordering::SeqCst);
                assert_eq!(failure.error().to_string(), "device gone");
                OnSourceError::Continue
            })
            .build(source.clone())
            .unwrap();
        // 300 ms of an idle executor over a source that fails every wait. Spinning made millions
        // of waits; backing off from 1 ms doubling makes about ten.
        executor.block_on(async {
            let deadline = std::time::Instant::now() + Duration::from_millis(300);
            // A main future that keeps yielding: with no workers, only its own thread can poll
            // the source (every few dozen polls).
            while std::time::Instant::now() < deadline {
                reactor::yield_now().await;
            }
        });
        let waits = source.inner.waits.load(Ordering::SeqCst);
        assert!(waits < 200, "{waits} waits of a failing source in 300 ms with {workers} workers");
        assert_eq!(failures.load(Ordering::SeqCst), waits, "every failed wait reached the hook");
        assert!(waits >= 1, "the source was tried");
        // Tasks still run while the source is backed off.
        assert_eq!(executor.block_on(executor.spawn(async { 5 })).unwrap(), 5);
    }
}

#[test]
fn the_back_off_ends_when_the_source_recovers() {
    let source = broken();
    let (reports_tx, reports) = mpsc::channel();
    let executor: Executor<Broken> = Builder::new()
        .worker_threads(1)
        .on_source_error(move |failure| {
            let _ = reports_tx.send((failure.consecutive_failures(), failure.retry_after()));
            OnSourceError::Continue
        })
        .build(source.clone())
        .unwrap();
    let first: Vec<_> = (0..4).map(|_| reports.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    assert_eq!(
        first.iter().map(|report| report.0).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "failures are counted in a row"
    );
    assert_eq!(
        first.iter().map(|report| report.1).collect::<Vec<_>>(),
        [1, 2, 4, 8].map(Duration::from_millis),
        "the back-off doubles from 1 ms"
    );
    source.inner.failing.store(false, Ordering::SeqCst);
    // A wake-up from another thread reaches the worker blocked in the recovered source.
    let (tx, rx) = mpsc::channel();
    executor
        .spawn(async move {
            tx.send(()).unwrap();
        })
        .detach();
    rx.recv_timeout(Duration::from_secs(10)).expect("the pool runs tasks after recovery");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while source.inner.healthy_waits.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "the source was never waited on again");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Failing again starts counting from one.
    while reports.try_recv().is_ok() {}
    source.inner.failing.store(true, Ordering::SeqCst);
    source.notify();
    let (count, delay) = reports.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((count, delay), (1, Duration::from_millis(1)), "a success reset the count");
}

#[test]
fn the_error_hook_can_shut_the_executor_down() {
    let source = broken();
    let executor: Executor<Broken> = Builder::new()
        .worker_threads(2)
        .on_source_error(|failure| {
            if failure.consecutive_failures() >= 3 {
                OnSourceError::Shutdown
            } else {
                OnSourceError::Continue
            }
        })
        .build(source.clone())
        .unwrap();
    let handle = executor.handle();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.try_spawn(async {}).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the hook's shutdown never took effect");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Shut down: spawning is refused and the executor stops waiting on the source.
    let waits = source.inner.waits.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    assert!(source.inner.waits.load(Ordering::SeqCst) <= waits + 1, "no wait after shutdown");
    drop(executor);
}
