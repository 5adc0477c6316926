//! Unix signals for [`reactor`]: [`ctrl_c`] and [`Signals`], a listener (and stream) of chosen
//! signals, on any executor whose source has an I/O backend (the default runtime's epoll, the
//! portable `polling` backend, your own).
//!
//! ```
//! use futures_lite::StreamExt;
//! use reactor_signal::Signals;
//!
//! reactor_epoll::block_on(async {
//!     let mut hangups = Signals::new(&[libc::SIGHUP, libc::SIGUSR2])?;
//!     // Another listener of the same signal sees the same delivery.
//!     let mut also = Signals::new(&[libc::SIGUSR2])?;
//!     // SAFETY: kill(2) with our own pid and a signal we listen for.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
//!     assert_eq!(hangups.next().await.unwrap()?, libc::SIGUSR2);
//!     assert_eq!(also.recv().await?, libc::SIGUSR2);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! - **A `sigaction` handler per signal**, installed (`SA_SIGINFO | SA_RESTART`, no other
//!   signal blocked while it runs; not `SA_ONSTACK`, see below) when the first listener of the signal in the process is
//!   created. It does only async-signal-safe things: it marks the signal pending in an atomic
//!   flag, writes one byte to a non-blocking self-pipe (a Unix socket pair, created once per
//!   process), and calls the handler that was installed before ours, if there was one (its
//!   `sa_sigaction` with `SA_SIGINFO`, else its `sa_handler`), so the process's other signal
//!   handling keeps working. errno is saved and restored around all of it.
//! - **The read end is registered with each I/O backend that has listeners**, once per backend
//!   (a duplicate fd each, through [`reactor_net::Watch`]): its callback runs on that runtime's
//!   loop, drains the pipe, then takes every pending flag and broadcasts it. Whichever runtime's
//!   loop reads first does it for all. A `Watch` rather than a passive
//!   [`EventSource`](reactor::EventSource): the handler cannot call a source's notify (not
//!   async-signal-safe), so a pipe is needed anyway, and an fd on the backend joins any executor
//!   that has one, the default runtime included, without a place in its composite decided when
//!   it was built.
//! - **Broadcast**: per signal, a generation counter and the wakers of its listeners, under one
//!   lock. A dispatch that takes the flag bumps the generation and wakes every waiting listener
//!   of that signal, in every runtime; each listener remembers the generation it last returned,
//!   so each sees each broadcast once, and several listeners of one signal each see it.
//!
//! The flag before the byte in the handler, the drain before the take in the dispatch, and the
//! listener's check-and-register under the lock the broadcast takes are what make a delivery
//! unlosable for a listener created before it (written out in the protocol's source, and
//! model-checked with loom in the workspace's `signal_broadcast` models, each order with a
//! seeded-bug negative control). The handler may interrupt any code, a dispatch on the same
//! thread included: it takes no lock and allocates nothing, so it cannot deadlock against what
//! it interrupts, and the models run it as a thread of its own, which covers every order of its
//! two steps against the other threads'.
//!
//! **Coalescing**, as the OS does: the kernel keeps at most one pending instance of a standard
//! signal, the flag is one bit, and a listener that has not called [`Signals::recv`] for a while
//! sees the deliveries since as one. What is guaranteed is that a delivery after a listener's
//! creation is followed by at least one `recv` result. Under a **signal storm** (thousands of
//! `kill`s) each delivery costs the handler's store and one `write`; once the socket buffer is
//! full the writes fail with `EAGAIN`, which is harmless (the pipe is readable, and the flag
//! carries the delivery); a dispatch drains the pipe in 256-byte reads and wakes each listener
//! once per pass. Nothing is queued per delivery, so a storm costs bounded memory, and the last
//! delivery of a storm is always followed by a `recv` result.
//!
//! **When the last listener of a signal is dropped, the disposition found when the first was
//! created is restored** (unless someone else replaced our handler since; theirs is kept). So
//! once no task listens for SIGINT, Ctrl-C ends the process again, as it does in a program that
//! never listened (tokio keeps its handler installed forever instead, and Ctrl-C is then
//! ignored for the rest of the process). A delivery in the short window between the last
//! listener's drop and the restore is consumed, as if that listener had received it; a handler
//! still running on another thread at the restore touches only process-lifetime data, and the
//! pending flag it may leave is cleared when the handler is next installed. Instances still
//! queued in the kernel at the restore (real-time signals queue; a storm can leave thousands)
//! meet the restored disposition, which for most signals by default ends the process: drop the
//! last listener once the signals it listens for have stopped coming. The disposition
//! records are never freed (a running handler may read one); a new one is kept only when the
//! disposition found differs from the last, so creating and dropping listeners in a loop does
//! not grow memory.
//!
//! **Not on the alternate signal stack.** Rust gives each thread an alternate stack of only
//! `SIGSTKSZ` (8 KiB), sized for the one handler that reports a stack overflow. A handler
//! installed with `SA_ONSTACK` runs there, and each delivery of another signal while it runs
//! pushes a whole signal frame (about 3 KiB with AVX-512 state) onto it: under storms of
//! several signals at once, three nested handlers overflowed it and the process died of
//! SIGSEGV (half the runs of this crate's nesting test). On the thread's own stack, nesting is
//! bounded by the number of signals with handlers and fits easily. signal-hook does not use
//! `SA_ONSTACK` either; nor `SA_NOCLDSTOP` here, so a chained SIGCHLD handler still hears of
//! children stopping and continuing.
//!
//! # Why not signalfd
//!
//! signalfd only reports a signal that **every thread of the process blocks**. A library cannot
//! block it in threads it does not own (the test harness's, a blocking pool's, other
//! libraries'), and a process-directed SIGINT then goes to a thread that does not block it and
//! ends the process. And the blocked mask is inherited by every child, across `exec`: programs
//! spawned by the runtime would start with SIGINT or SIGTERM blocked and ignore Ctrl-C. The
//! handler and self-pipe above (the mechanism of tokio and signal-hook) leave every mask alone
//! and work the same on every Unix.
//!
//! # Which signals
//!
//! Any number from 1 up to `SIGRTMAX` on Linux (31 elsewhere), except SIGKILL and SIGSTOP (no
//! handler can catch them), the synchronous fault signals SIGSEGV, SIGBUS, SIGILL and SIGFPE
//! (their handler runs on the faulting instruction, which runs again on return), and on Linux
//! the numbers the C library reserves below `SIGRTMIN`: those give `InvalidInput`, naming the
//! signal.
#![cfg(unix)]
#![doc(test(attr(deny(warnings))))]

mod broadcast;
mod driver;
mod handler;
mod signals;
mod sync;

pub use signals::{ctrl_c, Recv, Signals};

/// Internals that the loom models in `loom-tests/` drive directly; only in `reactor_loom` builds.
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::broadcast::{Hub, Subscription, Wakeup};
    pub use crate::sync::seeded_bug;
}
