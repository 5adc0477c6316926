//! [`Child`]: a running child process whose exit a task can await.

use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};

use futures_lite::{future, AsyncReadExt};
use reactor::io::IoHandle;
use reactor::Handle;

use crate::exit::ExitWatch;
use crate::stdio::{ChildStderr, ChildStdin, ChildStdout};
use crate::sys;

/// A child process spawned by [`Command::spawn`](crate::Command::spawn): await its exit with
/// [`wait`](Self::wait), talk to it through its piped [`stdin`](Self::stdin),
/// [`stdout`](Self::stdout) and [`stderr`](Self::stderr).
///
/// # Exit notification
///
/// On Linux 5.3+ the child's exit reaches the task through a pidfd registered with the
/// executor's I/O backend like any fd: no helper thread, no signal handler. Where `pidfd_open`
/// fails (older kernels, some seccomp policies), through `SIGCHLD` (see the crate docs).
///
/// # Dropping a `Child`
///
/// Dropping it never blocks and never leaves a zombie behind while the executor that spawned
/// it runs:
///
/// - with [`kill_on_drop(true)`](crate::Command::kill_on_drop), the child is sent `SIGKILL`;
/// - a child that has not exited yet (killed or not) is handed to a detached *reaper task* on
///   that executor, which waits for its exit (through the same pidfd, or `SIGCHLD`) and reaps it. A child that
///   never exits keeps its reaper task pending, which costs the executor the task's memory and
///   the pidfd, and no polling. Being a task, it counts for a graceful shutdown:
///   `shutdown_timeout` waits for it like any other, so kill (or wait for) a long-running child
///   before one.
///
/// If that executor has shut down (or shuts down before the child exits), the reaper task is
/// cancelled after one last non-blocking reap, and a child still running then becomes a zombie
/// when it exits, until this process exits or reaps it, as with [`std::process::Child`].
///
/// # A child that never exits
///
/// [`wait`](Self::wait) pends for as long as the child runs. Bound it with
/// `reactor_timer::timeout` (`reactor_epoll::time::timeout` on the default runtime), and end
/// the child with [`kill`](Self::kill), then `wait` to reap it.
pub struct Child {
    /// The parent's end of the child's stdin, if it was [`Stdio::piped`](crate::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if it was [`Stdio::piped`](crate::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if it was [`Stdio::piped`](crate::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    /// std's child: the pid, and the exit status once reaped (after which it never waits on the
    /// pid again, so a reused pid is never touched).
    inner: std::process::Child,
    watch: ExitWatch,
    /// The executor that spawned the child, which runs the reaper task if it is dropped early.
    executor: Handle,
    kill_on_drop: bool,
}

impl Child {
    /// Wraps a just-spawned std child: watches its exit and registers its pipes with `io`.
    ///
    /// On error the child is killed and reaped as a dropped `Child` is.
    pub(crate) fn new(
        mut inner: std::process::Child,
        executor: Handle,
        io: &IoHandle,
        kill_on_drop: bool,
        force_fallback: bool,
    ) -> io::Result<Self> {
        let (stdin, stdout, stderr) = (inner.stdin.take(), inner.stdout.take(), inner.stderr.take());
        let watch = ExitWatch::new(inner.id(), io, force_fallback);
        // Killed if a pipe cannot be registered below (the caller has no `Child` to kill).
        let mut child =
            Self { stdin: None, stdout: None, stderr: None, inner, watch, executor, kill_on_drop: true };
        child.stdin = stdin.map(|pipe| ChildStdin::new(pipe, io)).transpose()?;
        child.stdout = stdout.map(|pipe| ChildStdout::new(pipe, io)).transpose()?;
        child.stderr = stderr.map(|pipe| ChildStderr::new(pipe, io)).transpose()?;
        child.kill_on_drop = kill_on_drop;
        Ok(child)
    }

