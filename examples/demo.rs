//! The main demo: the default runtime doing I/O (its clients connecting by host name), timers,
//! channels, a custom source, plain task spawning, blocking calls on the blocking pool and child
//! processes streaming through async pipes, with measured figures. Finishes in a few seconds.
//!
//! Run with `cargo run --release --example demo`.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::PingSource;
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::process::{Command, Stdio};
use reactor_epoll::{channel, time, Runtime};

const CONNECTIONS: usize = 64;
const ROUND_TRIPS: usize = 2_000;
const TIMERS: usize = 1_000;
const MESSAGES: usize = 400_000;
const TASKS: u64 = 100_000;
const BLOCKING_JOBS: usize = 64;
const PROCESSES: usize = 16;

fn main() -> Result<(), Box<dyn Error>> {
    // A custom passive source joins the runtime's composite: epoll blocks, timers, channels and
    // this one wake it.
    let pings = PingSource::new();
    let runtime = Runtime::builder().source(pings.clone()).build()?;
    println!("reactor default runtime: epoll + timer + channel + a custom source\n");

    runtime.block_on(echo(CONNECTIONS, ROUND_TRIPS))?;
    runtime.block_on(timers(TIMERS))?;
    runtime.block_on(channels(MESSAGES))?;
    custom_source(&runtime, &pings)?;
    spawn_many(&runtime, TASKS)?;
    runtime.block_on(blocking(&runtime, BLOCKING_JOBS))?;
    runtime.block_on(processes(PROCESSES))?;
    Ok(())
}

