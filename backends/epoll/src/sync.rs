//! The loom shim: the only place in the crate that names std's sync types.
//!
//! Built with `--cfg reactor_loom`, the same paths resolve to loom's models, as in the core
//! crate's shim. `Mutex::lock` returns the guard directly: a poisoned lock only means a waker
//! panicked, and the data it guards (readiness bits, waker slots, the registration table) stays
//! consistent, so poisoning is cleared rather than propagated.

#[cfg(not(reactor_loom))]
mod imp {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    }

    /// A mutex whose `lock` ignores poisoning (see the module docs).
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[cfg(reactor_loom)]
mod imp {
    pub(crate) use loom::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
    }

    /// loom's mutex with the poison-free `lock` of the std half.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

pub(crate) use imp::*;
