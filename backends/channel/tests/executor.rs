//! The channels inside the real executor: tasks woken from plain threads, the cooperative budget,
//! and `ChannelSource` as (part of) the executor's source.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use futures_lite::future;
use reactor::source::Parking;
use reactor::Executor;
use reactor_channel::{bounded, oneshot, unbounded, ChannelSource, RecvError};

#[test]
fn a_task_waiting_on_an_idle_channel_is_woken_by_a_plain_thread() {
    let executor = reactor::Builder::new().worker_threads(2).build(Parking::new()).unwrap();
    let (tx, mut rx) = bounded(1);
    let (reply_tx, reply_rx) = oneshot();
    let consumer = executor.spawn(async move {
        let mut sum = 0;
        while let Ok(n) = rx.recv().await {
            sum += n;
        }
        reply_tx.send(sum).unwrap();
    });
    let producer = thread::spawn(move || (1..=100).for_each(|n| tx.send_blocking(n).unwrap()));
    assert_eq!(reply_rx.recv_blocking(), Ok(5050));
    producer.join().unwrap();
    executor.block_on(consumer).unwrap();
}

#[test]
fn producer_and_consumer_tasks_exchange_every_message() {
    let executor = Executor::new(Parking::new()).unwrap();
    let (tx, mut rx) = bounded(4);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            executor.spawn(async move {
                for i in 0..1_000 {
                    tx.send(p * 1_000 + i).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let (count, sum) = executor.block_on(async move {
        let (mut count, mut sum) = (0u64, 0u64);
        while let Ok(n) = rx.recv().await {
            count += 1;
            sum += n;
        }
        (count, sum)
    });
    assert_eq!((count, sum), (4_000, 4_000 * 3_999 / 2));
    for producer in producers {
        executor.block_on(producer).unwrap();
    }
}

#[test]
fn an_always_ready_consumer_yields_to_other_futures() {
    const QUEUED: usize = 10_000;
    let executor = reactor::Builder::new().worker_threads(1).build(Parking::new()).unwrap();
    let (tx, mut rx) = unbounded();
    for i in 0..QUEUED {
        tx.try_send(i).unwrap();
    }
    drop(tx); // a drained channel ends the loop rather than waiting
    let other_ran = AtomicBool::new(false);
    // Both futures share one task; the consumer never waits, so only the budget lets the other
    // one run before the queue is drained.
    let received_before_other_ran = executor.block_on(future::or(
        async {
            let mut received = 0;
            while !other_ran.load(Ordering::Relaxed) && rx.recv().await.is_ok() {
                received += 1;
            }
            received
        },
        async {
            other_ran.store(true, Ordering::Relaxed);
            future::pending::<usize>().await
        },
    ));
    assert!(received_before_other_ran < QUEUED, "the consumer never yielded");
}

#[test]
fn a_recv_abandoned_by_its_task_leaves_the_message_queued() {
    let executor = Executor::new(Parking::new()).unwrap();
    let (tx, mut rx) = unbounded();
    let (cancel_tx, cancel_rx) = oneshot::<()>();
    let waiting = executor.spawn(async move {
        // The cancel is polled first, so once it fired the receive is dropped unfinished.
        let received =
            future::or(async { cancel_rx.await.map(|()| None).unwrap() }, async { Some(rx.recv().await) })
                .await;
        (received, rx)
    });
    cancel_tx.send(()).unwrap();
    tx.try_send(1).unwrap();
    let (received, mut rx) = executor.block_on(waiting).unwrap();
    assert_eq!(received, None, "the receive was abandoned");
    assert_eq!(rx.try_recv(), Ok(1), "the message stays for the next receive");
}

#[test]
fn channel_source_runs_callbacks_on_the_executor_and_is_found_from_tasks() {
    let executor = Executor::new(ChannelSource::new()).unwrap();
    let (tx, rx) = unbounded();
    let (seen_tx, mut seen_rx) = unbounded();
    let registration = executor.block_on(async move {
        let channels = reactor::current_source::<ChannelSource>().expect("the executor's channel source");
        channels.register(rx, move |n: u32| seen_tx.try_send(n * 10).unwrap())
    });
    let producer = thread::spawn(move || (1..=3).for_each(|n| tx.send_blocking(n).unwrap()));
    let seen: Vec<u32> = (0..3).map(|_| seen_rx.recv_blocking().unwrap()).collect();
    assert_eq!(seen, vec![10, 20, 30]);
    producer.join().unwrap();
    drop(registration);
    assert_eq!(seen_rx.recv_blocking(), Err(RecvError), "the callback went with the registration");
}
