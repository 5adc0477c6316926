//! The timer under the real executor: alone, with the ambient API, on a manual clock with several
//! workers, and cooperative with the other tasks of its worker.

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use reactor::{Builder, Executor};
use reactor_timer::{interval, sleep, sleep_until, timeout, Elapsed, Timer};

#[test]
fn a_timer_alone_drives_an_executor_and_never_wakes_early() {
    let executor = Executor::new(Timer::new()).unwrap();
    let woke_at = executor.block_on(async {
        let deadline = Instant::now() + Duration::from_micros(700);
        sleep_until(deadline).await;
        (deadline, Instant::now())
    });
    assert!(woke_at.1 >= woke_at.0);
}

#[test]
fn ambient_functions_find_the_executors_timer_in_tasks_and_block_on() {
    let (timer, clock) = Timer::with_manual_clock();
    let executor = Builder::new().worker_threads(2).build(timer.clone()).unwrap();
    let (created_sender, created) = std::sync::mpsc::channel();
    let task = executor.spawn(async move {
        let limited = timeout(Duration::from_secs(1), pending::<()>());
        created_sender.send(()).unwrap();
        limited.await
    });
    created.recv().unwrap();
    clock.advance(Duration::from_secs(1));
    let result: Result<(), Elapsed> = executor.block_on(task).unwrap();
    assert!(result.is_err());
    assert!(executor.block_on(async { Timer::current().pending() }) == 0);
}

#[test]
fn virtual_time_is_deterministic_on_four_workers() {
    let (timer, clock) = Timer::with_manual_clock();
    let executor = Builder::new().worker_threads(4).build(timer.clone()).unwrap();
    let start = timer.now();
    let completed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (1..=20u32)
        .map(|i| {
            // Created here, so the deadline does not depend on when the task first runs.
            let sleep = timer.sleep_until(start + Duration::from_secs(i.into()));
            let (timer, completed) = (timer.clone(), completed.clone());
            executor.spawn(async move {
                sleep.await;
                completed.fetch_add(1, Ordering::SeqCst);
                timer.now()
            })
        })
        .collect();
    for (i, task) in (1..=20u32).zip(tasks) {
        clock.advance(Duration::from_secs(1));
        let woke_at = executor.block_on(task).unwrap();
        assert_eq!(woke_at, start + Duration::from_secs(i.into()), "woke at its deadline, not later");
        assert_eq!(completed.load(Ordering::SeqCst), i as usize, "none woke before its deadline");
    }
}

#[test]
fn an_interval_is_a_stream() {
    let (timer, clock) = Timer::with_manual_clock();
    let executor = Builder::new().worker_threads(1).build(timer.clone()).unwrap();
    let start = timer.now();
    let ticks = executor.block_on(async {
        let ticks = interval(Duration::from_secs(1)).take(3);
        clock.advance(Duration::from_secs(5));
        ticks.collect::<Vec<_>>().await
    });
    let offsets: Vec<_> = ticks.iter().map(|tick| tick.duration_since(start).as_secs()).collect();
    assert_eq!(offsets, [0, 1, 2], "missed ticks burst by default");
}

#[test]
fn a_zero_period_interval_does_not_starve_its_worker() {
    let executor = Builder::new().worker_threads(1).build(Timer::new()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        executor.spawn(async move {
            let mut ticks = interval(Duration::ZERO);
            while !stop.load(Ordering::SeqCst) {
                ticks.tick().await;
            }
        })
    };
    let stopper = executor.spawn(async move { stop.store(true, Ordering::SeqCst) });
    executor.block_on(async {
        stopper.await.unwrap();
        spinner.await.unwrap();
    });
}

#[test]
fn try_current_is_none_outside_an_executor_or_on_one_without_a_timer() {
    assert!(Timer::try_current().is_none());
    let executor = Executor::new(reactor::source::Parking::new()).unwrap();
    assert!(executor.block_on(async { Timer::try_current() }).is_none());
}

#[test]
#[should_panic(expected = "no reactor timer here")]
fn ambient_functions_panic_with_a_clear_message_outside_an_executor() {
    drop(sleep(Duration::from_secs(1)));
}

/// Issue 14: the tasks of timers due together run in deadline order. Their wakes all happen in
/// one dispatch of the source; they used to go through the dispatching thread's LIFO slot, so the
/// last-due task ran first (and, in a large burst, overflow let newer wakes overtake older ones).
#[test]
fn timers_due_together_run_in_deadline_order() {
    const TIMERS: u64 = 8;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (timer, clock) = Timer::with_manual_clock();
        let executor = Builder::new().worker_threads(0).build(timer.clone()).unwrap();
        let start = timer.now();
        let polled = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ran = executor.block_on(async {
            let tasks: Vec<_> = (1..=TIMERS)
                .map(|i| {
                    let sleep = timer.sleep_until(start + Duration::from_millis(i));
                    let (polled, order) = (polled.clone(), order.clone());
                    executor.spawn(async move {
                        polled.fetch_add(1, Ordering::SeqCst);
                        sleep.await;
                        order.lock().unwrap().push(i);
                    })
                })
                .collect();
            // Every task has run up to its sleep: the timers are registered and pending.
            while polled.load(Ordering::SeqCst) < TIMERS as usize {
                reactor::yield_now().await;
            }
            clock.advance(Duration::from_millis(TIMERS));
            for task in tasks {
                task.await.unwrap();
            }
            order.lock().unwrap().clone()
        });
        let _ = done.send(ran);
    });
    let ran = finished.recv_timeout(Duration::from_secs(10)).expect("the timers fired within 10 s");
    assert_eq!(ran, (1..=TIMERS).collect::<Vec<_>>(), "tasks ran in deadline order");
}
