//! A source that waits on workers only (`EventSource::waits_on_workers_only`): with workers, a
//! `block_on` thread never waits in it, even while every worker is busy; without workers, the
//! `block_on` thread is the one that waits.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use reactor::source::{Notifier, Parking};
use reactor::{Builder, EventSource};

/// `Parking`, counting the waits made by one thread (the test's, which calls `block_on`).
struct CountingWaits {
    parking: Parking,
    block_on_thread: ThreadId,
    block_on_waits: Arc<AtomicUsize>,
    workers_only: bool,
}

impl CountingWaits {
    fn new(workers_only: bool) -> (Self, Arc<AtomicUsize>) {
        let block_on_waits = Arc::new(AtomicUsize::new(0));
        let source = Self {
            parking: Parking::new(),
            block_on_thread: thread::current().id(),
            block_on_waits: block_on_waits.clone(),
            workers_only,
        };
        (source, block_on_waits)
    }
}

impl EventSource for CountingWaits {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        if thread::current().id() == self.block_on_thread {
            self.block_on_waits.fetch_add(1, Ordering::Relaxed);
        }
        self.parking.wait(timeout)
    }

    fn notify(&self) {
        self.parking.notify();
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.parking.attach(notifier)
    }

    fn waits_on_workers_only(&self) -> bool {
        self.workers_only
    }
}

/// Runs `block_on` while the executor's only worker spins in a task, so that the poll token is
/// free for the `block_on` thread to take; the main future is woken from a plain thread.
/// Returns how many times the `block_on` thread waited in the source.
fn block_on_beside_a_busy_worker(workers_only: bool) -> usize {
    let (source, block_on_waits) = CountingWaits::new(workers_only);
    let executor = Builder::new().worker_threads(1).build(source).unwrap();
    for _ in 0..5 {
        let spinning = executor.spawn(async {
            let until = Instant::now() + Duration::from_millis(20);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        });
        let (woken, waking) = woken_by_another_thread_soon();
        executor.block_on(woken);
        waking.join().unwrap();
        executor.block_on(spinning).unwrap();
    }
    block_on_waits.load(Ordering::Relaxed)
}

/// A future that a plain thread wakes 5 ms from now, and that thread.
fn woken_by_another_thread_soon() -> (impl std::future::Future<Output = ()>, thread::JoinHandle<()>) {
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    let waker = Arc::new(std::sync::Mutex::new(None::<std::task::Waker>));
    let waking = {
        let waker = waker.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            sender.send(()).unwrap();
            if let Some(waker) = waker.lock().unwrap().take() {
                waker.wake();
            }
        })
    };
    let future = std::future::poll_fn(move |cx| {
        *waker.lock().unwrap() = Some(cx.waker().clone());
        match receiver.try_recv() {
            Ok(()) => std::task::Poll::Ready(()),
            Err(_) => std::task::Poll::Pending,
        }
    });
    (future, waking)
}

#[test]
fn a_block_on_beside_workers_never_waits_in_a_source_that_waits_on_workers_only() {
    assert_eq!(block_on_beside_a_busy_worker(true), 0, "the block_on thread waited in the source");
}

#[test]
fn a_block_on_beside_a_busy_worker_waits_in_an_ordinary_source() {
    // The control: the same run over an ordinary source has the `block_on` thread take the
    // free poll token, so the test above can tell.
    assert!(block_on_beside_a_busy_worker(false) > 0, "the block_on thread never waited in the source");
}

#[test]
fn without_workers_the_block_on_thread_waits_in_a_source_that_waits_on_workers_only() {
    let (source, block_on_waits) = CountingWaits::new(true);
    let executor = Builder::new().worker_threads(0).build(source).unwrap();
    let (woken, waking) = woken_by_another_thread_soon();
    executor.block_on(woken);
    waking.join().unwrap();
    assert!(block_on_waits.load(Ordering::Relaxed) > 0, "nobody else could have waited");
}
