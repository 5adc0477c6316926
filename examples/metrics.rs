//! The runtime's metrics under load: TCP echo clients on loopback, tasks that yield and sleep,
//! and blocking jobs, on the default runtime, with one metrics line a second.
//!
//! ```sh
//! cargo run --release --example metrics          # 3 seconds
//! cargo run --release --example metrics -- 10    # 10 seconds (at most 60)
//! ```
//!
//! Each line is the live snapshot's logfmt (`MetricsSnapshot`'s `Display`), then what moved in
//! the last second: tasks polled, and events dispatched per wait of the I/O backend.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_epoll::metrics::MetricsSnapshot;
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::time::sleep;
use reactor_epoll::Runtime;

/// Echo clients, each with one connection.
const CLIENTS: usize = 8;
/// Tasks that yield and nap in a loop.
const NAPPERS: usize = 32;
/// The longest run accepted, in seconds: the example always ends by itself.
const MAX_SECONDS: u64 = 60;

fn main() -> std::io::Result<()> {
    let seconds = match std::env::args().nth(1) {
        Some(arg) => arg.parse::<u64>().map_err(|error| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("seconds {arg:?}: {error}"))
        })?,
        None => 3,
    }
    .clamp(1, MAX_SECONDS);
    let runtime = Runtime::new()?;
    let metrics = runtime.metrics();
    let stop = Arc::new(AtomicBool::new(false));
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = runtime.spawn(serve(listener));
        let clients: Vec<_> = (0..CLIENTS).map(|_| runtime.spawn(client(addr, stop.clone()))).collect();
        let nappers: Vec<_> = (0..NAPPERS).map(|index| runtime.spawn(nap(index, stop.clone()))).collect();
        let started = Instant::now();
        let mut last = metrics.snapshot();
        for second in 1..=seconds {
            // A blocking job a second, so the pool's gauges have something to show.
            runtime.spawn_blocking(|| std::thread::sleep(Duration::from_millis(200))).detach();
            sleep(Duration::from_secs(1)).await;
            let now = metrics.snapshot();
            println!("t={second}s {now} {}", moved(&last, &now));
            last = now;
        }
        stop.store(true, Ordering::Relaxed);
        let mut echoed = 0;
        for client in clients {
            echoed += client.await.map_err(|error| std::io::Error::other(error.to_string()))??;
        }
        for napper in nappers {
            napper.await.map_err(|error| std::io::Error::other(error.to_string()))?;
        }
        drop(server); // cancels the accept loop and its connections
        println!("done after {:?}: {echoed} echo round trips", started.elapsed());
        Ok::<(), std::io::Error>(())
    })?;
    println!("final {}", metrics.snapshot());
    Ok(())
}

/// What moved between two snapshots a second apart.
fn moved(last: &MetricsSnapshot, now: &MetricsSnapshot) -> String {
    let waits = now.source_waits - last.source_waits;
    let events = now.events_dispatched - last.events_dispatched;
    let per_wait = if waits == 0 { 0.0 } else { events as f64 / waits as f64 };
    format!("polls/s={} events_per_wait={per_wait:.2}", now.total_polls() - last.total_polls())
}

/// Echoes every connection until it closes.
async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        reactor_epoll::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let _ = futures_lite::io::copy(&mut reader, &mut writer).await;
        })
        .detach();
    }
}

/// Sends a message and reads it back until `stop`; returns the round trips made.
async fn client(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    let message = [7u8; 64];
    let mut echo = [0u8; 64];
    let mut round_trips = 0;
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(&message).await?;
        stream.read_exact(&mut echo).await?;
        round_trips += 1;
    }
    Ok(round_trips)
}

/// Yields a few times, then naps on a timer, until `stop`.
async fn nap(index: usize, stop: Arc<AtomicBool>) {
    let nap = Duration::from_millis(1 + (index % 5) as u64);
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..10 {
            reactor_epoll::yield_now().await;
        }
        sleep(nap).await;
    }
}
