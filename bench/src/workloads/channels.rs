//! Workloads on each runtime's own bounded channel.

use std::time::Instant;

use crate::runtime::{ChannelReceiver, ChannelSender, Runtime, Spawner};
use crate::sizes::Sizes;
use crate::stats::ms;
use crate::workloads::{ensure, on_worker, Failure, Outcome};

/// Pairs of tasks bouncing a counter over two capacity-1 channels; the pinger checks that every
/// reply is its message plus one.
pub(crate) fn ping_pong<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let (pairs, round_trips) = (sizes.ping_pong_pairs, sizes.ping_pong_round_trips as u64);
    let spawner = runtime.spawner();
    let start = Instant::now();
    let completed = on_worker(runtime, async move {
        let pingers: Vec<_> = (0..pairs)
            .map(|_| {
                let (ping_tx, mut ping_rx) = R::bounded::<u64>(1);
                let (pong_tx, mut pong_rx) = R::bounded::<u64>(1);
                spawner.spawn_detached(async move {
                    while let Some(ping) = ping_rx.recv().await {
                        pong_tx.send(ping + 1).await;
                    }
                });
                spawner.spawn(async move {
                    for ping in 0..round_trips {
                        ping_tx.send(ping).await;
                        if pong_rx.recv().await != Some(ping + 1) {
                            return Err(format!("ping {ping} got a wrong pong"));
                        }
                    }
                    Ok(round_trips)
                })
            })
            .collect();
        let mut completed = 0;
        for pinger in pingers {
            completed += pinger.await?;
        }
        Ok::<_, Failure>(completed)
    })?;
    let elapsed = start.elapsed();
    let expected = pairs as u64 * round_trips;
    ensure(completed == expected, || format!("{completed} round trips completed, expected {expected}"))?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}

/// Producer tasks each sending their own range of numbers into one bounded channel; the
/// consumer checks the count and the sum.
pub(crate) fn many_to_one<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let (producers, per_producer) = (sizes.producers as u64, sizes.messages_per_producer as u64);
    let capacity = sizes.producer_channel_capacity;
    let spawner = runtime.spawner();
    let start = Instant::now();
    let (count, sum) = on_worker(runtime, async move {
        let (tx, mut rx) = R::bounded::<u64>(capacity);
        for producer in 0..producers {
            let tx = tx.clone();
            spawner.spawn_detached(async move {
                for message in producer * per_producer..(producer + 1) * per_producer {
                    tx.send(message).await;
                }
            });
        }
        drop(tx);
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(message) = rx.recv().await {
            count += 1;
            sum += message;
        }
        (count, sum)
    });
    let elapsed = start.elapsed();
    let total = producers * per_producer;
    ensure(count == total, || format!("{count} messages received, expected {total}"))?;
    let expected = total * total.saturating_sub(1) / 2;
    ensure(sum == expected, || format!("messages sum to {sum}, expected {expected}"))?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}
