//! hyper's `Executor`: where a connection's background futures run.

use std::future::Future;
use std::io;

use reactor::Handle;

/// Spawns hyper's background futures (HTTP/2 streams and pings, a client's connection task)
/// onto a reactor executor, as detached tasks.
///
/// Give it to `hyper::server::conn::http2::Builder::new` or to a client's HTTP/2 builder.
#[derive(Clone, Debug)]
pub struct ReactorExecutor {
    handle: Handle,
}

impl ReactorExecutor {
    /// Spawns onto the executor this thread runs tasks (or a blocking job) for.
    ///
    /// # Errors
    ///
    /// `NotFound` outside an executor (use [`new`](Self::new) with a [`Handle`] there).
    pub fn current() -> io::Result<Self> {
        Handle::current().map(Self::new).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "ReactorExecutor::current needs a reactor executor on this thread",
            )
        })
    }

    /// Spawns onto the executor of `handle`. Once that executor has shut down, spawned futures
    /// are dropped unrun (as every spawn onto it is).
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }
}

impl<F> hyper::rt::Executor<F> for ReactorExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.handle.spawn(future).detach();
    }
}

/// Spawns hyper's `!Send` background futures (an HTTP/2 connection whose service or body is
/// `!Send`) onto the thread running the current `block_on`, as detached local tasks.
///
/// They live as long as that `block_on` call (see `reactor::Executor::spawn_local`): serve such
/// connections from inside the `block_on` that owns them.
#[derive(Clone, Copy, Debug)]
pub struct LocalExecutor {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LocalExecutor {
    /// An executor for the `block_on` running on this thread.
    ///
    /// # Errors
    ///
    /// `NotFound` when this thread is not inside a `block_on` (or a host's turn) of a reactor
    /// executor, where a local task could not run.
    pub fn current() -> io::Result<Self> {
        // Checked with a future that does nothing: it is handed back, never run.
        match reactor::spawn_local(async {}) {
            Ok(task) => {
                task.detach();
                Ok(Self { _not_send: std::marker::PhantomData })
            }
            Err(_) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "LocalExecutor::current needs a reactor block_on running on this thread",
            )),
        }
    }
}

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        // The executor is `!Send`, so this runs on the thread it was made on, inside the
        // `block_on` it found; if that `block_on` has returned, the future is dropped unrun,
        // as a local task of that call would have been cancelled.
        if let Ok(task) = reactor::spawn_local(future) {
            task.detach();
        }
    }
}
