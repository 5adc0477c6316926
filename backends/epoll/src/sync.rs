//! The loom shim: the only place in the crate that names std's sync types.
//!
//! Built with `--cfg reactor_loom`, the same paths resolve to loom's models, as in the core
//! crate's shim. `Mutex::lock` returns the guard directly: a poisoned lock only means a waker
//! panicked, and the data it guards (readiness bits, waker slots, the registration table) stays
//! consistent, so poisoning is cleared rather than propagated.
//!
//! The `Mutex` wrapper comes from the core's shim (`reactor::shim`): one definition
//! decides std or loom for every crate of the workspace.

#[cfg(not(reactor_loom))]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
    }
}

#[cfg(reactor_loom)]
mod imp {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
    }
}

pub(crate) use imp::*;
pub(crate) use reactor::shim::Mutex;
