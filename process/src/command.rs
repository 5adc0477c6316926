//! [`Command`]: std's process builder, spawning children whose exit a task can await.

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use reactor::io::IoHandle;
use reactor::Handle;

use crate::Child;

/// A process builder, as [`std::process::Command`] (whose builder methods it forwards), whose
/// [`spawn`](Self::spawn) returns a [`Child`] that tasks can await and talk to through async
/// pipes.
///
/// Spawning needs an executor with an I/O backend on the current thread (inside a task or
/// `block_on`): the child's pipes and exit notification are registered with it, and it runs the
/// reaper of a child dropped before it exits.
///
/// # Examples
///
/// ```
/// use reactor_epoll::Runtime;
/// use reactor_process::Command;
///
/// Runtime::new()?.block_on(async {
///     let output = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output().await?;
///     assert_eq!(output.status.code(), Some(3));
///     assert_eq!(output.stdout, b"out\n");
///     assert_eq!(output.stderr, b"err\n");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    /// Which streams were configured through this builder ([`output`](Self::output) pipes
    /// stdout and stderr, and nulls stdin, only where they were not).
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
    kill_on_drop: bool,
    force_fallback: bool,
}

impl Command {
    /// A builder for running `program`, found in `PATH` if it has no `/`, with no arguments,
    /// this process's environment and working directory, and stdin, stdout and stderr inherited
    /// (except by [`output`](Self::output)).
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        std::process::Command::new(program).into()
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment: it gets only the variables set after this call.
    pub fn env_clear(&mut self) -> &mut Self {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory. A relative program path is then resolved
    /// platform-dependently, as with std: prefer an absolute one.
    ///
    /// A directory that does not exist makes [`spawn`](Self::spawn) fail with `NotFound`.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's stdin: [`Stdio::piped`] gives the parent a [`Child::stdin`] stream.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's stdout: [`Stdio::piped`] gives the parent a [`Child::stdout`] stream.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Sets the child's stderr: [`Stdio::piped`] gives the parent a [`Child::stderr`] stream.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether a [`Child`] spawned from now on is sent `SIGKILL` when dropped before it was
    /// reaped. Off by default, as with std; either way a dropped child is reaped once it exits
    /// (see [dropping a `Child`](Child#dropping-a-child)).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Self {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Test hook: makes the children spawned from now on use the fallback exit watch instead
    /// of a pidfd, as on a kernel without `pidfd_open`. Safe (the fallback is a full
    /// implementation), but only useful to test it.
    #[doc(hidden)]
    pub fn force_fallback(&mut self, force: bool) -> &mut Self {
        self.force_fallback = force;
        self
    }

    /// The std builder this one forwards to, for what it has beyond these methods
    /// (`std::os::unix::process::CommandExt`: `uid`, `process_group`, `pre_exec`, ...). Stdio
    /// set through it counts as not set for [`output`](Self::output).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The std builder this one forwards to (for its getters: `get_program`, `get_args`, ...).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Spawns the child with the configured stdio (inherited where not set).
    ///
    /// # Errors
    ///
    /// - `NotFound` outside an executor with an I/O backend (no child is spawned then);
    /// - std's spawn errors, with their kinds: `NotFound` for a program that does not exist or
    ///   a [`current_dir`](Self::current_dir) that does not, `PermissionDenied` for a file that
    ///   is not executable, ...;
    /// - the backend's error of registering a pipe (out of fds, for example); the child is then
    ///   killed and reaped.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let (executor, io) = current("Command::spawn")?;
        let child = self.std.spawn()?;
        Child::new(child, executor, &io, self.kill_on_drop, self.force_fallback)
    }

    /// Spawns the child and waits for it to exit, returning its status. Stdio is inherited
    /// where not set; the parent's ends of piped streams are closed at once (the child reads
    /// end-of-file from a piped stdin, and its writes to a piped stdout or stderr fail with
    /// `EPIPE`, or kill it with `SIGPIPE`).
    ///
    /// # Errors
    ///
    /// [`spawn`](Self::spawn)'s and [`Child::wait`]'s.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
        child.wait().await
    }

    /// Spawns the child, collects all of its stdout and stderr (read side by side) and waits
    /// for it to exit.
    ///
    /// As with std, stdout and stderr are piped and stdin is null unless set on this builder.
    /// Those settings stay on the builder for later spawns (as in tokio).
    ///
    /// # Errors
    ///
    /// [`spawn`](Self::spawn)'s and [`Child::wait_with_output`]'s.
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.stderr(Stdio::piped());
        }
        self.spawn()?.wait_with_output().await
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a std builder; stdio already set on it counts as not set for
    /// [`output`](Command::output).
    fn from(std: std::process::Command) -> Self {
        Self {
            std,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
            kill_on_drop: false,
            force_fallback: false,
        }
    }
}

/// The executor and I/O backend of the current thread, or a `NotFound` error naming `caller`.
fn current(caller: &str) -> io::Result<(Handle, IoHandle)> {
    Handle::current().zip(IoHandle::current()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{caller} needs a reactor executor with an I/O backend on this thread (call it inside \
                 a task or block_on of a Runtime, or of an executor over an Epoll or PollingSource)"
            ),
        )
    })
}
