//! The core's event sources and the `EventSource` contracts, through the public API.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::{CallbackSlot, Composite, Notifier, Parking, PingSource};
use reactor::{Builder, EventSource, Executor};

#[test]
fn parking_wait_returns_for_a_notify_from_another_thread() {
    let parking = Arc::new(Parking::new());
    let barrier = Arc::new(Barrier::new(2));
    let notifier = {
        let (parking, barrier) = (parking.clone(), barrier.clone());
        thread::spawn(move || {
            barrier.wait();
            parking.notify();
        })
    };
    barrier.wait();
    // Blocks with no timeout: only the notify can end it.
    parking.wait(None).unwrap();
    notifier.join().unwrap();
}

#[test]
fn parking_honours_its_timeout_and_a_zero_timeout_never_blocks() {
    let parking = Parking::new();
    let start = Instant::now();
    parking.wait(Some(Duration::from_millis(5))).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(5), "returned before the timeout");
    assert_eq!(parking.wait(Some(Duration::ZERO)).unwrap(), 0);
}

#[test]
fn pings_coalesce_and_run_on_the_waiting_thread() {
    let pings = PingSource::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel();
    let counter = runs.clone();
    let (ping, _registration) = pings.register(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        sender.send(thread::current().id()).unwrap();
    });
    let source = Composite::new(Parking::new()).unwrap().with(pings).unwrap();
    let pingers: Vec<_> = (0..4)
        .map(|_| {
            let ping = ping.clone();
            thread::spawn(move || ping.ping())
        })
        .collect();
    for pinger in pingers {
        pinger.join().unwrap();
    }
    assert_eq!(source.wait(None).unwrap(), 1, "four pings before one wait run the callback once");
    assert_eq!(receiver.recv().unwrap(), thread::current().id());
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn no_callback_runs_after_its_registration_is_dropped() {
    let pings = PingSource::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let (ping, registration) = pings.register(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    ping.ping();
    drop(registration);
    ping.ping();
    assert_eq!(pings.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[test]
fn deregistration_waits_for_a_callback_running_on_another_thread() {
    let slot: Arc<CallbackSlot<dyn FnMut() + Send>> = {
        let running = Arc::new(Barrier::new(2));
        let finished = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let (running_in_callback, finished_in_callback) = (running.clone(), finished.clone());
        let owned = SetOnDrop(dropped.clone());
        let slot: Arc<CallbackSlot<dyn FnMut() + Send>> = Arc::new(CallbackSlot::new(Box::new(move || {
            let _owned = &owned;
            running_in_callback.wait();
            finished_in_callback.store(true, Ordering::SeqCst);
        })));
        let dispatcher = {
            let slot = slot.clone();
            thread::spawn(move || slot.call(|callback| callback()))
        };
        running.wait();
        // The callback is running on the dispatcher: remove must not return before it ends.
        slot.remove();
        assert!(finished.load(Ordering::SeqCst), "remove returned while the callback still ran");
        assert!(dropped.load(Ordering::SeqCst), "remove returned before the callback was dropped");
        assert_eq!(dispatcher.join().unwrap(), Some(()));
        slot
    };
    assert_eq!(slot.call(|callback| callback()), None);
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_callback_may_remove_itself() {
    type Slot = CallbackSlot<dyn FnMut() + Send>;
    let slot: Arc<Slot> = Arc::new_cyclic(|weak: &std::sync::Weak<Slot>| {
        let weak = weak.clone();
        CallbackSlot::new(Box::new(move || weak.upgrade().unwrap().remove()))
    });
    assert_eq!(slot.call(|callback| callback()), Some(()));
    assert!(slot.is_removed());
    assert_eq!(slot.call(|callback| callback()), None);
}

#[test]
fn a_composite_rejects_a_second_blocking_source_and_hands_it_back() {
    let error = Composite::new(Parking::new()).unwrap().with(Parking::new()).unwrap_err();
    assert!(error.to_string().contains("exactly one"));
    let parking = error.into_inner();
    assert_eq!(parking.wait(Some(Duration::ZERO)).unwrap(), 0);
}

#[test]
fn a_passive_source_wakes_a_composite_blocked_on_another_thread() {
    let pings = PingSource::new();
    let (sender, receiver) = mpsc::channel();
    let (ping, _registration) = pings.register(move || sender.send(()).unwrap());
    let source = Arc::new(Composite::new(Parking::new()).unwrap().with(pings).unwrap());
    let waiter = {
        let source = source.clone();
        thread::spawn(move || {
            while receiver.try_recv().is_err() {
                source.wait(None).unwrap();
            }
        })
    };
    ping.ping();
    waiter.join().unwrap();
}

#[test]
fn a_composite_blocks_until_the_earliest_deadline_of_its_parts() {
    let soon = Instant::now() + Duration::from_millis(5);
    let source = Composite::new(Parking::new()).unwrap().with(Deadline(soon)).unwrap();
    assert_eq!(source.deadline(), Some(soon));
    source.wait(None).unwrap();
    assert!(Instant::now() >= soon, "the composite returned before its part's deadline");
}

/// A passive source that only needs attention at one instant.
struct Deadline(Instant);

impl EventSource for Deadline {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        Ok(0)
    }

    fn notify(&self) {}

    fn deadline(&self) -> Option<Instant> {
        Some(self.0)
    }

    fn can_block(&self) -> bool {
        false
    }
}

#[test]
fn boxed_and_shared_trait_objects_are_sources() {
    let boxed: Box<dyn EventSource> = Box::new(Parking::new());
    let executor = Builder::new().worker_threads(1).build(boxed).unwrap();
    assert_eq!(executor.block_on(executor.spawn(async { 1 })).unwrap(), 1);
    let shared: Arc<dyn EventSource> = Arc::new(PingSource::new());
    let executor = Builder::new().worker_threads(1).build(shared).unwrap();
    assert_eq!(executor.block_on(executor.spawn(async { 2 })).unwrap(), 2);
}

/// A custom source written the way a user would: a counter any thread bumps, whose callback
/// runs on the loop with the count accumulated since the last dispatch. It is blocking (it owns
/// its own condition variable), to show that side of the trait too.
#[derive(Clone, Default)]
struct CounterSource {
    state: Arc<(Mutex<CounterState>, std::sync::Condvar)>,
}

#[derive(Default)]
struct CounterState {
    pending: u64,
    notified: bool,
    callback: Option<Box<dyn FnMut(u64) + Send>>,
}

impl CounterSource {
    fn on_count(&self, callback: impl FnMut(u64) + Send + 'static) {
        self.state.0.lock().unwrap().callback = Some(Box::new(callback));
    }

    fn bump(&self) {
        self.state.0.lock().unwrap().pending += 1;
        self.state.1.notify_one();
    }
}

impl EventSource for CounterSource {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let (lock, condvar) = &*self.state;
        let mut state = lock.lock().unwrap();
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        while state.pending == 0 && !state.notified {
            match deadline {
                None => state = condvar.wait(state).unwrap(),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = condvar.wait_timeout(state, left).unwrap().0;
                }
            }
        }
        state.notified = false;
        let count = std::mem::take(&mut state.pending);
        let mut callback = state.callback.take();
        drop(state);
        let ran = match (&mut callback, count) {
            (Some(callback), 1..) => {
                callback(count);
                1
            }
            _ => 0,
        };
        let mut state = lock.lock().unwrap();
        if state.callback.is_none() {
            state.callback = callback;
        }
        Ok(ran)
    }

    fn notify(&self) {
        self.state.0.lock().unwrap().notified = true;
        self.state.1.notify_one();
    }
}

#[test]
fn a_custom_blocking_source_drives_an_executor() {
    let counter = CounterSource::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let total = seen.clone();
    counter.on_count(move |count| {
        total.fetch_add(count as usize, Ordering::SeqCst);
    });
    let executor: Executor<CounterSource> = Builder::new().worker_threads(2).build(counter.clone()).unwrap();
    let bumpers: Vec<_> = (0..4)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || (0..250).for_each(|_| counter.bump()))
        })
        .collect();
    for bumper in bumpers {
        bumper.join().unwrap();
    }
    // Tasks run while the source dispatches: both the pool and the source make progress.
    let spawned = executor.block_on(async {
        let tasks: Vec<_> = (0..100).map(|i| executor.spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        while seen.load(Ordering::SeqCst) < 1_000 {
            reactor::yield_now().await;
        }
        sum
    });
    assert_eq!(spawned, (0..100).sum::<i32>());
    assert_eq!(seen.load(Ordering::SeqCst), 1_000);
}

#[test]
fn a_notifier_from_a_closure_counts_wakeups() {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let notifier = Notifier::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let pings = PingSource::new();
    pings.attach(notifier).unwrap();
    let (ping, _registration) = pings.register(|| {});
    ping.ping();
    ping.ping(); // coalesced: already queued, no second wake-up
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
