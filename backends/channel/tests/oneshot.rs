//! Behaviour of the oneshot channel, through the public API.

mod support;

use std::pin::pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread;

use futures_lite::future::{block_on, poll_once};
use reactor_channel::{oneshot, RecvError, SendError, TryRecvError};
use support::{within_30s, DropCounter};

#[test]
fn the_value_arrives() {
    let (tx, rx) = oneshot();
    tx.send(1).unwrap();
    assert_eq!(block_on(rx), Ok(1));
}

#[test]
fn the_value_arrives_from_another_thread_while_waiting() {
    let (tx, rx) = oneshot();
    let sender = thread::spawn(move || tx.send("hi").unwrap());
    assert_eq!(rx.recv_blocking(), Ok("hi"));
    sender.join().unwrap();
}

#[test]
fn a_sender_dropped_without_sending_ends_the_wait_with_an_error() {
    let (tx, rx) = oneshot::<u8>();
    let dropper = thread::spawn(move || drop(tx));
    assert_eq!(block_on(rx), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn send_to_a_dropped_receiver_hands_the_value_back() {
    let (tx, rx) = oneshot();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(7), Err(SendError(7)));
}

#[test]
fn try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = oneshot();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.is_closed());
    tx.send(3).unwrap();
    assert!(rx.is_closed(), "the sender is consumed by send");
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn awaiting_is_cancel_safe() {
    let (tx, mut rx) = oneshot();
    {
        let mut waiting = pin!(&mut rx);
        assert_eq!(block_on(poll_once(waiting.as_mut())), None);
        tx.send(9).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(9), "the value waits for the next receive");
}

#[test]
fn an_unreceived_value_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot();
    tx.send(DropCounter(drops.clone())).unwrap();
    assert_eq!(DropCounter::count(&drops), 0);
    drop(rx);
    assert_eq!(DropCounter::count(&drops), 1);

    let (tx, rx) = oneshot();
    drop(rx);
    let returned = tx.send(DropCounter(drops.clone())).unwrap_err().into_inner();
    assert_eq!(DropCounter::count(&drops), 1, "handed back, not dropped");
    drop(returned);
    assert_eq!(DropCounter::count(&drops), 2);
}

// What tokio documents for `oneshot::Sender::closed`, `poll_closed` and `Receiver::close`.

#[test]
fn closed_completes_when_the_receiver_drops_on_another_thread() {
    within_30s(|| {
        let (mut tx, rx) = oneshot::<u8>();
        let dropper = thread::spawn(move || drop(rx));
        block_on(tx.closed());
        assert!(tx.is_closed());
        dropper.join().unwrap();
    });
}

#[test]
fn closed_completes_when_the_receiver_closes_and_the_send_then_hands_the_value_back() {
    within_30s(|| {
        let (mut tx, mut rx) = oneshot::<u8>();
        let closer = thread::spawn(move || {
            rx.close();
            rx
        });
        block_on(tx.closed());
        let mut rx = closer.join().unwrap();
        assert_eq!(tx.send(4), Err(SendError(4)));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn closed_stays_pending_while_the_receiver_lives_and_dropping_it_is_harmless() {
    let (mut tx, rx) = oneshot::<u8>();
    assert_eq!(block_on(poll_once(tx.closed())), None, "polled once, then dropped");
    assert_eq!(block_on(poll_once(tx.closed())), None);
    drop(rx);
    assert_eq!(block_on(poll_once(tx.closed())), Some(()));
    assert_eq!(block_on(poll_once(tx.closed())), Some(()), "stays complete");
}

#[test]
fn a_value_sent_before_close_can_still_be_taken() {
    let (tx, mut rx) = oneshot();
    tx.send(5).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn awaiting_a_closed_receiver_with_no_value_ends_with_an_error_instead_of_waiting() {
    let (tx, mut rx) = oneshot::<u8>();
    rx.close();
    assert_eq!(block_on(poll_once(rx)), Some(Err(RecvError)));
    assert!(tx.is_closed());
    assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
}

/// Close and send race on two threads many times: the value goes to exactly one side and is
/// dropped exactly once.
#[test]
fn close_racing_with_a_send_gives_the_value_to_exactly_one_side() {
    within_30s(|| {
        for _ in 0..2000 {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, mut rx) = oneshot();
            let closer = thread::spawn(move || {
                rx.close();
                rx.try_recv().ok()
            });
            let handed_back = tx.send(DropCounter(drops.clone())).err();
            let received = closer.join().unwrap();
            assert!(handed_back.is_some() != received.is_some());
            drop((handed_back, received));
            assert_eq!(DropCounter::count(&drops), 1);
        }
    });
}
