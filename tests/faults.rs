//! Fault injection through the public API: user code that panics where the runtime calls it
//! (wakers, loop callbacks, the `Drop` of a task's output), a source whose wait fails, and a
//! signal interrupting the epoll wait. In each case the fault is reported where it belongs and
//! nothing else is lost: other callbacks still run, other tasks still complete, the channel and
//! the sources stay usable.

use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use reactor::source::{Composite, Parking, PingSource};
use reactor::{Builder, EventSource, Executor, OnSourceError};
use reactor_channel::{unbounded, ChannelSource};
use reactor_timer::{Timer, TimerAction};

/// How long a test waits for an outcome that should come at once before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A waker that panics when woken.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<AtomicUsize>, impl Fn() -> usize) {
    let count = Arc::new(AtomicUsize::new(0));
    let read = count.clone();
    (count, move || read.load(Ordering::SeqCst))
}

#[test]
fn a_waker_panicking_in_a_send_reaches_the_sender_and_the_channel_stays_usable() {
    let (tx, mut rx) = unbounded::<u32>();
    let panicking = Waker::from(Arc::new(PanickingWaker));
    assert!(rx.poll_recv(&mut Context::from_waker(&panicking)).is_pending());
    let sent = panic::catch_unwind(AssertUnwindSafe(|| tx.try_send(1)));
    assert!(sent.is_err(), "the waker's panic reaches the thread that woke it");
    assert_eq!(rx.try_recv(), Ok(1), "the message was queued before the wake");
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(counting.clone());
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    tx.try_send(2).unwrap();
    assert_eq!(counting.0.load(Ordering::SeqCst), 1, "a waker registered after the panic is woken");
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_waker_panicking_when_its_timer_fires_is_reported_and_the_executor_keeps_running() {
    let (timer, clock) = Timer::with_manual_clock();
    let (errors_tx, errors) = mpsc::channel();
    let source = Composite::new(Parking::new()).unwrap().with(timer.clone()).unwrap();
    let executor: Executor<Composite> = Builder::new()
        .worker_threads(1)
        .on_source_error(move |failure| {
            errors_tx.send(failure.error().to_string()).unwrap();
            OnSourceError::Continue
        })
        .build(source)
        .unwrap();
    let deadline = clock.now() + Duration::from_millis(10);
    let mut doomed = timer.sleep_until(deadline);
    let panicking = Waker::from(Arc::new(PanickingWaker));
    assert!(Pin::new(&mut doomed).poll(&mut Context::from_waker(&panicking)).is_pending());
    let sibling = executor.spawn(timer.sleep_until(deadline));
    clock.advance(Duration::from_millis(10));
    let error = errors.recv_timeout(PATIENCE).expect("the panic is reported");
    assert!(error.contains("waker panicked"), "{error}");
    executor.block_on(sibling).expect("a sleep due at the same deadline still completes");
    let later = executor.spawn(timer.sleep_until(deadline + Duration::from_millis(10)));
    clock.advance(Duration::from_millis(10));
    executor.block_on(later).expect("the timer keeps firing after the panic");
    drop(doomed);
}

#[test]
fn a_panicking_ping_callback_leaves_the_other_pings_and_the_source_working() {
    let pings = PingSource::new();
    let (runs, faulty_runs) = counter();
    let (faulty, _faulty_registration) = pings.register(move || {
        if runs.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("callback panicked");
        }
    });
    let (sibling_count, sibling_runs) = counter();
    let (sibling, _sibling_registration) = pings.register(move || {
        sibling_count.fetch_add(1, Ordering::SeqCst);
    });
    let source = Composite::new(Parking::new()).unwrap().with(pings).unwrap();
    sibling.ping();
    faulty.ping();
    let waited = panic::catch_unwind(AssertUnwindSafe(|| source.wait(Some(Duration::ZERO))));
    assert!(waited.is_err(), "the callback's panic propagates out of wait");
    source.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(sibling_runs(), 1, "the other ping is not lost");
    faulty.ping();
    source.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(faulty_runs(), 2, "the panicking registration still runs");
}

