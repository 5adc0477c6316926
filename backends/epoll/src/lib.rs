//! The epoll event source for [`reactor`], async I/O on top of it, and the default runtime.
//!
//! One dependency is enough for everyday async code: the default [`Runtime`] composes epoll,
//! [`time`] and [`channel`] on a work-stealing executor, and hello world is three lines:
//!
//! ```
//! reactor_epoll::block_on(async {
//!     println!("{}", reactor_epoll::spawn(async { 6 * 7 }).await.unwrap());
//! });
//! ```
//!
//! [`block_on`] and [`spawn`] use a process-wide runtime created on first use (one worker per
//! core, and blocking threads only once [`spawn_blocking`] needs them); [`Runtime::builder`] configures one of your own, including a manually
//! advanced clock for deterministic tests of timeout logic.
//!
//! - [`Epoll`] is a blocking [`EventSource`](reactor::EventSource) and an I/O backend
//!   ([`reactor::io::IoSource`]): one wait collects every ready registration and wakes the tasks
//!   waiting on it. The runtime uses it on Linux and Android, and the portable
//!   [`PollingSource`] (kqueue, event ports, `poll`) elsewhere or when
//!   [`RuntimeBuilder::backend`] asks for it; `reactor-uring`'s io_uring backend ([`Uring`])
//!   with [`Backend::IoUring`], or with `Backend::Automatic` and `REACTOR_IO_URING=on`, which
//!   falls back to epoll where io_uring is unavailable ([`Runtime::backend_choice`] says why).
//! - [`Async<T>`] registers any [`AsFd`](std::os::fd::AsFd) type with whichever backend the
//!   runtime runs, with no `unsafe`: it owns the I/O object and deregisters before the fd can
//!   close. [`Watch`] does the same for a callback run on the loop instead of a task.
//! - [`net`] has TCP, UDP and Unix sockets implementing `futures-io`'s `AsyncRead`/`AsyncWrite`.
//! - [`FdNotifier`] is the notify half of a blocking source of your own that waits with `poll`,
//!   `ppoll` or `epoll_wait` on fds of its own: an eventfd plus a flag, never losing a wake-up.
//!
//! A blocking source of your own cannot join the default runtime's composite (it already blocks
//! in its I/O backend), but its fd can: register it with [`Watch::new`] on
//! [`Runtime::io`] and dispatch the source's events from the callback, on the runtime's
//! loop, beside its TCP. `reactor`'s
//! [guide](reactor::guide#composing-with-the-default-runtime) walks through it.
//!
//! An echo round trip on an executor over epoll:
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor::Executor;
//! use reactor_epoll::net::{TcpListener, TcpStream};
//! use reactor_epoll::Epoll;
//!
//! let executor = Executor::new(Epoll::new()?)?;
//! let listener = TcpListener::from_std(
//!     std::net::TcpListener::bind("127.0.0.1:0")?,
//!     executor.source(),
//! )?;
//! let addr = listener.local_addr()?;
//!
//! // The server echoes one connection back until EOF.
//! let server = executor.spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     let (mut reader, mut writer) = stream.into_split();
//!     futures_lite::io::copy(&mut reader, &mut writer).await
//! });
//!
//! let echoed = executor.block_on(async {
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, reactor").await?;
//!     client.close().await?; // half-close: the server sees EOF, the echo completes
//!     let mut echoed = String::new();
//!     client.read_to_string(&mut echoed).await?;
//!     Ok::<_, std::io::Error>(echoed)
//! })?;
//! assert_eq!(echoed, "hello, reactor");
//! assert_eq!(executor.block_on(server)??, 14);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! `Epoll` is one of the I/O backends of [`reactor::io`]: the registry, the readiness cache and
//! the waiter sets it uses are the core's, shared with every backend (`reactor-polling`'s
//! portable one, yours); `Async` and the `net` types are `reactor-net`'s, re-exported here, and
//! run unchanged over any of them. What is epoll's own:
//!
//! - **The epoll instance is ours alone**: created with `epoll_create1`, every `epoll_ctl` and
//!   every wait on it are ours, so nothing arms anything in it behind our back. (`polling`, which
//!   the portable backend uses, re-arms a timerfd and a one-shot notifier on every
//!   `Poller::wait`: five syscalls where this wait makes one.)
//! - **Every fd is registered once, edge-triggered, for both directions and `EPOLLRDHUP`**, so
//!   the kernel reports each change in readiness once and never has to be re-armed, and a
//!   peer's hang-up is marked on the event that brings it
//!   ([`Readiness::READ_CLOSED`](reactor::io::Readiness::READ_CLOSED)). That lets a stream read
//!   that comes back short mark the socket drained, skipping the read that would only say
//!   `WouldBlock`: data and the end of the stream arriving together cannot strand the EOF.
//! - **Deregistration deletes the fd that was registered**, its number recorded then (`AsFd`
//!   does not promise the same fd on every call), and then the core's registry removes the
//!   callback, waiting for a dispatch in progress on another thread: once an `Async`'s drop
//!   returns, none of its wakers runs again, and the generation-checked keys keep an event still
//!   queued for it from reaching a registration that reused its slot.
//! - **`notify` writes to an eventfd of our own**, registered edge-triggered like everything
//!   else, so each write is a new edge and the notification never needs to be read back or
//!   re-armed. A `pending` flag makes repeated notifies before the wait cost one atomic swap
//!   each; the wait that reports the edge clears it with an acquiring swap before the executor
//!   re-checks its queues, so a notify coalesced into that edge is seen by the re-check. This
//!   is the core's [`Handshake`](reactor::io::Handshake) (also [`FdNotifier`]'s), answered
//!   edge-triggered ([`on_edge`](reactor::io::Handshake::on_edge)), without reading the eventfd
//!   since nothing polls it level-triggered.
//!
//! Any number of tasks may wait on one registration in each direction; an event wakes all of
//! those waiting in the directions it made ready (see [`Async`]).
//!
//! The protocols are checked with loom, each with a seeded-bug negative control, in the
//! workspace's loom models: the shared readiness cache against a new edge and deregistration
//! against dispatch (`io_readiness`), several waiters against an edge and a withdrawal
//! (`io_waiters`), and the notify handshake against the wait, for both kinds of waiter, with
//! the eventfd replaced by a loom-visible one (`epoll_notify`).
//!
//! # Cost in system calls
//!
//! Counted with `strace -c -f` on the `syscall_count` example of this crate, which repeats one
//! pattern 1,000 times on a backend, minus a run with 0 rounds for the setup
//! (`strace -c -f target/release/examples/syscall_count <pattern> 1000 [epoll|polling|polling-oneshot]`).
//! The portable backend's columns are [`Backend::Polling`] on Linux (`polling`'s epoll,
//! edge-triggered) and [`Backend::PollingOneshot`] (one-shot registrations re-armed after each
//! report, the path event ports and `poll` take):
//!
//! | per repetition | `Epoll` | portable, edge-triggered | portable, one-shot |
//! |---|---|---|---|
//! | a timed wait that times out (500 µs) | 1: `epoll_pwait2` | 5: `timerfd_settime`, 2 `epoll_ctl`, `epoll_pwait`, `read` | 5, the same |
//! | a timed wait of whole milliseconds | 1: `epoll_wait` | 5 | 5 |
//! | a readiness cycle: the peer writes, the wait dispatches, the read completes, the next read meets `WouldBlock` | 4: 1 `epoll_wait` + the I/O (1 `sendto`, 2 `recvfrom`); no `epoll_ctl` | 8: the 5 of the wait + the I/O; no re-arm | 9: the 5 of the wait + 1 `epoll_ctl` re-arm + the I/O |
//! | the same through a stream's `AsyncRead`, whose read comes back short of its buffer | 3: 1 `epoll_wait` + 1 `sendto` + 1 `recvfrom` (the short read marks the stream drained) | 8: the 5 of the wait + 1 `sendto` + 2 `recvfrom` (no hang-up flag on every platform, so the next read runs and meets `WouldBlock`) | 9: as edge-triggered + 1 `epoll_ctl` re-arm |
//! | `notify`, then the wait it ends | 2: 1 `write` + 1 `epoll_wait` | 6: 1 `write` + the 5 of the wait | 6 |
//! | registering an fd and deregistering it | 3: `epoll_ctl` add, `ioctl(FIONBIO)`, `epoll_ctl` delete | 3, the same | 3, the same |
//!
//! The portable backend's wait is `polling::Poller::wait`, which re-arms its notifier and a
//! timerfd on every call whatever the timeout; smol's async-io waits with the same call (5
//! syscalls, pattern `polling-timed-wait`) and registers one-shot, like the last column. On
//! `Epoll`, repeated notifies before a wait cost one atomic swap each after the first. On Linux
//! before 5.11 (no `epoll_pwait2`) an epoll timeout that is not whole milliseconds is rounded up
//! to the next millisecond.
//!
//! Per round trip of `reactor-bench`'s TCP echo (64 connections, one message in flight on each,
//! the runtime on one thread), the server makes 2.04 syscalls on epoll (1 `recvfrom`, 1
//! `sendto`, 0.04 `epoll_wait`: events come in batches), 3.1 on the portable backend
//! edge-triggered (the read that meets `WouldBlock` after each short one is back: 1.95
//! `recvfrom`) and 4.0 one-shot (and 1 re-arm), counted with
//! `perf record -e raw_syscalls:sys_enter` on the server threads.
#![doc(test(attr(deny(warnings))))]

