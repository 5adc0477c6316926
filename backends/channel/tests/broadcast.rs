//! Behaviour of the broadcast channel, through the public API: every receiver gets every message
//! in order, lag is reported exactly, close and resubscribe semantics, and senders and receivers
//! on plain threads and executor tasks.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use reactor::source::Parking;
use reactor_channel::broadcast::{self, RecvError, TryRecvError};
use reactor_channel::SendError;

fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// Runs `f` on its own thread and fails the test if it has not finished within 30 s (a lost
/// wake-up shows as this failure instead of a hung test run).
fn within_30s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = mpsc::channel();
    let runner = thread::spawn(move || done_tx.send(f()).unwrap());
    match done_rx.recv_timeout(Duration::from_secs(30)) {
        Ok(result) => {
            runner.join().unwrap();
            result
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(runner.join().unwrap_err());
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within 30 s"),
    }
}

#[test]
fn several_receivers_on_several_threads_each_get_every_message_in_order() {
    const MESSAGES: u32 = 2_000;
    within_30s(|| {
        let (tx, rx) = broadcast::channel(capacity(MESSAGES as usize));
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let mut rx = rx.resubscribe();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_blocking() {
                            Ok(value) => got.push(value),
                            Err(RecvError::Closed) => return got,
                            Err(RecvError::Lagged(n)) => panic!("lagged by {n} with room for all"),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for i in 0..MESSAGES {
            assert_eq!(tx.send(i), Ok(4));
        }
        drop(tx);
        for receiver in receivers {
            assert_eq!(receiver.join().unwrap(), (0..MESSAGES).collect::<Vec<_>>());
        }
    });
}

#[test]
fn receivers_in_executor_tasks_each_get_every_message_sent_from_a_plain_thread() {
    within_30s(|| {
        let executor = reactor::Builder::new().worker_threads(2).build(Parking::new()).unwrap();
        let (tx, rx) = broadcast::channel(capacity(64));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.resubscribe();
                executor.spawn(async move {
                    let mut sum = 0u64;
                    let mut expected = 0u64;
                    while let Ok(value) = rx.recv().await {
                        assert_eq!(value, expected, "in order, none missed");
                        expected += 1;
                        sum += value;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producer = thread::spawn(move || {
            for i in 0..1_000u64 {
                // Paced by the receivers so that none lags: the channel keeps 64.
                while tx.len() >= 32 {
                    thread::yield_now();
                }
                tx.send(i).unwrap();
            }
        });
        for task in tasks {
            assert_eq!(executor.block_on(task).unwrap(), 999 * 1_000 / 2);
        }
        producer.join().unwrap();
    });
}

#[test]
fn many_senders_on_plain_threads_reach_every_receiver_in_each_senders_order() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 500;
    within_30s(|| {
        let (tx, mut first) = broadcast::channel(capacity((SENDERS * EACH) as usize));
        let mut second = tx.subscribe();
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                thread::spawn(move || (0..EACH).for_each(|i| assert_eq!(tx.send(s * EACH + i), Ok(2))))
            })
            .collect();
        drop(tx);
        senders.into_iter().for_each(|sender| sender.join().unwrap());
        for rx in [&mut first, &mut second] {
            let mut next = [0; SENDERS as usize];
            while let Ok(value) = rx.try_recv() {
                let sender = (value / EACH) as usize;
                assert_eq!(value % EACH, next[sender], "each sender's messages in order");
                next[sender] += 1;
            }
            assert_eq!(next, [EACH; SENDERS as usize], "every message arrived");
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }
    });
}

#[test]
fn a_slow_receiver_is_told_exactly_how_many_it_missed_then_gets_the_oldest_kept() {
    let (tx, mut slow) = broadcast::channel(capacity(3));
    let mut fast = tx.subscribe();
    for i in 0..10 {
        tx.send(i).unwrap();
        assert_eq!(fast.try_recv(), Ok(i), "a receiver that keeps up never lags");
    }
    assert_eq!(slow.len(), 10, "len counts the missed messages too");
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(7)));
    assert_eq!(slow.len(), 3);
    assert_eq!(slow.try_recv(), Ok(7));
    tx.send(10).unwrap(); // the ring keeps 8, 9 and 10: 7 was received by both, so it went
    tx.send(11).unwrap(); // evicts 8, which `slow` had not received
    assert_eq!(block_on(slow.recv()), Err(RecvError::Lagged(1)));
    assert_eq!(block_on(slow.recv()), Ok(9));
    assert_eq!(tx.len(), 2, "10 and 11 are still wanted by `slow`");
}

#[test]
fn after_the_last_sender_drops_receivers_drain_what_is_left_then_see_closed() {
    let (tx, mut rx) = broadcast::channel(capacity(2));
    let mut lagged = tx.subscribe();
    let tx2 = tx.clone();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1), "one sender is still alive");
    drop(tx2);
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
    assert_eq!(lagged.try_recv(), Err(TryRecvError::Lagged(1)), "a lag is reported before the close");
    assert_eq!(lagged.try_recv(), Ok(1));
    assert_eq!(lagged.try_recv(), Ok(2));
    assert_eq!(lagged.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_waiting_receive_ends_with_closed_when_the_last_sender_drops_on_another_thread() {
    within_30s(|| {
        let (tx, mut rx) = broadcast::channel::<u8>(capacity(1));
        let dropper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10)); // most likely after the receive waits
            drop(tx);
        });
        assert_eq!(rx.recv_blocking(), Err(RecvError::Closed));
        dropper.join().unwrap();
    });
}

