//! The one way this crate reaches the blocking pool: the current executor's
//! [`Handle::spawn_blocking`](reactor::Handle), with a missing executor and a [`JoinError`]
//! turned into `io::Error`s.

use std::io;

use reactor::{Handle, JoinError, Task};

/// Starts `f` on the blocking pool of the executor running this thread.
///
/// # Errors
///
/// `NotFound` outside an executor (the kind `Async::new` gives there too), naming `what`.
pub(crate) fn spawn<F, T>(what: &str, f: F) -> io::Result<Task<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Ok(spawn_on(&handle(what)?, f))
}

/// The handle of the executor running this thread, whose blocking pool runs our work.
///
/// # Errors
///
/// `NotFound` outside an executor (the kind `Async::new` gives there too), naming `what`.
pub(crate) fn handle(what: &str) -> io::Result<Handle> {
    Handle::current().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{what} needs a reactor executor on this thread (call it inside a task, \
                 `block_on` or `#[reactor_epoll::main]`) to reach the blocking pool"
            ),
        )
    })
}

/// Starts `f` on `handle`'s blocking pool.
pub(crate) fn spawn_on<F, T>(handle: &Handle, f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    handle.spawn_blocking(f)
}

/// The `io::Error` for blocking work that gave no result: `f` panicked, or the pool cancelled it
/// (its executor shut down before the work started).
pub(crate) fn join_error(what: &str, error: JoinError) -> io::Error {
    let why = if error.is_panic() {
        format!("{what} panicked on the blocking pool ({error})")
    } else {
        format!("{what} was cancelled: its executor shut down before the blocking pool ran it")
    };
    io::Error::other(why)
}

/// Runs `f` on the blocking pool and waits for its result, flattening a [`JoinError`] into the
/// `io::Error` of [`join_error`].
pub(crate) async fn run<F, T>(what: &'static str, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match spawn(what, f)?.await {
        Ok(result) => result,
        Err(error) => Err(join_error(what, error)),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    #[test]
    fn a_panic_on_the_pool_is_an_other_error_that_says_so() {
        let runtime = reactor_epoll::Runtime::new().unwrap();
        let error = runtime
            .block_on(super::run("the test's work", || -> io::Result<()> {
                std::panic::panic_any("boom".to_owned())
            }))
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
        let message = error.to_string();
        assert!(message.contains("the test's work panicked") && message.contains("boom"), "{message}");
    }
}