    /// The child's process id. It stays this child's until the child is reaped (by
    /// [`wait`](Self::wait) or [`try_wait`](Self::try_wait) returning its status); after that
    /// the system may give it to another process.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Waits for the child to exit, reaps it and returns its exit status; once reaped, returns
    /// the same status again at once.
    ///
    /// Closes [`stdin`](Self::stdin) first (as std does), so a child that reads its input to the
    /// end can finish. Cancel-safe: dropping the future loses nothing. It may be awaited
    /// anywhere (another executor, a plain `block_on`) while the executor that spawned the
    /// child runs: the exit arrives through that executor's I/O backend.
    ///
    /// Pends for as long as the child runs: bound it with a timeout if the child may never
    /// exit, and [`kill`](Self::kill) it.
    ///
    /// # Errors
    ///
    /// `waitpid`'s error (`ECHILD` if something else in this process reaped the child, for
    /// example a `waitpid(-1)`, or `SIGCHLD` set to `SIG_IGN`); without a pidfd, the error of
    /// creating the `SIGCHLD` listener at spawn (its kind, with both reasons in the message).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        let inner = &mut self.inner;
        self.watch.wait(|| inner.try_wait()).await
    }

    /// Reaps the child if it has exited, without waiting: its exit status, or `None` while it
    /// runs; once reaped, returns the same status again.
    ///
    /// # Errors
    ///
    /// `waitpid`'s error (see [`wait`](Self::wait)).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Sends the child `SIGKILL`, as [`std::process::Child::kill`] does, and returns without
    /// waiting: [`wait`](Self::wait) afterwards reaps it and reports the signal
    /// ([`ExitStatusExt::signal`](std::os::unix::process::ExitStatusExt::signal) is
    /// `Some(SIGKILL)`).
    ///
    /// Killing a child that has already exited succeeds and does nothing (std's documented
    /// behaviour): a zombie ignores the signal, and a reaped child is not signalled at all, so
    /// its pid, which another process may have by then, is never touched.
    ///
    /// # Errors
    ///
    /// `kill`'s error, which does not happen for our own unreaped child.
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// Waits for the child to exit while reading all of its stdout and stderr, side by side (a
    /// child that fills its stderr pipe while the parent reads stdout does not deadlock).
    ///
    /// Closes [`stdin`](Self::stdin) first. Streams that were not piped come back empty.
    ///
    /// # Errors
    ///
    /// A read error of either pipe, or [`wait`](Self::wait)'s errors.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        let (stdout, stderr) = future::zip(read_all(self.stdout.take()), read_all(self.stderr.take())).await;
        let (stdout, stderr) = (stdout?, stderr?);
        let status = self.wait().await?;
        Ok(Output { status, stdout, stderr })
    }

    /// Whether the child's exit is watched through the fallback instead of a pidfd.
    #[doc(hidden)]
    pub fn uses_fallback(&self) -> bool {
        self.watch.is_fallback()
    }
}

/// Reads `pipe` to its end, if there is one.
async fn read_all<R: futures_io::AsyncRead + Unpin>(pipe: Option<R>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop {
            // Ok for a child that already exited; an error cannot happen for our own child,
            // and a drop has nowhere to report one.
            let _ = self.inner.kill();
        }
        if !matches!(self.inner.try_wait(), Ok(None)) {
            return; // reaped now or before (or not ours to reap: ECHILD)
        }
        let orphan = Orphan { pid: self.inner.id(), reaped: false };
        let watch = std::mem::replace(&mut self.watch, ExitWatch::Detached);
        // After shutdown the future comes back unpolled and drops: `Orphan`'s last reap.
        if let Ok(task) = self.executor.try_spawn(orphan.reap(watch)) {
            task.detach();
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.inner.id())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("watch", &self.watch)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// A dropped child that had not exited, owned by its reaper task.
struct Orphan {
    pid: u32,
    /// Set once a `waitpid` returned the child (or an error: it is not ours to wait for). From
    /// then on its pid may belong to another process, so it is never waited for again.
    reaped: bool,
}

impl Orphan {
    /// Waits for the exit and reaps it.
    async fn reap(mut self, mut watch: ExitWatch) {
        let pid = self.pid;
        let reaped = &mut self.reaped;
        // Nobody to report an error to; a fallback that fails leaves the last reap to `Drop`.
        let _ = watch
            .wait(|| {
                let result = sys::try_reap(pid);
                *reaped = !matches!(result, Ok(None));
                result
            })
            .await;
    }
}

impl Drop for Orphan {
    /// Cancelled before the exit (the executor shut down): one last non-blocking reap.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = sys::try_reap(self.pid);
        }
    }
}
