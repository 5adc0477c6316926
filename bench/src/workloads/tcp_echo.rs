//! TCP echo over loopback against the shared load generator, for runtimes and the raw loop.

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use crate::loadgen::{self, MESSAGE_LEN};
use crate::stats::p50_p99_us;
use crate::sys::clock::process_cpu;
use crate::sys::socket::listen_loopback;
use crate::workloads::{ensure, Failure};

/// What one echo run measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Echo {
    /// Round trips per second.
    pub(crate) per_second: f64,
    /// Round trip latency p50, in microseconds.
    pub(crate) p50_us: f64,
    /// Round trip latency p99, in microseconds.
    pub(crate) p99_us: f64,
    /// The slowest round trip, in microseconds.
    pub(crate) max_us: f64,
    /// Server CPU time per round trip, in microseconds.
    pub(crate) cpu_per_trip_us: f64,
}

/// Runs `serve` (which must accept the given number of connections and echo them until EOF,
/// returning the bytes echoed) against the load generator on its own thread, with
/// `connections` connections of `trips` round trips each.
///
/// Measures round trips per second, latency p50/p99/max and the server's CPU time per round
/// trip: the process's CPU time over the run minus the load generator thread's own.
pub(crate) fn run(
    serve: impl FnOnce(TcpListener, usize) -> io::Result<u64>,
    connections: usize,
    trips: u32,
) -> Result<Echo, Failure> {
    let listener = listen_loopback(connections).map_err(|error| format!("echo listener: {error}"))?;
    let addr = listener.local_addr().map_err(|error| format!("echo listener: {error}"))?;
    let cpu_start = process_cpu();
    let load = std::thread::spawn(move || loadgen::drive(addr, connections, trips));
    // On a server error the load generator may wait forever: fail without joining it.
    let echoed = serve(listener, connections).map_err(|error| format!("echo server: {error}"))?;
    let mut load = load.join().map_err(|_| "the load generator panicked".to_string())??;
    let cpu = process_cpu() - cpu_start;
    let expected_trips = connections as u64 * u64::from(trips);
    ensure(load.round_trips == expected_trips, || {
        format!("{} round trips completed, expected {expected_trips}", load.round_trips)
    })?;
    let expected_bytes = expected_trips * MESSAGE_LEN as u64;
    ensure(echoed == expected_bytes, || format!("server echoed {echoed} bytes, expected {expected_bytes}"))?;
    let server_cpu = cpu.saturating_sub(load.thread_cpu);
    let (p50_us, p99_us) = p50_p99_us(&mut load.latencies);
    let max = load.latencies.last().copied().unwrap_or(Duration::ZERO);
    Ok(Echo {
        per_second: load.round_trips as f64 / load.elapsed.as_secs_f64(),
        p50_us,
        p99_us,
        max_us: max.as_secs_f64() * 1e6,
        cpu_per_trip_us: server_cpu.as_secs_f64() * 1e6 / load.round_trips as f64,
    })
}
