//! HTTP/1.1 keep-alive on hyper against the load generator process (issue 16, item 4).

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use crate::httpload::Generator;
use crate::sizes::Sizes;
use crate::sys::clock::{process_cpu, thread_cpu};
use crate::sys::socket::listen_loopback;
use crate::workloads::{ensure, Failure, Outcome};

/// Runs `serve` (which must accept the given number of connections, serve each with hyper until
/// the client closes it, and return the requests it answered) against the load generator
/// process, at the `http` workload's sizes.
///
/// Measures requests per second (the generator's count over its time from the first request to
/// the last answer) and the server's CPU time per request: this process's CPU time from the
/// moment every connection is established (the generator's `go`) until the server has seen
/// every connection close, less the CPU of the thread that talks to the generator. Every CPU
/// second of this process in that interval is the server's: the generator is another process.
pub(crate) fn run(
    serve: impl FnOnce(TcpListener, usize) -> io::Result<u64>,
    sizes: &Sizes,
) -> Result<Outcome, Failure> {
    let (connections, requests) = (sizes.http_connections, sizes.http_requests);
    let listener = listen_loopback(connections).map_err(|error| format!("http listener: {error}"))?;
    let addr = listener.local_addr().map_err(|error| format!("http listener: {error}"))?;
    let driver = std::thread::spawn(move || -> Result<_, Failure> {
        let mut generator = Generator::start(addr, connections, requests).inspect_err(|_| {
            // The server is waiting for its connections: give it empty ones that close at
            // once, so that it returns and the run fails with the generator's error.
            for _ in 0..connections {
                drop(std::net::TcpStream::connect(addr));
            }
        })?;
        let own_start = thread_cpu();
        let cpu_start = process_cpu();
        generator.go()?;
        let load = generator.finish()?;
        Ok((load, cpu_start, thread_cpu() - own_start))
    });
    // On a server error the generator may wait forever: fail without joining it (the exit of
    // this process closes its connections and ends it).
    let served = serve(listener, connections).map_err(|error| format!("http server: {error}"))?;
    let (load, cpu_start, driver_cpu) =
        driver.join().map_err(|_| "the load generator's driver thread panicked".to_string())??;
    let cpu = process_cpu().saturating_sub(cpu_start).saturating_sub(driver_cpu);
    let expected = connections as u64 * u64::from(requests);
    ensure(load.requests == expected, || {
        format!("{} requests answered, expected {expected}", load.requests)
    })?;
    ensure(served == expected, || format!("the server answered {served} requests, expected {expected}"))?;
    ensure(load.elapsed > Duration::ZERO, || "the load generator measured no time".to_string())?;
    Ok(Outcome::Measured(vec![
        load.requests as f64 / load.elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / load.requests as f64,
    ]))
}