/// Loopback echo: `connections` clients, each with one 64-byte message in flight at a time. The
/// clients connect by host name (`localhost:PORT`), resolved on the blocking pool.
async fn echo(connections: usize, round_trips: usize) -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await?;
    let server_name = format!("localhost:{}", listener.local_addr()?.port());
    let server = reactor_epoll::spawn(async move {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            reactor_epoll::spawn(async move {
                let mut buffer = [0u8; 64];
                while stream.read_exact(&mut buffer).await.is_ok() {
                    stream.write_all(&buffer).await?;
                }
                Ok::<_, std::io::Error>(())
            })
            .detach();
        }
        Ok::<_, std::io::Error>(())
    });
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|id| {
            let server_name = server_name.clone();
            reactor_epoll::spawn(async move {
                let mut stream = TcpStream::connect(server_name.as_str()).await?;
                stream.set_nodelay(true)?;
                let mut message = [0u8; 64];
                for round in 0..round_trips {
                    message.fill((id + round) as u8);
                    stream.write_all(&message).await?;
                    let mut echoed = [0u8; 64];
                    stream.read_exact(&mut echoed).await?;
                    if echoed != message {
                        return Err(std::io::Error::other("echo mismatch"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for client in clients {
        client.await??;
    }
    server.await??;
    let elapsed = start.elapsed();
    let total = connections * round_trips;
    println!(
        "tcp echo      {connections} connections to {server_name} x {round_trips} round trips of 64 bytes: {total} in {elapsed:.2?} = {:.0} round trips/s",
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// `count` sleeps of 1 to 5 ms armed together; how late each one woke.
async fn timers(count: usize) -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let sleepers: Vec<_> = (0..count)
        .map(|i| {
            let deadline = start + Duration::from_micros(1_000 + (i as u64 * 7_919) % 4_000);
            reactor_epoll::spawn(async move {
                time::sleep_until(deadline).await;
                Instant::now().saturating_duration_since(deadline)
            })
        })
        .collect();
    let mut lateness = Vec::with_capacity(count);
    for sleeper in sleepers {
        lateness.push(sleeper.await?);
    }
    lateness.sort_unstable();
    println!(
        "timers        {count} sleeps of 1-5 ms: lateness p50 {:.1?}, p99 {:.1?}, max {:.1?} (none early)",
        lateness[count / 2],
        lateness[count * 99 / 100],
        lateness[count - 1]
    );
    Ok(())
}

/// 4 plain OS threads send `messages` into one bounded channel consumed by a task.
async fn channels(messages: usize) -> Result<(), Box<dyn Error>> {
    let (sender, mut receiver) = channel::bounded::<usize>(1_024);
    let start = Instant::now();
    let producers: Vec<_> = (0..4)
        .map(|producer| {
            let sender = sender.clone();
            thread::spawn(move || {
                for i in (producer..messages).step_by(4) {
                    if sender.send_blocking(i).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let mut sum = 0usize;
    let mut received = 0usize;
    while let Ok(value) = receiver.recv().await {
        sum += value;
        received += 1;
    }
    let elapsed = start.elapsed();
    for producer in producers {
        producer.join().map_err(|_| "a producer thread panicked")?;
    }
    if received != messages || sum != (0..messages).sum::<usize>() {
        return Err("channel lost or duplicated messages".into());
    }
    println!(
        "channel       4 OS threads -> 1 task, {messages} messages in {elapsed:.2?} = {:.1} M messages/s",
        messages as f64 / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}

/// Pings from this plain thread (outside the runtime) run a callback on the loop, which spawns
/// a task.
fn custom_source(runtime: &Runtime, pings: &PingSource) -> Result<(), Box<dyn Error>> {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let handle = runtime.handle();
    let (ping, _registration) = pings.register(move || {
        let counter = counter.clone();
        handle.spawn(async move { counter.fetch_add(1, Ordering::SeqCst) }).detach();
    });
    let rounds = 1_000;
    let start = Instant::now();
    for round in 1..=rounds {
        ping.ping();
        runtime.block_on(async {
            while ran.load(Ordering::SeqCst) < round {
                reactor_epoll::yield_now().await;
            }
        });
    }
    let elapsed = start.elapsed();
    println!(
        "custom source {rounds} pings -> loop callback -> spawned task: {:.1} us per round trip",
        elapsed.as_secs_f64() * 1e6 / rounds as f64
    );
    Ok(())
}

/// Spawn `count` tiny tasks from inside the runtime and join them all.
fn spawn_many(runtime: &Runtime, count: u64) -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let sum = runtime.block_on(async {
        let tasks: Vec<_> = (0..count).map(|i| reactor_epoll::spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await?;
        }
        Ok::<_, reactor_epoll::JoinError>(sum)
    })?;
    if sum != (0..count).sum::<u64>() {
        return Err("a spawned task returned the wrong value".into());
    }
    let elapsed = start.elapsed();
    println!(
        "spawn         {count} tasks spawned and joined in {elapsed:.2?} = {:.2} M tasks/s",
        count as f64 / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}

/// `jobs` blocking calls (a 2 ms sleep each, standing in for a blocking syscall) on the blocking
/// pool, while a task keeps ticking on the workers.
async fn blocking(runtime: &Runtime, jobs: usize) -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    let ticker = reactor_epoll::spawn(async move {
        loop {
            time::sleep(Duration::from_millis(1)).await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let calls: Vec<_> = (0..jobs)
        .map(|_| reactor_epoll::spawn_blocking(|| thread::sleep(Duration::from_millis(2))))
        .collect();
    for call in calls {
        call.await?;
    }
    let elapsed = start.elapsed();
    drop(ticker);
    println!(
        "blocking pool {jobs} blocking 2 ms calls in {elapsed:.2?} on {} pool threads; the workers ticked {} times meanwhile",
        runtime.blocking_threads(),
        ticks.load(Ordering::Relaxed)
    );
    Ok(())
}

/// `count` child processes (`cat`) at once, each echoing 64 KiB through its async pipes: a task
/// writes its stdin while another reads its stdout; each exit arrives through a pidfd.
async fn processes(count: usize) -> Result<(), Box<dyn Error>> {
    const BYTES: usize = 64 * 1024;
    let start = Instant::now();
    let children: Vec<_> = (0..count)
        .map(|_| {
            reactor_epoll::spawn(async {
                let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
                let (mut stdin, mut stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
                let writer = reactor_epoll::spawn(async move { stdin.write_all(&[7; BYTES]).await });
                let mut echoed = Vec::with_capacity(BYTES);
                stdout.read_to_end(&mut echoed).await?;
                writer.await.map_err(|error| std::io::Error::other(error.to_string()))??;
                assert!(echoed.len() == BYTES && child.wait().await?.success());
                std::io::Result::Ok(())
            })
        })
        .collect();
    for child in children {
        child.await??;
    }
    println!(
        "processes     {count} cat children echoing {} KiB each through async pipes in {:.2?}",
        BYTES / 1024,
        start.elapsed()
    );
    Ok(())
}
