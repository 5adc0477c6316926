//! The paused clock as users meet it: timeouts in tasks on several workers, with no advance or
//! a manual one racing with the tasks' first polls, always give the same result, instantly; on
//! each I/O backend (the paused clock jumps when the backend has nothing ready).

mod common;

use std::future::pending;
use std::time::Duration;

use common::{builder, on_every_backend};
use reactor_epoll::{time, Backend};

on_every_backend!(
    a_timeout_in_a_task_fires_on_four_workers_every_time,
    timers_fire_in_deadline_order_and_exactly_on_time,
    paused_time_waits_for_a_task_that_is_still_working,
    paused_time_stands_still_while_block_on_awaits_a_connect,
);

/// A request that never gets an answer.
async fn request() -> u32 {
    pending().await
}

fn a_timeout_in_a_task_fires_on_four_workers_every_time(backend: Backend) {
    for run in 0..1_000 {
        let (runtime, clock) = builder(backend).worker_threads(4).build_with_paused_clock().unwrap();
        let start = clock.now();
        let task = runtime.spawn(async { time::timeout(Duration::from_secs(30), request()).await });
        // Races with the task's first poll, which computes the deadline: 30 s from whichever time
        // it reads, so the task ends 30 s or 30 s + 5 ms of paused time after `start`.
        clock.advance(Duration::from_millis(5));
        assert!(runtime.block_on(task).unwrap().is_err(), "run {run}: the timeout fired");
        let elapsed = clock.now() - start;
        assert!(
            elapsed == Duration::from_secs(30) || elapsed == Duration::from_millis(30_005),
            "run {run}: {elapsed:?} of paused time passed"
        );
    }
}

fn timers_fire_in_deadline_order_and_exactly_on_time(backend: Backend) {
    let (runtime, clock) = builder(backend).worker_threads(4).build_with_paused_clock().unwrap();
    let start = clock.now();
    let order = runtime.block_on(async move {
        let (tx, mut rx) = reactor_epoll::channel::unbounded();
        for seconds in [50u64, 10, 40, 20, 30] {
            let tx = tx.clone();
            reactor_epoll::spawn(async move {
                time::sleep(Duration::from_secs(seconds)).await;
                tx.try_send((seconds, time::Timer::current().now())).unwrap();
            })
            .detach();
        }
        drop(tx);
        let mut order = Vec::new();
        while let Ok(fired) = rx.recv().await {
            order.push(fired);
        }
        order
    });
    let seconds: Vec<u64> = order.iter().map(|(seconds, _)| *seconds).collect();
    assert_eq!(seconds, [10, 20, 30, 40, 50]);
    for (seconds, at) in order {
        assert_eq!(at - start, Duration::from_secs(seconds), "fired exactly at its deadline");
    }
}

fn paused_time_waits_for_a_task_that_is_still_working(backend: Backend) {
    let (runtime, clock) = builder(backend).worker_threads(2).build_with_paused_clock().unwrap();
    let start = clock.now();
    let slept = runtime.block_on(async {
        let busy = reactor_epoll::spawn(async {
            // Real work: no time passes on the paused clock meanwhile, though a timer is due
            // at 1 s and the other worker is idle.
            std::thread::sleep(Duration::from_millis(50));
            time::Timer::current().now()
        });
        let sleeper = reactor_epoll::spawn(time::sleep(Duration::from_secs(1)));
        let finished_working = busy.await.unwrap();
        sleeper.await.unwrap();
        finished_working
    });
    assert_eq!(slept, start, "the clock stood still while a task ran");
    assert_eq!(clock.now() - start, Duration::from_secs(1));
}

/// A `block_on` awaiting a connect while a spawned server task is about to sleep 30 s: once the
/// connect's event woke the `block_on`, its thread has work, and time must not jump over the
/// server's sleep before it reads the clock. (hyper's tests saw 30 s pass here, 3 runs of 3,
/// before the fix.)
fn paused_time_stands_still_while_block_on_awaits_a_connect(backend: Backend) {
    for _ in 0..50 {
        let (runtime, clock) = builder(backend).worker_threads(2).build_with_paused_clock().unwrap();
        let elapsed = runtime.block_on(async {
            let start = clock.now();
            let listener = reactor_epoll::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = reactor_epoll::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                time::sleep(Duration::from_secs(30)).await;
                drop(stream);
            });
            let stream = reactor_epoll::net::TcpStream::connect(addr).await.unwrap();
            let elapsed = clock.now() - start;
            drop((stream, server));
            elapsed
        });
        assert_eq!(elapsed, Duration::ZERO, "paused time jumped while block_on had work");
    }
}
