//! Errors of executor operations (each hands the rejected future back), and the failures of
//! its source's wait that the error hook sees.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

macro_rules! future_error {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        pub struct $name<F> {
            future: F,
        }

        impl<F> $name<F> {
            pub(crate) fn new(future: F) -> Self {
                Self { future }
            }

            /// The rejected future, unpolled.
            pub fn into_inner(self) -> F {
                self.future
            }
        }

        impl<F> fmt::Debug for $name<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl<F> fmt::Display for $name<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($message)
            }
        }

        impl<F> Error for $name<F> {}
    };
}

future_error!(
    /// [`Executor::try_block_on`](crate::Executor::try_block_on) was called on a thread that
    /// already runs tasks (inside a task, or inside another `block_on`), or on the thread of
    /// the executor's [`Host`](crate::Host), whose turns run its tasks: blocking there could
    /// deadlock the executor.
    BlockOnError,
    "block_on was called from a thread that already runs an executor's tasks"
);

future_error!(
    /// [`Handle::try_spawn`](crate::Handle::try_spawn) was called after the executor shut down.
    SpawnError,
    "the executor has shut down"
);

future_error!(
    /// [`TaskSet::spawn`](crate::task::TaskSet::spawn) was called on a thread that runs no
    /// executor (use [`TaskSet::spawn_on`](crate::task::TaskSet::spawn_on) there).
    NoExecutorError,
    "TaskSet::spawn must be called on a thread running an executor"
);

future_error!(
    /// [`Executor::spawn_local`](crate::Executor::spawn_local) was called on a thread that is
    /// not running this executor's `block_on` (or a turn of its [`Host`](crate::Host)), or
    /// [`spawn_local`](crate::spawn_local) on a thread running no executor's: on a plain thread,
    /// on a worker, in a blocking job. See the [crate docs](crate#tasks-that-are-not-send).
    SpawnLocalError,
    "spawn_local must be called on a thread running this executor's block_on"
);

/// A failed wait of an executor's event source, as its error hook sees it (see
/// [`Builder::on_source_error`](crate::Builder::on_source_error)).
#[derive(Debug)]
pub struct SourceError<'a> {
    error: &'a io::Error,
    consecutive_failures: u32,
    retry_after: Duration,
}

impl<'a> SourceError<'a> {
    pub(crate) fn new(error: &'a io::Error, consecutive_failures: u32, retry_after: Duration) -> Self {
        Self { error, consecutive_failures, retry_after }
    }

    /// The error the source's wait returned (a panic in a source callback arrives as an error
    /// of kind `Other` too).
    pub fn error(&self) -> &io::Error {
        self.error
    }

    /// How many waits in a row have failed, this one included.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// How long the executor leaves the source alone before it waits on it again, unless the
    /// hook shuts it down.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for SourceError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event source wait failed ({} in a row, retrying in {:?}): {}",
            self.consecutive_failures, self.retry_after, self.error
        )
    }
}

/// What an executor does after a failed wait of its source, as its error hook decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnSourceError {
    /// Keep running: wait on the source again after the back-off.
    Continue,
    /// Shut the executor down: its workers stop and every unfinished task is cancelled, as when
    /// it is dropped. `block_on` calls in progress keep polling their own future.
    Shutdown,
}