#[test]
fn a_send_with_no_receiver_hands_the_value_back_and_a_new_subscriber_revives_it() {
    let (tx, rx) = broadcast::channel(capacity(2));
    assert_eq!(tx.receiver_count(), 1);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send("lost"), Err(SendError("lost")));
    let mut rx = tx.subscribe();
    assert_eq!(tx.send("kept"), Ok(1));
    assert_eq!(rx.try_recv(), Ok("kept"), "a subscriber sees nothing sent before it");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn resubscribe_starts_at_the_tail_not_where_the_original_is() {
    let (tx, mut rx) = broadcast::channel(capacity(4));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let mut copy = rx.resubscribe();
    assert!(copy.is_empty());
    assert_eq!(rx.receiver_count(), 2);
    tx.send(3).unwrap();
    assert_eq!(copy.try_recv(), Ok(3));
    assert_eq!(copy.try_recv(), Err(TryRecvError::Empty));
    assert_eq!([rx.try_recv(), rx.try_recv(), rx.try_recv()], [Ok(1), Ok(2), Ok(3)]);
}

#[test]
fn a_pending_receive_dropped_before_completion_loses_nothing() {
    let (tx, mut rx) = broadcast::channel(capacity(2));
    assert_eq!(block_on(poll_once(rx.recv())), None);
    tx.send(5).unwrap();
    assert_eq!(rx.len(), 1);
    assert_eq!(block_on(poll_once(rx.recv())), Some(Ok(5)));
}

/// Counts its drops; clones count as values of their own.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_message_is_dropped_once_whether_received_lagged_over_or_left_behind() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = broadcast::channel(capacity(2));
    let other = tx.subscribe();
    for _ in 0..5 {
        tx.send(Counted(drops.clone())).unwrap();
    }
    assert_eq!(drops.load(Ordering::SeqCst), 3, "the three evicted ones");
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Lagged(3))));
    drop(rx.try_recv().unwrap()); // a clone: `other` still wants the original
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    drop(other); // the last one wanting the fourth message: dropped now
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    assert_eq!(tx.len(), 1, "only `rx` still wants the fifth");
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
    assert!(tx.is_empty());
}

/// Panics in `clone` the first time it is asked to.
#[derive(Debug)]
struct PanicsOnFirstClone(Arc<AtomicUsize>);

impl Clone for PanicsOnFirstClone {
    fn clone(&self) -> Self {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the first clone panics");
        }
        Self(self.0.clone())
    }
}

#[test]
fn a_clone_that_panics_leaves_the_message_for_the_next_receive() {
    let (tx, mut rx) = broadcast::channel(capacity(2));
    let _other = tx.subscribe(); // two receivers: the first receive clones
    let attempts = Arc::new(AtomicUsize::new(0));
    tx.send(PanicsOnFirstClone(attempts.clone())).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx.try_recv()));
    assert!(panicked.is_err());
    assert_eq!(rx.len(), 1, "the message was not taken");
    assert!(rx.try_recv().is_ok(), "the channel is usable after the panic");
    assert_eq!(tx.send(PanicsOnFirstClone(attempts)).ok(), Some(2));
}

// The receiver as a stream (tokio's `BroadcastStream`: a lag is an `Err(Lagged(n))` item, the
// close ends the stream) and weak senders (tokio's `broadcast::WeakSender`).

#[test]
fn the_receiver_as_a_stream_reports_a_lag_as_an_item_and_ends_at_the_close() {
    use futures_lite::StreamExt;
    let (tx, mut rx) = broadcast::channel(capacity(2));
    for i in 1..=4 {
        tx.send(i).unwrap();
    }
    assert_eq!(block_on(rx.next()), Some(Err(broadcast::Lagged(2))));
    assert_eq!(block_on(rx.next()), Some(Ok(3)));
    assert_eq!(block_on(poll_once(rx.next())), Some(Some(Ok(4))));
    assert_eq!(block_on(poll_once(rx.next())), None, "open and empty: pending");
    tx.send(5).unwrap();
    drop(tx);
    assert_eq!(block_on(rx.next()), Some(Ok(5)));
    assert_eq!(block_on(rx.next()), None);
    assert_eq!(block_on(rx.next()), None, "stays ended");
}

#[test]
fn a_stream_on_an_executor_task_gets_every_message_sent_from_a_thread() {
    use futures_lite::StreamExt;
    within_30s(|| {
        let executor = reactor::Executor::new(Parking::new()).unwrap();
        let (tx, rx) = broadcast::channel(capacity(64));
        let collector = executor.spawn(rx.collect::<Vec<_>>());
        let sender = thread::spawn(move || (0..50).for_each(|i| assert_eq!(tx.send(i), Ok(1))));
        let items = executor.block_on(collector).unwrap();
        sender.join().unwrap();
        assert_eq!(items, (0..50).map(Ok).collect::<Vec<_>>());
    });
}

#[test]
fn weak_senders_do_not_keep_the_broadcast_channel_open() {
    let (tx, mut rx) = broadcast::channel::<u8>(capacity(2));
    let weak = tx.downgrade();
    let weak_clone = weak.clone();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
    let upgraded = weak.upgrade().expect("a sender is alive");
    assert_eq!(weak.strong_count(), 2);
    drop(tx);
    upgraded.send(1).unwrap();
    drop(upgraded);
    assert_eq!(rx.try_recv(), Ok(1), "the upgraded sender kept it open");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(weak_clone.upgrade().is_none(), "a closed channel is never reopened");
    drop(weak);
    assert_eq!((weak_clone.strong_count(), weak_clone.weak_count()), (0, 1));
}
