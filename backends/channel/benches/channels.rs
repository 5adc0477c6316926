//! reactor-channel against `tokio::sync::mpsc` and `async-channel`, side by side in one run, all
//! three driven by the same `reactor::Executor` (over `Parking`, one worker per core) so that only
//! the channels differ.
//!
//! * `throughput_4p1c`: 4 producer tasks send 10,000 messages each into a bounded channel of
//!   capacity 128; one consumer (the `block_on` future) receives them all.
//! * `ping_pong_cap1`: 1,000 round trips over two capacity-1 channels between two futures of one
//!   task, so the channels' own cost is measured rather than thread wake-ups.
//! * latency (printed, p50/p99): a foreign OS thread sends a timestamp into an idle channel; the
//!   receiving task records how long until it runs with the message. Tokio's channel is also
//!   measured on tokio's own multi-thread runtime, for reference.
//!
//! Run with `cargo bench -p reactor-channel --bench channels` (about a minute).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::future::Future;
use std::pin::Pin;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use futures_lite::future::{self, block_on};
use reactor::source::Parking;
use reactor::Executor;

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 10_000;
const THROUGHPUT_CAPACITY: usize = 128;
const ROUND_TRIPS: u64 = 1_000;
const LATENCY_SAMPLES: usize = 2_000;

/// One channel implementation, reduced to what the benchmarks need.
trait Flavor: 'static {
    const NAME: &'static str;
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;

    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64) -> impl Future<Output = ()> + Send + '_;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
}

struct Reactor;

impl Flavor for Reactor {
    const NAME: &'static str = "reactor-channel";
    type Tx = reactor_channel::Sender<u64>;
    type Rx = reactor_channel::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        reactor_channel::bounded(capacity)
    }

    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

struct Tokio;

impl Flavor for Tokio {
    const NAME: &'static str = "tokio-mpsc";
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(capacity)
    }

    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
}

struct AsyncChannel;

impl Flavor for AsyncChannel {
    const NAME: &'static str = "async-channel";
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;

    fn bounded(capacity: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(capacity)
    }

    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("receiver alive");
    }

    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
}

/// Sends `PRODUCERS * PER_PRODUCER` messages from `PRODUCERS` tasks and receives them all;
/// returns the time until the last message was received.
fn four_producers_one_consumer<F: Flavor>(executor: &Executor<Parking>) -> Duration {
    let (tx, mut rx) = F::bounded(THROUGHPUT_CAPACITY);
    let start = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let tx = tx.clone();
            executor.spawn(async move {
                for i in 0..PER_PRODUCER {
                    F::send(&tx, i).await;
                }
            })
        })
        .collect();
    drop(tx);
    let received = executor.block_on(async {
        let mut count = 0;
        while F::recv(&mut rx).await.is_some() {
            count += 1;
        }
        count
    });
    let elapsed = start.elapsed();
    assert_eq!(received, PRODUCERS * PER_PRODUCER);
    for producer in producers {
        executor.block_on(producer).expect("producer");
    }
    elapsed
}

/// `ROUND_TRIPS` ping-pongs over two capacity-1 channels, both ends polled on this thread.
fn ping_pong<F: Flavor>(executor: &Executor<Parking>) {
    let (ping_tx, mut ping_rx) = F::bounded(1);
    let (pong_tx, mut pong_rx) = F::bounded(1);
    let pinger = async move {
        for i in 0..ROUND_TRIPS {
            F::send(&ping_tx, i).await;
            assert_eq!(F::recv(&mut pong_rx).await, Some(i));
        }
    };
    let ponger = async move {
        while let Some(i) = F::recv(&mut ping_rx).await {
            F::send(&pong_tx, i).await;
        }
    };
    executor.block_on(future::zip(pinger, ponger));
}

fn throughput(c: &mut Criterion) {
    let executor = Executor::new(Parking::new()).expect("executor");
    let mut group = c.benchmark_group("throughput_4p1c");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(PRODUCERS * PER_PRODUCER));
    fn run<F: Flavor>(group: &mut BenchmarkGroup<'_, WallTime>, executor: &Executor<Parking>) {
        group.bench_function(BenchmarkId::from_parameter(F::NAME), |b| {
            b.iter_custom(|iterations| {
                (0..iterations).map(|_| four_producers_one_consumer::<F>(executor)).sum()
            });
        });
    }
    run::<Reactor>(&mut group, &executor);
    run::<Tokio>(&mut group, &executor);
    run::<AsyncChannel>(&mut group, &executor);
    group.finish();
}

fn round_trips(c: &mut Criterion) {
    let executor = Executor::new(Parking::new()).expect("executor");
    let mut group = c.benchmark_group("ping_pong_cap1");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    fn run<F: Flavor>(group: &mut BenchmarkGroup<'_, WallTime>, executor: &Executor<Parking>) {
        group.bench_function(BenchmarkId::from_parameter(F::NAME), |b| b.iter(|| ping_pong::<F>(executor)));
    }
    run::<Reactor>(&mut group, &executor);
    run::<Tokio>(&mut group, &executor);
    run::<AsyncChannel>(&mut group, &executor);
    group.finish();
}

/// Latency from a send on a foreign thread to the receiving task running with the message. The
/// receiver waits on an idle channel each time: the sender waits for an acknowledgement before
/// the next send. `run` runs the receiving future as a task of some runtime, to completion.
/// Returns the samples, sorted.
fn foreign_send_latency<F: Flavor>(
    run: impl FnOnce(Pin<Box<dyn Future<Output = Vec<Duration>> + Send>>) -> Vec<Duration>,
) -> Vec<Duration> {
    let (tx, mut rx) = F::bounded(1);
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let base = Instant::now();
    let sender = thread::spawn(move || {
        for _ in 0..LATENCY_SAMPLES {
            block_on(F::send(&tx, base.elapsed().as_nanos() as u64));
            ack_rx.recv().expect("receiver alive");
        }
    });
    let mut samples = run(Box::pin(async move {
        let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
        while let Some(sent_at) = F::recv(&mut rx).await {
            samples.push(base.elapsed() - Duration::from_nanos(sent_at));
            let _ = ack_tx.send(());
        }
        samples
    }));
    sender.join().expect("sender");
    samples.sort_unstable();
    samples
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn latency_report() {
    println!("\nforeign-thread send -> receiving task running ({LATENCY_SAMPLES} samples each)");
    fn print(name: &str, samples: &[Duration]) {
        println!(
            "  {name:<28} p50 {:>9.2?}  p99 {:>9.2?}",
            percentile(samples, 0.50),
            percentile(samples, 0.99)
        );
    }
    fn on_reactor<F: Flavor>(executor: &Executor<Parking>) {
        let samples = foreign_send_latency::<F>(|receiver| {
            executor.block_on(executor.spawn(receiver)).expect("receiver")
        });
        print(&format!("{} (reactor executor)", F::NAME), &samples);
    }
    let executor = Executor::new(Parking::new()).expect("executor");
    on_reactor::<Reactor>(&executor);
    on_reactor::<Tokio>(&executor);
    on_reactor::<AsyncChannel>(&executor);
    let runtime = tokio::runtime::Builder::new_multi_thread().build().expect("tokio runtime");
    let samples = foreign_send_latency::<Tokio>(|receiver| {
        runtime.block_on(runtime.spawn(receiver)).expect("receiver")
    });
    print("tokio-mpsc (tokio runtime)", &samples);
}

criterion_group!(benches, throughput, round_trips);

fn main() {
    benches();
    latency_report();
    Criterion::default().configure_from_args().final_summary();
}