#[test]
fn a_panicking_timer_callback_leaves_the_other_timers_and_the_timer_working() {
    let (timer, clock) = Timer::with_manual_clock();
    let deadline = clock.now() + Duration::from_millis(10);
    let (runs, faulty_runs) = counter();
    let faulty = timer.register(deadline, move |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        panic!("callback panicked");
    });
    let (sibling_count, sibling_runs) = counter();
    let _sibling = timer.register(deadline, move |_| {
        sibling_count.fetch_add(1, Ordering::SeqCst);
        TimerAction::Stop
    });
    clock.advance(Duration::from_millis(10));
    let waited = panic::catch_unwind(AssertUnwindSafe(|| timer.wait(Some(Duration::ZERO))));
    assert!(waited.is_err(), "the callback's panic propagates out of wait");
    timer.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(sibling_runs(), 1, "the timer due at the same deadline is not lost");
    faulty.reschedule(deadline + Duration::from_millis(10));
    clock.advance(Duration::from_millis(10));
    assert!(panic::catch_unwind(AssertUnwindSafe(|| timer.wait(Some(Duration::ZERO)))).is_err());
    assert_eq!(faulty_runs(), 2, "the panicking registration can be rescheduled and runs again");
}

#[test]
fn a_panicking_channel_callback_loses_only_its_own_message() {
    let channels = ChannelSource::new();
    let (tx, rx) = unbounded::<u32>();
    let (received_tx, received) = mpsc::channel();
    let _registration = channels.register(rx, move |message| {
        if message == 1 {
            panic!("callback panicked");
        }
        received_tx.send(message).unwrap();
    });
    let source = Composite::new(Parking::new()).unwrap().with(channels).unwrap();
    for message in 1..=3 {
        tx.try_send(message).unwrap();
    }
    let waited = panic::catch_unwind(AssertUnwindSafe(|| source.wait(Some(Duration::ZERO))));
    assert!(waited.is_err(), "the callback's panic propagates out of wait");
    source.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(received.try_iter().collect::<Vec<_>>(), [2, 3]);
}

/// A task output whose `Drop` panics.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("output drop panicked");
    }
}

#[test]
fn a_detached_task_whose_output_panics_on_drop_does_not_take_its_worker_down() {
    let executor: Executor<Parking> = Builder::new().worker_threads(1).build(Parking::new()).unwrap();
    let (done_tx, done) = mpsc::channel();
    for _ in 0..3 {
        let done_tx = done_tx.clone();
        executor
            .spawn(async move {
                done_tx.send(()).unwrap();
                PanicOnDrop
            })
            .detach();
    }
    for _ in 0..3 {
        done.recv_timeout(PATIENCE).expect("each task ran");
    }
    let after = executor.spawn(async { 7 });
    assert_eq!(executor.block_on(after).unwrap(), 7, "the only worker still runs tasks");
}

/// A blocking source whose first `failures` waits fail.
struct Failing {
    parking: Parking,
    failures: AtomicUsize,
}

impl EventSource for Failing {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let failed =
            self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
        if failed.is_ok() {
            return Err(io::Error::other("disk on fire"));
        }
        self.parking.wait(timeout)
    }

    fn notify(&self) {
        self.parking.notify();
    }
}

#[test]
fn wait_errors_reach_the_hook_and_the_executor_keeps_running_tasks() {
    for workers in [0, 2] {
        let (errors_tx, errors) = mpsc::channel();
        let source = Failing { parking: Parking::new(), failures: AtomicUsize::new(3) };
        let executor: Executor<Failing> = Builder::new()
            .worker_threads(workers)
            .on_source_error(move |failure| {
                errors_tx.send(failure.error().to_string()).unwrap();
                OnSourceError::Continue
            })
            .build(source)
            .unwrap();
        // The idle executor waits in the failing source until a helper thread, having seen the
        // three errors reported, hands them over through a channel.
        let (reported_tx, mut reported) = unbounded::<Vec<String>>();
        let helper = std::thread::spawn(move || {
            let seen = (0..3).map(|_| errors.recv_timeout(PATIENCE).expect("an error reported"));
            reported_tx.try_send(seen.collect()).unwrap();
        });
        let (sum, reported) = executor.block_on(async {
            let tasks: Vec<_> = (0..10).map(|i| executor.spawn(async move { i })).collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            (sum, reported.recv().await.unwrap())
        });
        helper.join().unwrap();
        assert_eq!(sum, 45, "with {workers} workers");
        assert_eq!(reported, ["disk on fire"; 3], "with {workers} workers");
    }
}
