//! Consuming channels with callbacks on the loop, through `ChannelSource` composed with
//! `Parking` as the executor composes it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::{Composite, EventSource, Notifier, Parking};
use reactor_channel::{bounded, unbounded, ChannelSource};

/// A channel source composed with a parking source, and the messages its callbacks saw.
fn looped(channels: &ChannelSource) -> Composite {
    Composite::new(Parking::new()).unwrap().with(channels.clone()).expect("ChannelSource is passive")
}

fn recorder() -> (Arc<Mutex<Vec<u32>>>, impl FnMut(u32) + Send + 'static) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    (seen, move |message| record.lock().unwrap().push(message))
}

#[test]
fn the_source_is_passive_and_findable_by_type() {
    let channels = ChannelSource::new();
    assert!(!channels.can_block());
    let source = looped(&channels);
    let found = source.component(std::any::TypeId::of::<ChannelSource>());
    assert!(found.and_then(|found| found.downcast_ref::<ChannelSource>()).is_some());
}

#[test]
fn queued_messages_are_delivered_in_order_on_the_next_wait() {
    let channels = ChannelSource::new();
    let source = looped(&channels);
    let (tx, rx) = unbounded();
    for i in 0..10 {
        tx.try_send(i).unwrap();
    }
    let (seen, record) = recorder();
    let _registration = channels.register(rx, record);
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 10);
    assert_eq!(*seen.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(channels.deadline(), None, "nothing left to do");
}

#[test]
fn a_send_from_a_plain_thread_wakes_an_idle_loop() {
    let channels = ChannelSource::new();
    let source = looped(&channels);
    let (tx, rx) = bounded(4);
    let (seen, record) = recorder();
    let _registration = channels.register(rx, record);
    source.wait(Some(Duration::ZERO)).unwrap(); // registers the waker; the loop is now idle
    let sender = thread::spawn(move || tx.send_blocking(42).unwrap());
    while seen.lock().unwrap().is_empty() {
        source.wait(None).unwrap(); // blocks until the send notifies it
    }
    assert_eq!(*seen.lock().unwrap(), vec![42]);
    sender.join().unwrap();
}

#[test]
fn a_busy_channel_is_drained_in_batches_and_asks_to_run_again() {
    let channels = ChannelSource::with_batch_limit(4);
    let source = looped(&channels);
    let (busy_tx, busy_rx) = unbounded();
    let (quiet_tx, quiet_rx) = unbounded();
    for i in 0..10 {
        busy_tx.try_send(i).unwrap();
    }
    quiet_tx.try_send(100).unwrap();
    let (seen, record) = recorder();
    let (quiet_seen, quiet_record) = recorder();
    let _busy = channels.register(busy_rx, record);
    let _quiet = channels.register(quiet_rx, quiet_record);

    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 5, "4 of the busy channel, 1 quiet");
    assert_eq!(*quiet_seen.lock().unwrap(), vec![100], "the quiet channel is not starved");
    let deadline = channels.deadline().expect("messages remain");
    assert!(deadline <= Instant::now(), "the source asks to run again at once");

    // A blocking wait returns at once because of that deadline: no notify is needed.
    assert_eq!(source.wait(None).unwrap(), 4);
    assert_eq!(source.wait(None).unwrap(), 2);
    assert_eq!(*seen.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(channels.deadline(), None);
}

#[test]
fn the_notifier_is_called_once_per_idle_to_ready_change_not_per_message() {
    let channels = ChannelSource::new();
    let notifications = Arc::new(AtomicUsize::new(0));
    let counter = notifications.clone();
    channels
        .attach(Notifier::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }))
        .unwrap();
    let (tx, rx) = unbounded();
    let (seen, record) = recorder();
    let _registration = channels.register(rx, record);
    assert_eq!(notifications.load(Ordering::SeqCst), 1, "registration queues the channel");
    channels.wait(Some(Duration::ZERO)).unwrap();

    for i in 0..50 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(notifications.load(Ordering::SeqCst), 2, "one notify for a burst of sends");
    assert_eq!(channels.wait(Some(Duration::ZERO)).unwrap(), 50);
    tx.try_send(50).unwrap();
    assert_eq!(notifications.load(Ordering::SeqCst), 3, "idle again, so the next send notifies");
    assert_eq!(seen.lock().unwrap().len(), 50);
}

#[test]
fn dropping_the_registration_stops_callbacks_and_closes_the_channel() {
    let channels = ChannelSource::new();
    let source = looped(&channels);
    let (tx, rx) = unbounded();
    let (seen, record) = recorder();
    let registration = channels.register(rx, record);
    tx.try_send(1).unwrap();
    drop(registration);
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert!(seen.lock().unwrap().is_empty());
    assert!(tx.is_closed(), "the receiver went with the registration");
    assert_eq!(tx.try_send(2).unwrap_err().into_inner(), 2);
}

#[test]
fn a_closed_channel_delivers_its_last_messages_then_goes_quiet() {
    let channels = ChannelSource::new();
    let source = looped(&channels);
    let (tx, rx) = unbounded();
    let (seen, record) = recorder();
    let _registration = channels.register(rx, record);
    source.wait(Some(Duration::ZERO)).unwrap();
    tx.try_send(1).unwrap();
    drop(tx);
    assert_eq!(source.wait(None).unwrap(), 1);
    assert_eq!(channels.deadline(), None);
    assert_eq!(*seen.lock().unwrap(), vec![1]);
}

#[test]
fn many_producers_reach_one_callback() {
    const PRODUCERS: u32 = 4;
    // Under Miri (interpreted, about a thousand times slower) fewer messages still interleave.
    const PER_PRODUCER: u32 = if cfg!(miri) { 50 } else { 1_000 };
    let channels = ChannelSource::with_batch_limit(16);
    let source = looped(&channels);
    let (tx, rx) = bounded(8);
    let (seen, record) = recorder();
    let _registration = channels.register(rx, record);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                (0..PER_PRODUCER).for_each(|i| tx.send_blocking(p * PER_PRODUCER + i).unwrap())
            })
        })
        .collect();
    drop(tx);
    while seen.lock().unwrap().len() < (PRODUCERS * PER_PRODUCER) as usize {
        source.wait(None).unwrap();
    }
    producers.into_iter().for_each(|producer| producer.join().unwrap());
    let mut all = seen.lock().unwrap().clone();
    all.sort_unstable();
    assert_eq!(all, (0..PRODUCERS * PER_PRODUCER).collect::<Vec<_>>());
}

#[test]
fn a_panicking_callback_does_not_stall_its_channel() {
    let channels = ChannelSource::new();
    let source = looped(&channels);
    let (tx, rx) = unbounded();
    let (seen, mut record) = recorder();
    let _registration = channels.register(rx, move |message| {
        assert_ne!(message, 1, "the callback fails on message 1");
        record(message);
    });
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.wait(Some(Duration::ZERO))));
    assert!(panicked.is_err());
    assert!(channels.deadline().is_some(), "the channel is still ready");
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 1);
    assert_eq!(*seen.lock().unwrap(), vec![0, 2], "only the message whose callback panicked is lost");
}
