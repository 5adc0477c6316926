//! The MPSC calls that mirror tokio's (`Sender::closed`, `Receiver::recv_many`, weak senders,
//! `send_until` / `send_timeout`), checked against what tokio documents for the same calls.

mod support;

use std::future::pending;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use reactor::Executor;
use reactor_channel::{bounded, unbounded, SendTimeoutError};
use reactor_timer::Timer;
use support::{within_30s, DropCounter};

// `Sender::closed`: "completes when the receiver has dropped" (or closed the channel).

#[test]
fn closed_completes_for_every_task_sharing_one_sender_when_the_receiver_drops() {
    within_30s(|| {
        let executor = reactor::Builder::new().worker_threads(2).build(Timer::new()).unwrap();
        let (tx, rx) = unbounded::<u8>();
        let tx = Arc::new(tx);
        let waits: Vec<_> = (0..3)
            .map(|_| {
                let tx = tx.clone();
                executor.spawn(async move { tx.closed().await })
            })
            .collect();
        let dropper = thread::spawn(move || drop(rx));
        for wait in waits {
            executor.block_on(wait).unwrap();
        }
        dropper.join().unwrap();
        assert!(tx.is_closed());
    });
}

#[test]
fn closed_completes_when_the_receiver_closes_and_stays_complete() {
    within_30s(|| {
        let (tx, rx) = bounded::<u8>(1);
        let closer = thread::spawn(move || {
            rx.close();
            rx
        });
        block_on(tx.closed());
        block_on(tx.closed());
        drop(closer.join().unwrap());
    });
}

#[test]
fn a_closed_future_polled_once_and_dropped_does_not_disturb_another() {
    let (tx, rx) = unbounded::<u8>();
    assert_eq!(block_on(poll_once(tx.closed())), None, "polled once, then dropped");
    let clone = tx.clone();
    let mut kept = Box::pin(clone.closed());
    assert_eq!(block_on(poll_once(kept.as_mut())), None);
    assert_eq!(block_on(poll_once(tx.closed())), None, "the receiver lives: still pending");
    drop(rx);
    assert_eq!(block_on(poll_once(kept.as_mut())), Some(()));
}

// `Receiver::recv_many`: waits for at least one, appends at most `limit`, 0 only when `limit` is
// 0 or the channel is closed and drained; cancel-safe.

#[test]
fn recv_many_takes_what_is_queued_up_to_the_limit_without_waiting_for_more() {
    let (tx, mut rx) = unbounded();
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    let mut buffer = vec![-1];
    assert_eq!(block_on(rx.recv_many(&mut buffer, 3)), 3);
    assert_eq!(block_on(rx.recv_many(&mut buffer, 10)), 2);
    assert_eq!(buffer, [-1, 0, 1, 2, 3, 4], "appended, not overwritten");
    assert_eq!(block_on(poll_once(rx.recv_many(&mut buffer, 10))), None, "open and empty: waits");
}

#[test]
fn recv_many_with_a_limit_of_zero_returns_zero_at_once() {
    let (tx, mut rx) = unbounded::<u8>();
    let mut buffer = Vec::new();
    assert_eq!(block_on(poll_once(rx.recv_many(&mut buffer, 0))), Some(0), "empty and open");
    tx.try_send(1).unwrap();
    assert_eq!(block_on(rx.recv_many(&mut buffer, 0)), 0);
    assert_eq!(rx.len(), 1, "nothing taken");
}

#[test]
fn recv_many_returns_zero_only_once_the_channel_is_closed_and_drained() {
    let (tx, mut rx) = bounded(4);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    drop(tx);
    let mut buffer = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buffer, 8)), 2);
    assert_eq!(block_on(rx.recv_many(&mut buffer, 8)), 0);
    assert_eq!(buffer, [1, 2]);

    let (tx, mut rx) = unbounded();
    tx.try_send(3).unwrap();
    rx.close();
    assert_eq!(block_on(rx.recv_many(&mut buffer, 8)), 1, "queued before the close");
    assert_eq!(block_on(rx.recv_many(&mut buffer, 8)), 0);
}

#[test]
fn recv_many_is_cancel_safe() {
    let (tx, mut rx) = unbounded();
    let mut buffer = Vec::new();
    assert_eq!(block_on(poll_once(rx.recv_many(&mut buffer, 4))), None);
    tx.try_send(7).unwrap();
    assert!(buffer.is_empty(), "a dropped pending recv_many took nothing");
    assert_eq!(block_on(rx.recv_many(&mut buffer, 4)), 1);
    assert_eq!(buffer, [7]);
}

