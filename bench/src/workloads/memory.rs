//! Peak memory per idle task, per idle connection and per armed timer, each measured in a fresh
//! child process (`--probe`) so that one peer's peak cannot hide another's.
//!
//! The child records its resident memory once the runtime is built, creates the idle tasks or
//! accepts the idle connections (each held by a task blocked in a read), waits until every task
//! has been polled once, and reports its peak resident memory (`VmHWM`) minus that baseline,
//! divided by the count. The client ends of the connections live in the parent process, so
//! they are not counted.
//!
//! The timer probe arms its timers from one task (each a boxed sleep an hour or more away,
//! polled once so that it is registered), cancels them all by dropping them, lets the runtime
//! turn, and reports the peak per timer and what is still resident above the baseline: memory
//! that the runtime keeps from a burst it no longer needs.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::{Runtime, Spawner};
use crate::sys::memory::{peak_resident, resident};
use crate::sys::socket::{listen_loopback, reset_on_close};
use crate::workloads::{ensure, on_worker, Failure, Outcome, Workload};

/// Measures `workload` (a memory workload) with `count` idle items for the peer named `peer`,
/// in a child process running `--probe`.
pub(crate) fn measure(peer: &str, workload: Workload, count: usize) -> Result<Outcome, Failure> {
    let kind = probe_name(workload);
    let exe = std::env::current_exe().map_err(|error| format!("own executable: {error}"))?;
    let mut child = Command::new(exe)
        .args(["--probe", peer, kind, &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("starting the {kind} probe: {error}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let clients = if workload == Workload::IdleConnections {
        let addr = read_line(&mut lines, &mut child)?;
        let addr: SocketAddr = addr.parse().map_err(|error| format!("probe address {addr:?}: {error}"))?;
        connect_idle(addr, count)?
    } else {
        Vec::new()
    };
    let values = read_line(&mut lines, &mut child)?;
    drop(clients); // reset, so thousands of connections leave no TIME_WAIT behind
    drop(child.stdin.take()); // lets the probe exit
    let status = child.wait().map_err(|error| format!("waiting for the {kind} probe: {error}"))?;
    ensure(status.success(), || format!("the {kind} probe failed: {status}"))?;
    let values = values
        .split_whitespace()
        .map(|value| value.parse().map_err(|error| format!("probe result {value:?}: {error}")))
        .collect::<Result<Vec<f64>, _>>()?;
    Ok(Outcome::Measured(values))
}

/// The child side, on the `runtime` the probe process built: creates `count` idle items of
/// `kind`, prints the peak bytes per item (after the listening address, for connections; and
/// the MiB still resident once they are gone, for timers) and waits for its stdin to close, so
/// that the parent closes the clients first.
pub(crate) fn probe<R: Runtime>(runtime: &R, kind: &str, count: usize) -> Result<(), Failure> {
    let polled = Arc::new(AtomicUsize::new(0));
    let baseline = resident().map_err(|error| error.to_string())?;
    let mut settled = None;
    if kind == probe_name(Workload::TimerMemory) {
        on_worker(runtime, async move { arm_then_cancel::<R>(count).await })?;
        let left = resident().map_err(|error| error.to_string())?.saturating_sub(baseline);
        settled = Some(left as f64 / (1024.0 * 1024.0));
    } else if kind == probe_name(Workload::IdleTasks) {
        let spawner = runtime.spawner();
        let waiting = polled.clone();
        on_worker(runtime, async move {
            for _ in 0..count {
                let polled = waiting.clone();
                spawner.spawn_detached(async move {
                    polled.fetch_add(1, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                });
            }
            wait_until_polled::<R>(&waiting, count).await;
        });
    } else if kind == probe_name(Workload::IdleConnections) {
        let listener = listen_loopback(count).map_err(|error| format!("probe listener: {error}"))?;
        let addr = listener.local_addr().map_err(|error| error.to_string())?;
        println!("{addr}");
        std::io::stdout().flush().map_err(|error| error.to_string())?;
        runtime
            .block_on(async {
                runtime.idle_server(listener, count, polled.clone()).await?;
                wait_until_polled::<R>(&polled, count).await;
                Ok::<_, std::io::Error>(())
            })
            .map_err(|error| format!("idle server: {error}"))?;
    } else {
        return Err(format!("unknown probe {kind:?}"));
    }
    let peak = peak_resident().map_err(|error| error.to_string())?;
    let per_item = peak.saturating_sub(baseline) as f64 / count as f64;
    match settled {
        Some(settled) => println!("{per_item} {settled}"),
        None => println!("{per_item}"),
    }
    std::io::stdout().flush().map_err(|error| error.to_string())?;
    let _closed = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

/// The `--probe` argument naming a memory workload.
fn probe_name(workload: Workload) -> &'static str {
    match workload {
        Workload::IdleTasks => "idle-tasks",
        Workload::IdleConnections => "idle-connections",
        Workload::TimerMemory => "timer-memory",
        _ => unreachable!("{workload:?} is not a memory workload"),
    }
}

/// Timers armed per poll of the arming task: under tokio's cooperative budget (128), past which
/// a sleep returns `Pending` without registering.
const ARM_BATCH: usize = 64;

/// Arms `count` timers (distinct deadlines an hour or more away, each polled once so that it
/// is registered), then cancels them all by dropping them and lets the runtime turn.
///
/// The sleeps live side by side in one allocation, not boxed one by one: a million small boxes
/// freed at once stay in the allocator's free lists (glibc keeps them in its fast bins and does
/// not trim the heap), which would show as the runtime's memory though it is the benchmark's.
async fn arm_then_cancel<R: Runtime>(count: usize) -> Result<(), Failure> {
    let far = Instant::now() + Duration::from_secs(3600);
    let mut sleeps = PinnedFutures::with_capacity(count);
    while sleeps.len() < count {
        let first = sleeps.len();
        for index in first..count.min(first + ARM_BATCH) {
            sleeps.push(R::sleep_until(far + Duration::from_micros(index as u64)));
        }
        let pending = std::future::poll_fn(|cx| Poll::Ready(sleeps.poll_from(first, cx))).await;
        ensure(pending, || "a sleep an hour away completed".to_string())?;
        R::yield_now().await;
    }
    drop(sleeps);
    // Let the runtime turn (a timer driver may finish cancellations on its own thread).
    R::sleep_until(Instant::now() + Duration::from_millis(10)).await;
    Ok(())
}

/// Futures in one fixed-capacity allocation, each pinned where it was pushed until dropped.
struct PinnedFutures<F> {
    /// Never grows past its initial capacity, so it never moves an element.
    futures: Vec<F>,
}

impl<F: Future> PinnedFutures<F> {
    fn with_capacity(capacity: usize) -> Self {
        Self { futures: Vec::with_capacity(capacity) }
    }

    fn len(&self) -> usize {
        self.futures.len()
    }

    /// Adds `future`. Panics when full: growing would move the pinned futures.
    fn push(&mut self, future: F) {
        assert!(self.futures.len() < self.futures.capacity(), "PinnedFutures is full");
        self.futures.push(future);
    }

    /// Polls every future from index `first` on once; whether all are pending.
    fn poll_from(&mut self, first: usize, cx: &mut Context<'_>) -> bool {
        self.futures[first..].iter_mut().all(|future| {
            // SAFETY: `futures` never reallocates (`push` refuses to grow it) and nothing removes
            // or swaps an element, so each future stays at this address until the `Vec` drops it
            // in place.
            let future = unsafe { Pin::new_unchecked(future) };
            future.poll(cx).is_pending()
        })
    }
}

/// Yields until `count` tasks have been polled.
async fn wait_until_polled<R: Runtime>(polled: &AtomicUsize, count: usize) {
    while polled.load(Ordering::Relaxed) < count {
        R::yield_now().await;
    }
}

fn connect_idle(addr: SocketAddr, count: usize) -> Result<Vec<TcpStream>, Failure> {
    (0..count)
        .map(|index| {
            let stream = TcpStream::connect(addr)
                .map_err(|error| format!("idle connection {index} of {count}: {error}"))?;
            reset_on_close(&stream).map_err(|error| format!("SO_LINGER: {error}"))?;
            Ok(stream)
        })
        .collect()
}

fn read_line(lines: &mut BufReader<ChildStdout>, child: &mut Child) -> Result<String, Failure> {
    let mut line = String::new();
    match lines.read_line(&mut line) {
        Ok(0) | Err(_) => {
            let status = child.wait().map_err(|error| error.to_string())?;
            Err(format!("the memory probe ended without a result: {status}"))
        }
        Ok(_) => Ok(line.trim().to_string()),
    }
}
