//! Async child processes for [`reactor`], over any I/O backend.
//!
//! [`Command`] is [`std::process::Command`]'s builder; its [`Child`] can be awaited
//! ([`Child::wait`]), killed ([`Child::kill`], [`Command::kill_on_drop`]), and talked to
//! through piped stdin, stdout and stderr that implement `futures-io`'s
//! `AsyncWrite`/`AsyncRead`. [`Command::output`] collects both output streams side by side.
//!
//! # How a task learns of an exit
//!
//! No helper thread and no signal handler: on Linux 5.3+ each child gets a pidfd
//! (`pidfd_open`), registered with the executor's I/O backend like any fd through
//! [`reactor_net::Async`]. It becomes readable when the child exits; the waiting task then
//! reaps the child with a non-blocking `waitpid` on its pid (still ours: nobody else reaps it,
//! so it cannot have been reused).
//!
//! Where `pidfd_open` fails (`ENOSYS` before Linux 5.3 and off Linux, `EPERM` under some seccomp
//! policies, no free fd), the fallback is `SIGCHLD`, through a `reactor-signal` listener created
//! when the child is spawned (a handler and a self-pipe on the same I/O backend; the process's
//! other handling of `SIGCHLD` keeps working): after each delivery, every child waited for this
//! way tries its own non-blocking reap, so coalesced deliveries lose no exit, and an exit costs
//! one `waitpid` per such child. A `SIGCHLD` handler that reaps every child (`waitpid(-1)`) or a
//! disposition of `SIG_IGN` elsewhere in the process breaks either path: the wait then fails
//! with `ECHILD`.
//!
//! # Reaping
//!
//! Every child is reaped: by [`Child::wait`]/[`Child::try_wait`], or, for a `Child` dropped
//! before its exit, by a detached reaper task on the executor that spawned it (see
//! [dropping a `Child`](Child#dropping-a-child)). A child that never exits is never reaped;
//! bound a wait with a timeout and [`Child::kill`] it.
//!
//! # Examples
//!
//! Streaming through `cat`:
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor_epoll::Runtime;
//! use reactor_process::{Command, Stdio};
//!
//! Runtime::new()?.block_on(async {
//!     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"hello").await?;
//!     drop(stdin); // end of input: cat exits
//!     let mut echoed = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut echoed).await?;
//!     assert_eq!(echoed, "hello");
//!     assert!(child.wait().await?.success());
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg(unix)]
#![doc(test(attr(deny(warnings))))]

mod child;
mod command;
mod exit;
mod stdio;
mod sys;

pub use child::Child;
pub use command::Command;
pub use std::process::{ExitStatus, Output, Stdio};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};