#[test]
fn recv_many_makes_room_for_senders_waiting_on_a_full_channel() {
    within_30s(|| {
        let (tx, mut rx) = bounded(2);
        let producers: Vec<_> = (0..2u32)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || (0..100).for_each(|i| tx.send_blocking(p * 100 + i).unwrap()))
            })
            .collect();
        drop(tx);
        let mut buffer = Vec::new();
        while block_on(rx.recv_many(&mut buffer, 3)) > 0 {}
        producers.into_iter().for_each(|p| p.join().unwrap());
        buffer.sort_unstable();
        assert_eq!(buffer, (0..200).collect::<Vec<_>>());
    });
}

// Weak senders: do not keep the channel open; upgrade while a sender is alive.

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    let (tx, mut rx) = unbounded::<u8>();
    let weak = tx.downgrade();
    let weak_clone = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(block_on(rx.recv_many(&mut Vec::new(), 1)), 0);
    assert!(weak.upgrade().is_none());
    assert_eq!((weak_clone.strong_count(), weak_clone.weak_count()), (0, 2));
    drop(weak);
    assert_eq!(weak_clone.weak_count(), 1);
}

#[test]
fn an_upgraded_sender_keeps_the_channel_open_after_the_original_drops() {
    let (tx, mut rx) = bounded(2);
    let weak = tx.downgrade();
    let upgraded = weak.upgrade().expect("a sender is alive");
    assert_eq!(upgraded.strong_count(), 2);
    drop(tx);
    assert!(!rx.is_closed());
    upgraded.try_send(1).unwrap();
    drop(upgraded);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_closed());
    assert!(weak.upgrade().is_none(), "a closed channel is never reopened");
}

#[test]
fn upgrading_after_the_receiver_closed_gives_a_sender_whose_sends_fail() {
    // As in tokio: the upgrade follows the senders, the send the receiver.
    let (tx, rx) = unbounded();
    let weak = tx.downgrade();
    rx.close();
    let upgraded = weak.upgrade().expect("a sender is alive");
    assert!(upgraded.try_send(1).unwrap_err().is_closed());
}

// `send_until`: the deadline is any future; the value comes back with the error.

#[test]
fn send_until_times_out_on_a_full_channel_and_hands_the_value_back() {
    within_30s(|| {
        let executor = Executor::new(Timer::new()).unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded(1);
        tx.try_send(DropCounter(drops.clone())).unwrap();
        let result = executor.block_on(async {
            tx.send_until(DropCounter(drops.clone()), reactor_timer::sleep(Duration::from_millis(5))).await
        });
        let value = match result {
            Err(SendTimeoutError::Timeout(value)) => value,
            other => panic!("expected a timeout, got {other:?}"),
        };
        assert_eq!(DropCounter::count(&drops), 0, "handed back, not dropped");
        drop((value, rx));
        assert_eq!(DropCounter::count(&drops), 2);
    });
}

#[test]
fn send_until_completes_when_room_is_made_before_the_deadline() {
    within_30s(|| {
        let (tx, mut rx) = bounded(1);
        tx.try_send(1).unwrap();
        let receiver = thread::spawn(move || (rx.recv_blocking(), rx.recv_blocking()));
        assert_eq!(block_on(tx.send_until(2, pending())), Ok(()));
        drop(tx);
        assert_eq!(receiver.join().unwrap(), (Ok(1), Ok(2)));
    });
}

#[test]
fn send_until_on_a_closed_channel_fails_as_closed_with_the_value() {
    let (tx, rx) = bounded(1);
    drop(rx);
    assert_eq!(block_on(tx.send_until(3, pending())), Err(SendTimeoutError::Closed(3)));
    let (tx, rx) = bounded(1);
    tx.try_send(0).unwrap();
    rx.close();
    let error = block_on(tx.send_until(4, pending())).unwrap_err();
    assert!(error.is_closed() && !error.is_timeout());
    assert_eq!(error.into_inner(), 4);
}

#[cfg(feature = "timer")]
#[test]
fn send_timeout_uses_the_executors_timer() {
    within_30s(|| {
        let executor = Executor::new(Timer::new()).unwrap();
        let (tx, _rx) = bounded(1);
        executor.block_on(async {
            assert_eq!(tx.send_timeout(1, Duration::from_secs(60)).await, Ok(()));
            assert_eq!(tx.send_timeout(2, Duration::from_millis(5)).await, Err(SendTimeoutError::Timeout(2)));
        });
    });
}