mod backend;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;
mod global;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod notifier;
mod runtime;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sync;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod watch;

pub use backend::{Backend, BackendChoice};
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use epoll::Epoll;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use notifier::FdNotifier;
pub use reactor::io::Readiness;
pub use reactor_net::{net, Async, Ready, Watch, WithReadiness};
pub use reactor_polling::{PollingSource, Triggering};
#[cfg(target_os = "linux")]
pub use reactor_uring::{Unavailable, Uring};

pub use global::{block_on, default_runtime, spawn, spawn_blocking};
pub use reactor::metrics;
pub use reactor::{yield_now, Handle, Host, HostError, JoinError, Task, Turn};
pub use runtime::{Runtime, RuntimeBuilder, RuntimeSource};

/// Runs `async fn main()` on a new [`Runtime`], built with [`Runtime::builder`].
///
/// The function becomes a plain `fn main()` with the same return type (a `Result` works, with
/// `?` inside), and its body is [`Runtime::block_on`]'s future. Options, comma-separated:
/// `worker_threads = N` (default: the builder's, one per available core) and `paused_clock`
/// ([`RuntimeBuilder::build_with_paused_clock`]). Misuse (a missing `async`, arguments,
/// generics, an unknown option or a bad value) is a compile error at the offending token; the
/// list of messages follows.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// #[reactor_epoll::main(worker_threads = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     reactor_epoll::time::sleep(Duration::from_millis(1)).await;
///     let answer = reactor_epoll::spawn(async { 6 * 7 }).await?;
///     assert_eq!(answer, 42);
///     Ok(())
/// }
/// ```
///
/// A server's `main`, as it would usually look:
///
/// ```no_run
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use reactor_epoll::net::TcpListener;
///
/// #[reactor_epoll::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind(([127, 0, 0, 1], 7000)).await?;
///     loop {
///         let (mut stream, _) = listener.accept().await?;
///         reactor_epoll::spawn(async move {
///             let mut buffer = [0; 1024];
///             while let Ok(read @ 1..) = stream.read(&mut buffer).await {
///                 if stream.write_all(&buffer[..read]).await.is_err() {
///                     break;
///                 }
///             }
///         })
///         .detach();
///     }
/// }
/// ```
#[doc(inline)]
pub use reactor_macros::main;

