//! Wake latency: a plain thread sends a timestamp at a fixed interval; a task receives it.

use std::time::{Duration, Instant};

use crate::runtime::{ChannelReceiver, ChannelSender, Runtime};
use crate::sizes::Sizes;
use crate::stats::p50_p99_us;
use crate::workloads::{ensure, on_worker, Failure, Outcome};

/// p50/p99 of the time from a plain thread's send to the receiving task running; checks every
/// message arrived once and in order.
pub(crate) fn run<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let samples = sizes.wake_samples;
    let interval = Duration::from_micros(sizes.wake_interval_us);
    let (tx, mut rx) = R::bounded::<(usize, Instant)>(16);
    let sender = std::thread::spawn(move || {
        let start = Instant::now();
        for sequence in 0..samples {
            let due = start + interval * sequence as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            tx.send_blocking((sequence, Instant::now()));
        }
    });
    let received = on_worker(runtime, async move {
        let mut received = Vec::with_capacity(samples);
        while let Some((sequence, sent)) = rx.recv().await {
            received.push((sequence, sent.elapsed()));
        }
        received
    });
    sender.join().map_err(|_| "the sending thread panicked".to_string())?;
    ensure(received.len() == samples, || format!("{} of {samples} wake-ups arrived", received.len()))?;
    let mut latencies = Vec::with_capacity(samples);
    for (expected, &(sequence, latency)) in received.iter().enumerate() {
        ensure(sequence == expected, || format!("wake-up {sequence} arrived in place {expected}"))?;
        latencies.push(latency);
    }
    let (p50, p99) = p50_p99_us(&mut latencies);
    Ok(Outcome::Measured(vec![p50, p99]))
}
