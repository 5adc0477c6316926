//! The MPSC calls that mirror tokio's: `Sender::closed` racing with the receiver's drop or
//! close, `WeakSender::upgrade` racing with the drop of the last sender, and
//! `Receiver::recv_many` racing with sends and the close.
//!
//! As in `channel_mpsc.rs`, a thread that may still wake the main thread after the main thread's
//! blocking wait returned is not joined (loom 0.7 mistakes that unpark for the join's own).
#![cfg(reactor_loom)]

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use loom::thread;
use reactor_channel::loom_internals::seeded_bug::{self, Bug};
use reactor_channel::loom_internals::WakeCounter;
use reactor_channel::{bounded, unbounded};
use reactor_loom::{assert_loom_catches, model};

/// Polls `future` on this (loom) thread, parking it between polls; the waker unparks it.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        thread::park();
    }
}

/// Two `closed` waits on one sender (two tasks sharing it) are polled once while the receiver
/// drops or closes on another thread: each wait sees the close or is woken by it.
fn every_closed_wait_is_woken_by_the_receiver(close: bool) {
    model(move || {
        let (tx, rx) = unbounded::<u8>();
        let receiver = thread::spawn(move || {
            if close {
                rx.close();
                Some(rx)
            } else {
                drop(rx);
                None
            }
        });
        let mut waits = [tx.closed(), tx.closed()];
        let wakers = [WakeCounter::waker(), WakeCounter::waker()];
        let first: Vec<_> = waits
            .iter_mut()
            .zip(&wakers)
            .map(|(wait, (_, waker))| Pin::new(wait).poll(&mut Context::from_waker(waker)))
            .collect();
        let rx = receiver.join().unwrap();
        for ((wait, (woken, waker)), first) in waits.iter_mut().zip(&wakers).zip(first) {
            if first.is_pending() {
                assert!(woken.count() >= 1, "a waiting closed was not woken");
                assert!(Pin::new(wait).poll(&mut Context::from_waker(waker)).is_ready());
            }
        }
        drop(rx);
    });
}

#[test]
fn the_receivers_drop_racing_with_two_closed_waits_wakes_both() {
    every_closed_wait_is_woken_by_the_receiver(false);
}

#[test]
fn the_receivers_close_racing_with_two_closed_waits_wakes_both() {
    every_closed_wait_is_woken_by_the_receiver(true);
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_closed_skips_recheck() {
    seeded_bug::with(Bug::ClosedSkipsRecheck, || every_closed_wait_is_woken_by_the_receiver(false));
}

#[test]
fn negative_control_a_closed_wait_that_does_not_look_again_after_listening_is_caught() {
    assert_loom_catches("seeded_closed_skips_recheck", "a waiting closed was not woken");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_close_skips_closed_notify() {
    seeded_bug::with(Bug::CloseSkipsClosedNotify, || every_closed_wait_is_woken_by_the_receiver(true));
}

#[test]
fn negative_control_a_close_that_does_not_notify_the_closed_waits_is_caught() {
    assert_loom_catches("seeded_close_skips_closed_notify", "a waiting closed was not woken");
}

/// A weak sender upgrades while the last sender drops on another thread: the upgrade gets a
/// sender of an open channel (its send arrives) or `None`; once both are gone the channel is
/// closed and stays so.
fn an_upgrade_racing_with_the_last_drop_never_revives_a_closed_channel() {
    model(|| {
        let (tx, mut rx) = unbounded();
        let weak = tx.downgrade();
        let dropper = thread::spawn(move || drop(tx));
        let upgraded = weak.upgrade();
        if let Some(sender) = &upgraded {
            assert!(sender.try_send(1).is_ok(), "an upgraded sender found the channel closed");
        }
        let sent = upgraded.is_some();
        drop(upgraded);
        dropper.join().unwrap();
        assert!(weak.upgrade().is_none(), "an upgrade after every sender dropped");
        assert!(rx.is_closed());
        if sent {
            assert_eq!(rx.try_recv(), Ok(1));
        }
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn an_upgrade_racing_with_the_last_senders_drop_gets_an_open_channel_or_none() {
    an_upgrade_racing_with_the_last_drop_never_revives_a_closed_channel();
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_upgrade_checks_then_increments() {
    seeded_bug::with(
        Bug::UpgradeChecksThenIncrements,
        an_upgrade_racing_with_the_last_drop_never_revives_a_closed_channel,
    );
}

#[test]
fn negative_control_an_upgrade_that_checks_then_increments_is_caught() {
    assert_loom_catches(
        "seeded_upgrade_checks_then_increments",
        "an upgraded sender found the channel closed",
    );
}

/// `recv_many` with a limit of two on a channel of one, while another thread sends two messages
/// (waiting for room) and drops the sender: every message arrives, in order, each batch holds one
/// to two, and the end (0) comes only after the last.
fn recv_many_gets_every_message_before_the_end() {
    model(|| {
        let (tx, mut rx) = bounded(1);
        let sender = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            tx.send_blocking(2).unwrap();
        });
        let mut buffer = Vec::new();
        loop {
            let taken = block_on(rx.recv_many(&mut buffer, 2));
            if taken == 0 {
                break;
            }
            assert!(taken <= 2, "a batch over the limit");
        }
        assert_eq!(buffer, [1, 2], "a message sent before the close was lost");
        drop(sender); // not joined: see the module docs
    });
}

#[test]
fn recv_many_racing_with_sends_and_the_close_gets_every_message() {
    recv_many_gets_every_message_before_the_end();
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_recv_many_ends_on_close() {
    seeded_bug::with(Bug::RecvManyEndsOnClose, recv_many_gets_every_message_before_the_end);
}

#[test]
fn negative_control_recv_many_that_ends_as_soon_as_the_channel_closes_is_caught() {
    assert_loom_catches("seeded_recv_many_ends_on_close", "a message sent before the close was lost");
}