/// Runs an `async fn` test on a fresh [`Runtime`] of its own.
///
/// The function becomes a `#[test] fn` with the same return type and attributes
/// (`#[should_panic]`, `#[ignore]`, doc comments), whose body is [`Runtime::block_on`]'s future.
/// Options, comma-separated: `worker_threads = N` (default for tests: **1** worker, beside the
/// test's thread) and `paused_clock` ([`RuntimeBuilder::build_with_paused_clock`]: sleeps and
/// timeouts complete instantly and deterministically; the clock is
/// [`Timer::current`](time::Timer::current) inside). Misuse is a compile error, as for
/// [`main`](macro@main), and so is a second `#[test]`.
///
/// # Examples
///
/// In a test file; the test runs instantly although it waits 30 seconds (doctests are not
/// built as tests, so here it is only expanded and checked, but the crate's own tests run it):
///
/// ```
/// #[reactor_epoll::test(worker_threads = 4, paused_clock)]
/// async fn a_request_without_answer_times_out_after_30_seconds() {
///     use std::future::pending;
///     use std::time::Duration;
///     use reactor_epoll::time::{self, Timer};
///
///     let start = Timer::current().now();
///     let result = time::timeout(Duration::from_secs(30), pending::<()>()).await;
///     assert!(result.is_err());
///     assert_eq!(Timer::current().now() - start, Duration::from_secs(30));
/// }
/// # fn main() {}
/// ```
#[doc(inline)]
pub use reactor_macros::test;

/// Timers: [`sleep`](time::sleep), [`timeout`](time::timeout), [`Interval`](time::Interval) and
/// timer callbacks, from the `reactor-timer` crate. Inside a [`Runtime`] the ambient functions find
/// its timer.
pub mod time {
    pub use reactor_timer::*;
}

/// Channels: bounded and unbounded MPSC, oneshot, and loop callbacks through
/// [`ChannelSource`](channel::ChannelSource), from the `reactor-channel` crate.
pub mod channel {
    pub use reactor_channel::*;
}

/// Files: [`File`](fs::File) (`AsyncRead`/`AsyncWrite`/`AsyncSeek`), [`read_dir`](fs::read_dir)
/// and the `std::fs` functions, run on the blocking pool, from the `reactor-fs` crate.
pub mod fs {
    pub use reactor_fs::*;
}

/// Unix signals: [`ctrl_c`](signal::ctrl_c) and [`Signals`](signal::Signals), a listener (and
/// stream) of chosen signals that any number of tasks and runtimes can each hold, from the
/// `reactor-signal` crate.
pub mod signal {
    pub use reactor_signal::*;
}

/// Child processes: [`Command`](process::Command) and an awaitable [`Child`](process::Child)
/// with async pipes, exit notified through a pidfd, from the `reactor-process` crate.
pub mod process {
    pub use reactor_process::*;
}
