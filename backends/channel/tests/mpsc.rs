//! Behaviour of the bounded and unbounded MPSC channels, through the public API.

mod support;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use futures_lite::future::{block_on, poll_once};
use futures_lite::StreamExt;
use reactor_channel::{bounded, unbounded, RecvError, SendError, TryRecvError, TrySendError};
use support::DropCounter;

#[test]
fn messages_arrive_in_order() {
    let (tx, mut rx) = bounded(4);
    block_on(async {
        for i in 0..4 {
            tx.send(i).await.unwrap();
        }
        for i in 0..4 {
            assert_eq!(rx.recv().await, Ok(i));
        }
    });
}

#[test]
fn every_message_sent_before_the_last_sender_drops_is_received() {
    let (tx, mut rx) = unbounded();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is still alive");
    tx2.try_send(3).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(block_on(rx.recv()), Ok(3));
    assert_eq!(block_on(rx.recv()), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_after_the_receiver_is_gone_hands_the_value_back() {
    let (tx, rx) = bounded(2);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(block_on(tx.send("a")), Err(SendError("a")));
    assert_eq!(tx.try_send("b"), Err(TrySendError::Closed("b")));
    assert_eq!(tx.send_blocking("c").unwrap_err().into_inner(), "c");
}

#[test]
fn close_keeps_queued_messages_and_rejects_new_ones() {
    let (tx, mut rx) = unbounded();
    tx.try_send(1).unwrap();
    assert!(rx.close());
    assert!(!rx.close(), "already closed");
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(tx.try_send(2).unwrap_err().into_inner(), 2);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn len_full_and_capacity_track_the_queue() {
    let (tx, mut rx) = bounded(2);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(2), Some(2)));
    assert!(tx.is_empty() && rx.is_empty());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(tx.is_full() && rx.is_full());
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert!(TrySendError::Full(3).is_full());
    rx.try_recv().unwrap();
    assert!(!tx.is_full());

    let (tx, _rx) = unbounded::<u8>();
    assert_eq!(tx.capacity(), None);
    assert!(!tx.is_full());
}

#[test]
fn a_zero_capacity_is_taken_as_one() {
    let (tx, mut rx) = bounded(0);
    assert_eq!(tx.capacity(), Some(1));
    tx.try_send(1).unwrap();
    assert!(tx.try_send(2).unwrap_err().is_full());
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn send_waits_while_full_and_completes_when_room_is_made() {
    let (tx, mut rx) = bounded(1);
    tx.try_send(1).unwrap();
    let mut send = pin!(tx.send(2));
    assert_eq!(block_on(poll_once(send.as_mut())), None);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(block_on(poll_once(send.as_mut())), Some(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A waker that counts its wakes.
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<WakeCount>, Waker) {
    let count = Arc::new(WakeCount(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

fn wakes(count: &WakeCount) -> usize {
    count.0.load(Ordering::SeqCst)
}

/// Room made wakes every send waiting for it, so that none waits behind another that may never
/// be polled again; but each waiting send once, not once per message taken.
#[test]
fn taking_from_a_full_channel_wakes_every_waiting_send_once() {
    let (tx, mut rx) = bounded(4);
    (0..4).for_each(|_| tx.try_send(0).unwrap());
    let (first_woken, first_waker) = counting_waker();
    let (second_woken, second_waker) = counting_waker();
    let mut first = pin!(tx.send(1));
    let mut second = pin!(tx.send(2));
    assert!(first.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
    assert!(second.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((wakes(&first_woken), wakes(&second_woken)), (1, 1), "both sends are woken");
    (0..3).for_each(|_| assert_eq!(rx.try_recv(), Ok(0)));
    assert_eq!((wakes(&first_woken), wakes(&second_woken)), (1, 1), "once, not per message taken");
    assert_eq!(first.as_mut().poll(&mut Context::from_waker(&first_waker)), Poll::Ready(Ok(())));
    assert_eq!(second.as_mut().poll(&mut Context::from_waker(&second_waker)), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_notified_send_that_is_dropped_passes_the_notification_on() {
    let (tx, mut rx) = bounded(1);
    tx.try_send(0).unwrap();
    let (first_woken, first_waker) = counting_waker();
    let (second_woken, second_waker) = counting_waker();
    let mut second = pin!(tx.send(2));
    {
        let mut first = pin!(tx.send(1));
        assert!(first.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(wakes(&first_woken), 1);
        tx.try_send(9).unwrap(); // the room goes to another send meanwhile
        assert!(second.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending());
        assert_eq!(wakes(&second_woken), 0);
    }
    assert_eq!(wakes(&second_woken), 1, "the dropped send's notification went to the other");
    assert!(second.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending(), "still full");
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(wakes(&second_woken), 2);
    assert_eq!(second.as_mut().poll(&mut Context::from_waker(&second_waker)), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_waiting_send_fails_with_its_value_when_the_receiver_drops() {
    let (tx, rx) = bounded(1);
    tx.try_send(1).unwrap();
    let sender = thread::spawn(move || tx.send_blocking(2));
    // The sender blocks on the full channel (or has not started yet); either way it must fail.
    drop(rx);
    assert_eq!(sender.join().unwrap(), Err(SendError(2)));
}

#[test]
fn recv_is_cancel_safe() {
    let (tx, mut rx) = unbounded();
    {
        let mut recv = pin!(rx.recv());
        assert_eq!(block_on(poll_once(recv.as_mut())), None);
        tx.try_send(1).unwrap();
        // Dropped after the message arrived but before being polled again.
    }
    assert_eq!(rx.try_recv(), Ok(1), "the message stays queued for the next receive");
}

#[test]
fn recv_wakes_on_a_send_from_another_thread() {
    let (tx, mut rx) = bounded(8);
    let barrier = Arc::new(Barrier::new(2));
    let start = barrier.clone();
    let sender = thread::spawn(move || {
        start.wait();
        tx.send_blocking(5).unwrap();
    });
    barrier.wait();
    assert_eq!(block_on(rx.recv()), Ok(5));
    sender.join().unwrap();
}

#[test]
fn recv_wakes_when_the_last_sender_drops() {
    let (tx, mut rx) = unbounded::<u8>();
    let dropper = thread::spawn(move || drop(tx));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn send_blocking_waits_for_room() {
    let (tx, mut rx) = bounded(1);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    for i in 0..100 {
        assert_eq!(rx.recv_blocking(), Ok(i));
    }
    producer.join().unwrap();
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn the_receiver_is_a_stream_that_ends_when_the_channel_closes() {
    let (tx, rx) = unbounded();
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let collected: Vec<i32> = block_on(rx.collect());
    assert_eq!(collected, vec![0, 1, 2, 3, 4]);
}

#[test]
fn dropping_the_receiver_drops_queued_messages_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(8);
    for _ in 0..5 {
        tx.try_send(DropCounter(drops.clone())).unwrap();
    }
    drop(rx);
    assert_eq!(DropCounter::count(&drops), 5, "queued messages are dropped with the receiver");
    let rejected = tx.try_send(DropCounter(drops.clone())).unwrap_err().into_inner();
    drop(rejected);
    drop(tx);
    assert_eq!(DropCounter::count(&drops), 6);
}

#[test]
fn dropping_an_unbounded_channel_drops_queued_messages_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = unbounded();
    for _ in 0..100 {
        tx.try_send(DropCounter(drops.clone())).unwrap();
    }
    drop(rx.try_recv().unwrap());
    drop(tx);
    assert_eq!(DropCounter::count(&drops), 1);
    drop(rx);
    assert_eq!(DropCounter::count(&drops), 100);
}

#[test]
fn dropping_a_pending_send_drops_its_value_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, _rx) = bounded(1);
    tx.try_send(DropCounter(drops.clone())).unwrap();
    {
        let mut send = pin!(tx.send(DropCounter(drops.clone())));
        assert!(block_on(poll_once(send.as_mut())).is_none());
    }
    assert_eq!(DropCounter::count(&drops), 1, "the unsent value is dropped with its future");
    assert_eq!(tx.len(), 1);
}

#[test]
fn senders_and_receivers_are_send_and_sync_where_expected() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<reactor_channel::Sender<Vec<u8>>>();
    assert_send::<reactor_channel::Receiver<Vec<u8>>>();
    assert_send::<reactor_channel::SendFuture<'static, Vec<u8>>>();
    assert_send::<reactor_channel::RecvFuture<'static, Vec<u8>>>();
}

/// async-channel's `forget_blocked_sender`: a send polled once on a full channel and then kept
/// without being polled again (the losing arm of a `select!`) must not keep the room the
/// receiver makes from the other senders.
#[test]
fn a_send_polled_once_and_forgotten_does_not_keep_room_from_other_senders() {
    let (s1, mut rx) = bounded(2);
    let s2 = s1.clone();
    block_on(async {
        s1.send(3).await.unwrap();
        s1.send(7).await.unwrap();
    });
    let (_forgotten_woken, forgotten_waker) = counting_waker();
    let (other_woken, other_waker) = counting_waker();
    let mut forgotten = pin!(s1.send(13));
    let mut other = pin!(s2.send(42));
    assert!(forgotten.as_mut().poll(&mut Context::from_waker(&forgotten_waker)).is_pending());
    assert!(other.as_mut().poll(&mut Context::from_waker(&other_waker)).is_pending());
    assert_eq!(block_on(rx.recv()), Ok(3));
    assert_eq!(block_on(rx.recv()), Ok(7));
    // The forgotten send is never polled again from here on.
    assert!(wakes(&other_woken) >= 1, "the other waiting send was never woken");
    assert_eq!(other.as_mut().poll(&mut Context::from_waker(&other_waker)), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(42));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "the forgotten send sent nothing");
}

/// A message whose drop panics, counting every drop in a shared counter.
struct PanicOnDrop {
    panics: bool,
    drops: Arc<AtomicUsize>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("message {} panicked in drop", self.drops.load(Ordering::SeqCst));
        }
    }
}

/// tokio's `drop_all_elements_during_panic`: dropping the receiver drops every queued message at
/// once even when some of them panic in their drop, then re-raises the first panic.
fn dropping_the_receiver_drops_every_message_although_one_panics(capacity: Option<usize>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = capacity.map_or_else(unbounded, bounded);
    for panics in [false, true, false, true, false] {
        tx.try_send(PanicOnDrop { panics, drops: drops.clone() }).unwrap();
    }
    let panicked = catch_unwind(AssertUnwindSafe(move || drop(rx)));
    let dropped_with_the_receiver = drops.load(Ordering::SeqCst);
    assert!(tx.is_closed());
    // Whatever was left is dropped with the last sender; caught so that a failure below is
    // reported rather than turned into a panic during unwinding (an abort).
    let sender_drop = catch_unwind(AssertUnwindSafe(move || drop(tx)));
    assert_eq!(dropped_with_the_receiver, 5, "every message is dropped with the receiver");
    assert!(sender_drop.is_ok(), "nothing was left for the last sender to drop");
    assert_eq!(drops.load(Ordering::SeqCst), 5, "and none is dropped twice");
    let payload = panicked.expect_err("the panic of a message's drop is raised again");
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("message 2 panicked in drop"));
}

#[test]
fn dropping_a_bounded_receiver_drops_every_message_although_one_panics() {
    dropping_the_receiver_drops_every_message_although_one_panics(Some(8));
}

#[test]
fn dropping_an_unbounded_receiver_drops_every_message_although_one_panics() {
    dropping_the_receiver_drops_every_message_although_one_panics(None);
}

#[test]
fn a_receiver_dropped_while_unwinding_drops_every_message_and_keeps_the_original_panic() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(4);
    for panics in [true, false, true] {
        tx.try_send(PanicOnDrop { panics, drops: drops.clone() }).unwrap();
    }
    let panicked = catch_unwind(AssertUnwindSafe(move || {
        let _rx = rx;
        panic!("the original panic");
    }));
    assert_eq!(drops.load(Ordering::SeqCst), 3, "every message is dropped with the receiver");
    let payload = panicked.expect_err("the scope panicked");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the original panic"));
}
