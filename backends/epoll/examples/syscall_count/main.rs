//! Repeats one pattern of an I/O backend so that `strace -c -f` can count its system calls.
//!
//! ```text
//! cargo build --release -p reactor-epoll --example syscall_count
//! strace -c -f target/release/examples/syscall_count <pattern> 1000 [backend]
//! strace -c -f target/release/examples/syscall_count <pattern> 0 [backend]   # the setup alone
//! ```
//!
//! Patterns: `timed-wait` (a 500 µs wait that times out), `timed-wait-ms` (a 1 ms one),
//! `register` (an fd registered, put in non-blocking mode and deregistered), `readiness` (a peer writes, the wait dispatches, the read completes, the next read meets
//! `WouldBlock` and parks), `stream-readiness` (the same through a stream's `AsyncRead` with a
//! 64-byte buffer: a short read may mark the stream drained), `notify` (a notify, then the wait
//! it ends), and `polling-timed-wait` (`polling::Poller::wait` with a 500 µs timeout, as smol's
//! async-io uses it, for comparison; it ignores the backend).
//!
//! Backends: `epoll` (the default: [`reactor_epoll::Epoll`]), `polling` (the portable
//! [`reactor_epoll::PollingSource`], edge-triggered) and `polling-oneshot` (the same with one-shot
//! registrations re-armed after each report, the path of event ports and `poll`).

#[cfg(any(target_os = "linux", target_os = "android"))]
mod patterns;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> std::io::Result<()> {
    patterns::run()
}

/// The epoll backend is Linux's, and the counts are compared with it; elsewhere the example only
/// says so.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() {
    eprintln!("syscall_count measures the epoll backend, which exists on Linux and Android only");
}
