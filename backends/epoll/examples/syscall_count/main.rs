//! Repeats one pattern of the epoll source so that `strace -c -f` can count its system calls.
//!
//! ```text
//! cargo build --release -p reactor-epoll --example syscall_count
//! strace -c -f target/release/examples/syscall_count <pattern> 1000
//! strace -c -f target/release/examples/syscall_count <pattern> 0   # the setup alone
//! ```
//!
//! Patterns: `timed-wait` (a 500 µs wait that times out), `timed-wait-ms` (a 1 ms one),
//! `readiness` (a peer writes, the wait dispatches, the read completes, the next read meets
//! `WouldBlock` and parks), `notify` (a notify, then the wait it ends), and `polling-timed-wait`
//! (`polling::Poller::wait` with a 500 µs timeout, as smol's async-io uses it, for comparison).

#[cfg(any(target_os = "linux", target_os = "android"))]
mod patterns;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> std::io::Result<()> {
    patterns::run()
}

/// The epoll backend is Linux's; elsewhere the example only says so.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() {
    eprintln!("syscall_count measures the epoll backend, which exists on Linux and Android only");
}
