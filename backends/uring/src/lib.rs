//! The io_uring I/O backend for [`reactor`]: [`Uring`], a blocking event source whose readiness
//! comes from multishot polls in an io_uring, so that `reactor-net`'s `Async<T>` and every `net`
//! type run on it unchanged. Linux only (5.13 or later); the crate is empty elsewhere.
//!
//! `reactor-epoll`'s runtime picks it with `Backend::IoUring`; `Backend::Automatic` probes it
//! first when [`DISABLE_VAR`] is `on` (`REACTOR_IO_URING=on`), falling back to epoll with the
//! reason ([`Unavailable`]); `off` disables it. It is not yet the default: see "Known limits".
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor::Executor;
//! use reactor_net::Async;
//! use reactor_uring::Uring;
//!
//! let Ok(uring) = Uring::new() else { return Ok(()) }; // io_uring may be disabled here
//! let executor = Executor::new(uring)?;
//! executor.block_on(async {
//!     let (a, b) = std::os::unix::net::UnixStream::pair()?;
//!     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
//!     a.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     b.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How the I/O-source contract maps onto the ring
//!
//! - **Readiness**: each registered fd gets one multishot `IORING_OP_POLL_ADD` (readable,
//!   writable, `POLLRDHUP`) whose CQEs carry the registry's generation-checked key as user_data.
//!   A multishot poll reports each wake-up of the fd, as epoll's `EPOLLET` does, so the shared
//!   readiness cache needs no re-arming from the I/O objects. When the kernel ends a poll (a CQE
//!   without `IORING_CQE_F_MORE`: for its own reasons, or a cancellation, as some kernels do to
//!   a task's requests when it exits) the waiter arms it again, level-checked, so nothing that
//!   happened in between is lost.
//! - **One `io_uring_enter` per wait**: what is queued (re-arms) is submitted by the same call
//!   that waits for a completion; the timeout goes with it (`IORING_ENTER_EXT_ARG`, to the
//!   nanosecond). A wait with a zero timeout and nothing to submit makes no system call: it
//!   reaps the completion queue. A signal (`EINTR`), the timeout (`ETIME`) and a full ring
//!   (`EBUSY`: reaping makes room) end a wait without error; completions the kernel kept in its
//!   overflow list are asked for by the next enter (`IORING_SQ_CQ_OVERFLOW`), and should it ever
//!   have dropped some (no memory even for that), every registration is reported ready, so
//!   each waiting task retries.
//! - **Notify** goes through the ring: an eventfd with a multishot poll. A `pending` flag makes
//!   repeated notifies before the waiter answers cost one atomic swap each; the first one writes
//!   the eventfd, whose CQE ends the enter. It is the core's
//!   [`Handshake`](reactor::io::Handshake) answered edge-triggered, as the epoll source answers
//!   it, checked by the `epoll_notify` loom models.
//! - **Deregistration**: `delete` forgets the key and queues an `IORING_OP_POLL_REMOVE` in one
//!   critical section with the re-arm's look-up and push, then submits it before returning, so
//!   no deleted registration is ever armed again. The ring lets go of the fd's file when the
//!   thread that registered it runs the cancelled poll's completion work: at once when that
//!   thread is the one deleting, else when it next enters the kernel (see "Known limits").
//!   A removal the kernel refuses (`-EALREADY`: it was processing a wake-up of the poll) is
//!   queued again until the poll's last CQE comes, or the poll would keep the file open.
//!   It does not wait for the cancellation's CQE (`delete` may run on the one thread that reaps
//!   them): a CQE still in flight names a key the registry has forgotten by the time
//!   `IoRegistration::deregister` returns, so no callback runs after that. The loom model
//!   `uring_cancel` checks the protocol over a mock ring.
//! - **Registration errors** as epoll gives them: `InvalidInput` for a closed fd,
//!   `Unsupported` for a regular file or a directory, `AlreadyExists` for an fd registered twice.
//!
//! # Known limits
//!
//! - **A poll belongs to the thread that submitted it.** The kernel runs a poll's completion
//!   work on that thread, signalled like a signal, and a blocking system call of that thread
//!   that cannot restart (a socket read with `SO_RCVTIMEO`) then fails with `EINTR`. The thread
//!   that registers an fd (by `add`) submits its poll, so a user thread that registers I/O (say,
//!   binds a listener inside `block_on`) and then makes such blocking calls sees them
//!   interrupted: the workspace's HTTP tests with real blocking clients hit it in 4 of 10 runs
//!   on io_uring (`REACTOR_IO_URING=on`). Handing every submission to the thread waiting in the
//!   ring does not cure it: the file of a deregistered fd is let go only when the poll's owner runs
//!   its task work, so closing a listener no longer frees its address at once (a re-bind right
//!   after fails with `AddrInUse`, as a shared-suite test showed).
//! - **Several threads cost more than epoll.** An event on a poll whose owner is not the thread
//!   waiting in the ring wakes the owner first (its task work posts the completion), and the
//!   owner then wakes the waiter: two wake-ups where epoll has one. On TCP echo with two workers
//!   that is about 1.3x epoll's server CPU per round trip.
//!
//!   These two are why `Backend::Automatic` does not choose io_uring by default.
//! - A poll whose last CQE the kernel dropped (only when it cannot even allocate an overflow
//!   entry) is not re-armed; every registration is reported ready instead. A deregistered key
//!   whose final CQE was dropped stays in the table of removals under way.
//!
//! Miri does not apply: the backend is system calls on a shared memory ring with the kernel,
//! which Miri cannot execute; its concurrency is checked with loom instead, and the ring's memory
//! use under valgrind.
#![doc(test(attr(deny(warnings))))]
#![cfg(target_os = "linux")]

mod notifier;
mod polls;
mod probe;
mod ring;
mod source;
mod sync;

pub use probe::{disabled_by_env, requested_by_env, Unavailable, DISABLE_VAR};
pub use source::Uring;

/// Internals that the loom models in `loom-tests/` drive directly (the deregistration protocol
/// over a mock ring); only in `reactor_loom` builds.
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::polls::{readiness_of, Completion, Polls, Submission, INTERNAL_KEY};
    pub use crate::sync::Bug;
}
