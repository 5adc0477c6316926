//! The TCP echo load generator: one plain blocking OS thread driving every connection through
//! its own small epoll loop, identical for every server, so servers differ and clients do not.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::sys::clock::{monotonic, realtime, thread_cpu};
use crate::sys::epoll::Epoll;

/// The size of every message, and the most bytes ever in flight on one connection.
pub(crate) const MESSAGE_LEN: usize = 64;

/// What one load generation measured.
#[derive(Debug)]
pub(crate) struct EchoLoad {
    /// Round trips completed, all verified byte for byte.
    pub(crate) round_trips: u64,
    /// From the first send to the last echo received.
    pub(crate) elapsed: Duration,
    /// Each round trip's time from send to the whole echo received.
    pub(crate) latencies: Vec<Duration>,
    /// CPU time of the load generator's thread over its whole run, connects included.
    pub(crate) thread_cpu: Duration,
}

/// One client connection and the message it has in flight.
struct Connection {
    stream: TcpStream,
    sent: [u8; MESSAGE_LEN],
    received: [u8; MESSAGE_LEN],
    filled: usize,
    trips_done: u32,
    sent_at: Instant,
}

/// Opens `connections` connections to `addr` and keeps one message in flight on each until
/// each has made `trips` round trips, checking every echoed byte; then closes them all.
///
/// Runs on the calling thread, which it measures.
pub(crate) fn drive(addr: SocketAddr, connections: usize, trips: u32) -> Result<EchoLoad, String> {
    let cpu_start = thread_cpu();
    let mut epoll = Epoll::new(connections).map_err(|error| format!("load generator epoll: {error}"))?;
    let mut open = Vec::with_capacity(connections);
    for index in 0..connections {
        let stream =
            connect(addr, &epoll, index).map_err(|error| format!("load generator connect: {error}"))?;
        let now = Instant::now();
        open.push(Connection {
            stream,
            sent: [0; MESSAGE_LEN],
            received: [0; MESSAGE_LEN],
            filled: 0,
            trips_done: 0,
            sent_at: now,
        });
    }
    let mut latencies = Vec::with_capacity(connections * trips as usize);
    let window_start = (monotonic(), realtime());
    let start = Instant::now();
    for (index, connection) in open.iter_mut().enumerate() {
        send_next(connection, index)?;
    }
    let mut active = if trips == 0 { 0 } else { connections };
    let mut ready = Vec::with_capacity(connections);
    while active > 0 {
        epoll.wait(&mut ready).map_err(|error| format!("load generator epoll_wait: {error}"))?;
        for &key in &ready {
            let index = key as usize;
            let connection = &mut open[index];
            if !receive(connection, index)? {
                continue;
            }
            latencies.push(connection.sent_at.elapsed());
            connection.trips_done += 1;
            if connection.trips_done == trips {
                active -= 1;
                epoll
                    .delete(connection.stream.as_raw_fd())
                    .map_err(|error| format!("load generator epoll_ctl: {error}"))?;
            } else {
                send_next(connection, index)?;
            }
        }
    }
    let elapsed = start.elapsed();
    let window_end = (monotonic(), realtime());
    drop(open); // the servers see EOF and finish
    record_window(window_start, window_end, latencies.len())?;
    Ok(EchoLoad {
        round_trips: latencies.len() as u64,
        elapsed,
        latencies,
        thread_cpu: thread_cpu() - cpu_start,
    })
}

/// The environment variable naming the file where [`drive`] records, for `bench/syscalls.sh`,
/// its own thread id (to leave its syscalls out), the window from just before its first send
/// to just after its last echo (on `CLOCK_MONOTONIC` and `CLOCK_REALTIME`, in nanoseconds) and
/// the round trips made in it.
pub(crate) const WINDOW_FILE: &str = "REACTOR_BENCH_ECHO_WINDOW";

/// Writes the window file if [`WINDOW_FILE`] names one: after the run, so that writing it
/// costs the run nothing.
fn record_window(
    start: (Duration, Duration),
    end: (Duration, Duration),
    round_trips: usize,
) -> Result<(), String> {
    let Some(path) = std::env::var_os(WINDOW_FILE) else { return Ok(()) };
    // SAFETY: `gettid` takes no argument and cannot fail.
    let tid = unsafe { libc::gettid() };
    let record = format!(
        "loadgen_tid {tid}\nmonotonic_start_ns {}\nmonotonic_end_ns {}\nrealtime_start_ns {}\n\
         realtime_end_ns {}\nround_trips {round_trips}\n",
        start.0.as_nanos(),
        end.0.as_nanos(),
        start.1.as_nanos(),
        end.1.as_nanos(),
    );
    std::fs::write(&path, record).map_err(|error| format!("{}: {error}", path.to_string_lossy()))
}

fn connect(addr: SocketAddr, epoll: &Epoll, index: usize) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    epoll.add_readable(stream.as_raw_fd(), index as u64)?;
    Ok(stream)
}

/// Sends the connection's next message, different for every connection and round trip.
fn send_next(connection: &mut Connection, index: usize) -> Result<(), String> {
    let seed = (index as u32).wrapping_mul(31).wrapping_add(connection.trips_done.wrapping_mul(7));
    connection.sent[..4].copy_from_slice(&(index as u32).to_le_bytes());
    connection.sent[4..8].copy_from_slice(&connection.trips_done.to_le_bytes());
    for (offset, byte) in connection.sent[8..].iter_mut().enumerate() {
        *byte = seed.wrapping_add(offset as u32) as u8;
    }
    connection.sent_at = Instant::now();
    match connection.stream.write(&connection.sent) {
        Ok(MESSAGE_LEN) => Ok(()),
        Ok(written) => Err(format!("load generator: short write of {written} bytes on connection {index}")),
        Err(error) => Err(format!("load generator send on connection {index}: {error}")),
    }
}

/// Reads what has arrived; `true` once the whole echo is in and matches what was sent.
fn receive(connection: &mut Connection, index: usize) -> Result<bool, String> {
    match connection.stream.read(&mut connection.received[connection.filled..]) {
        Ok(0) => return Err(format!("echo server closed connection {index} early")),
        Ok(read) => connection.filled += read,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
        Err(error) => return Err(format!("load generator receive on connection {index}: {error}")),
    }
    if connection.filled < MESSAGE_LEN {
        return Ok(false);
    }
    connection.filled = 0;
    if connection.received != connection.sent {
        return Err(format!(
            "echo mismatch on connection {index}, round trip {}: sent {:?}, got {:?}",
            connection.trips_done, connection.sent, connection.received
        ));
    }
    Ok(true)
}
