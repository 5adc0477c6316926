//! How a task learns that a child exited: its pidfd, or (where there is none) `SIGCHLD`.

use std::fmt;
use std::io;

use reactor::io::IoHandle;
use reactor_net::Async;
use reactor_signal::Signals;

use crate::sys::PidFd;

/// Waits for one child's exit, then reaps it through the caller's non-blocking reap.
///
/// Every variant re-checks with the caller's `try_reap` (a `waitpid(pid, WNOHANG)`) after each
/// notification, so a spurious or coalesced notification costs one syscall and never a lost
/// exit. Owned by one `Child` (or, once it is dropped, by its reaper task): no state here is
/// shared between threads beyond the [`Async`] registration of the pidfd.
pub(crate) enum ExitWatch {
    /// The child's pidfd, registered with the executor's I/O backend: readable once the child
    /// exits (a zombie), and from then on.
    Pidfd(Async<PidFd>),
    /// No pidfd (`pidfd_open` failed: `ENOSYS` before Linux 5.3, `EPERM` under some seccomp
    /// policies, no free fd; or the fallback was forced): `SIGCHLD`.
    Fallback(Fallback),
    /// Handed to the reaper task when the `Child` was dropped.
    Detached,
}

impl ExitWatch {
    /// Watches the exit of `pid`, our unreaped child, through `io`'s backend: with a pidfd
    /// unless `force_fallback` or `pidfd_open` (or registering the pidfd) fails.
    pub(crate) fn new(pid: u32, io: &IoHandle, force_fallback: bool) -> Self {
        if force_fallback {
            return Self::Fallback(Fallback::new(io::Error::other("the fallback was forced"), io));
        }
        match PidFd::open(pid).and_then(|pidfd| Async::with_source(pidfd, io)) {
            Ok(pidfd) => Self::Pidfd(pidfd),
            Err(error) => Self::Fallback(Fallback::new(error, io)),
        }
    }

    /// Whether this watch uses the fallback instead of a pidfd.
    pub(crate) fn is_fallback(&self) -> bool {
        matches!(self, Self::Fallback(_))
    }

    /// Waits until `try_reap` reaps the child (returns `Some`), calling it once now and again
    /// after each notification. Cancel-safe: dropping the future loses nothing, and the next
    /// call starts over.
    ///
    /// # Errors
    ///
    /// `try_reap`'s errors, and the fallback's (see [`Fallback::wait`]).
    pub(crate) async fn wait<T>(
        &mut self,
        mut try_reap: impl FnMut() -> io::Result<Option<T>>,
    ) -> io::Result<T> {
        match self {
            Self::Pidfd(pidfd) => {
                if let Some(reaped) = try_reap()? {
                    return Ok(reaped);
                }
                // `WouldBlock` while the child runs clears the cached readability; the pidfd's
                // next event (the exit) sets it, and the reap is tried again.
                pidfd.read_with(|_| try_reap()?.ok_or_else(|| io::ErrorKind::WouldBlock.into())).await
            }
            Self::Fallback(fallback) => fallback.wait(try_reap).await,
            Self::Detached => Err(io::Error::other("the child's exit watch was handed to its reaper")),
        }
    }
}

impl fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pidfd(pidfd) => f.debug_tuple("Pidfd").field(pidfd).finish(),
            Self::Fallback(fallback) => f.debug_tuple("Fallback").field(fallback).finish(),
            Self::Detached => f.write_str("Detached"),
        }
    }
}

/// The fallback exit watch, used when there is no pidfd: `SIGCHLD`, through the
/// `reactor-signal` crate's listener (a handler and a self-pipe registered with the same I/O
/// backend; the process's other handling of `SIGCHLD` keeps working).
///
/// `SIGCHLD` says that *some* child changed state, and deliveries coalesce, so each one makes
/// every fallback watch try its own non-blocking reap: with `n` children waited for this way,
/// an exit costs `n` `waitpid` calls. The listener is created when the child is spawned,
/// before the first reap is tried, so an exit after that is never missed.
pub(crate) struct Fallback {
    /// Why there is no pidfd, reported if the fallback cannot run either.
    why: io::Error,
    /// The listener, or why it could not be created (reported by `wait`).
    signals: io::Result<Signals>,
}

impl Fallback {
    fn new(why: io::Error, io: &IoHandle) -> Self {
        Self { why, signals: Signals::with_source(&[libc::SIGCHLD], io) }
    }

    /// Waits for the child's exit: a reap after each `SIGCHLD` delivered since the listener was
    /// created.
    ///
    /// # Errors
    ///
    /// The error of creating the listener (its kind, with both reasons in the message), and
    /// the listener's errors.
    async fn wait<T>(&mut self, mut try_reap: impl FnMut() -> io::Result<Option<T>>) -> io::Result<T> {
        loop {
            if let Some(reaped) = try_reap()? {
                return Ok(reaped);
            }
            match &mut self.signals {
                Ok(signals) => {
                    signals.recv().await?;
                }
                Err(error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!(
                            "no pidfd for the child ({}), and no SIGCHLD listener either: {error}",
                            self.why
                        ),
                    ))
                }
            }
        }
    }
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback").field("why", &self.why).field("signals", &self.signals).finish()
    }
}
