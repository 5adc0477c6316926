//! Many producers, one consumer: every message arrives exactly once.

use std::thread;

use futures_lite::future::block_on;
use reactor_channel::{bounded, unbounded, Receiver, Sender};

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 20_000;

/// Sends `PER_PRODUCER` tagged messages from each of `PRODUCERS` threads, receives them all, and
/// checks that each arrived exactly once and each producer's messages arrived in order.
fn every_message_exactly_once(tx: Sender<u64>, mut rx: Receiver<u64>, async_producers: bool) {
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let message = producer * PER_PRODUCER + i;
                    if async_producers {
                        block_on(tx.send(message)).unwrap();
                    } else {
                        tx.send_blocking(message).unwrap();
                    }
                }
            })
        })
        .collect();
    drop(tx);

    let mut seen = vec![false; (PRODUCERS * PER_PRODUCER) as usize];
    let mut next_per_producer = vec![0; PRODUCERS as usize];
    let (mut count, mut sum) = (0u64, 0u64);
    block_on(async {
        while let Ok(message) = rx.recv().await {
            assert!(!seen[message as usize], "message {message} arrived twice");
            seen[message as usize] = true;
            let producer = (message / PER_PRODUCER) as usize;
            assert_eq!(message % PER_PRODUCER, next_per_producer[producer], "out of order");
            next_per_producer[producer] += 1;
            count += 1;
            sum += message;
        }
    });
    producers.into_iter().for_each(|producer| producer.join().unwrap());
    let total = PRODUCERS * PER_PRODUCER;
    assert_eq!(count, total);
    assert_eq!(sum, total * (total - 1) / 2, "checksum of all messages");
}

#[test]
fn bounded_channel_delivers_every_message_exactly_once() {
    let (tx, rx) = bounded(16);
    every_message_exactly_once(tx, rx, false);
}

#[test]
fn capacity_one_channel_delivers_every_message_exactly_once() {
    let (tx, rx) = bounded(1);
    every_message_exactly_once(tx, rx, true);
}

#[test]
fn unbounded_channel_delivers_every_message_exactly_once() {
    let (tx, rx) = unbounded();
    every_message_exactly_once(tx, rx, true);
}
