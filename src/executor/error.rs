//! Errors of executor operations; each hands the rejected future back.

use std::error::Error;
use std::fmt;

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
    /// already runs tasks (inside a task, or inside another `block_on`), where blocking could
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
    /// [`Executor::spawn_local`](crate::Executor::spawn_local) was called on a thread that is
    /// not running this executor's `block_on`.
    SpawnLocalError,
    "spawn_local must be called on a thread running this executor's block_on"
);
