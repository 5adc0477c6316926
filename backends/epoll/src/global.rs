//! Process-wide `block_on` and `spawn` on a lazily created default runtime.

use std::future::Future;
use std::io;
use std::sync::OnceLock;

use reactor::{Handle, Task};

use crate::Runtime;

static DEFAULT: OnceLock<Runtime> = OnceLock::new();

/// The process-wide default runtime, created on first use with one worker per core.
///
/// It lives until the process exits; it starts its workers, and blocking threads when
/// [`spawn_blocking`] (or a file or host-name call) needs them.
///
/// # Errors
///
/// The error of starting it (creating the epoll instance, spawning a worker thread). A failed
/// start is retried on the next call.
pub fn default_runtime() -> io::Result<&'static Runtime> {
    if let Some(runtime) = DEFAULT.get() {
        return Ok(runtime);
    }
    let runtime = Runtime::new()?;
    // Two threads may race to create it; the loser's runtime is dropped (its workers joined).
    Ok(DEFAULT.get_or_init(|| runtime))
}

/// Runs `future` to completion on the default runtime, on this thread.
///
/// # Panics
///
/// If the default runtime cannot start (see [`default_runtime`]), or when called inside a task or
/// another `block_on` (see [`reactor::Executor::block_on`]).
///
/// # Examples
///
/// ```
/// let answer = reactor_epoll::block_on(async { reactor_epoll::spawn(async { 6 * 7 }).await.unwrap() });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    match default_runtime() {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => panic!("the default reactor runtime could not start: {error}"),
    }
}

/// Spawns a task onto the runtime this thread runs tasks for, or else onto the default runtime.
///
/// # Panics
///
/// Outside any runtime, if the default runtime cannot start (see [`default_runtime`]).
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if let Some(handle) = Handle::current() {
        return handle.spawn(future);
    }
    match default_runtime() {
        Ok(runtime) => runtime.spawn(future),
        Err(error) => panic!("the default reactor runtime could not start: {error}"),
    }
}

/// Runs the blocking call `job` on the blocking pool of the runtime this thread runs tasks (or
/// a blocking job) for, or else of the default runtime; see [`Runtime::spawn_blocking`].
///
/// # Panics
///
/// Outside any runtime, if the default runtime cannot start (see [`default_runtime`]).
///
/// # Examples
///
/// ```
/// let sum = reactor_epoll::block_on(reactor_epoll::spawn_blocking(|| (1..=10).sum::<u32>()))?;
/// assert_eq!(sum, 55);
/// # Ok::<(), reactor_epoll::JoinError>(())
/// ```
pub fn spawn_blocking<F, T>(job: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if let Some(handle) = Handle::current() {
        return handle.spawn_blocking(job);
    }
    match default_runtime() {
        Ok(runtime) => runtime.spawn_blocking(job),
        Err(error) => panic!("the default reactor runtime could not start: {error}"),
    }
}
