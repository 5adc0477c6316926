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

/// Seeded bugs for the negative controls in `loom-tests/`: each model family has one test that
/// switches a bug on and asserts that loom catches it.
///
/// The switch exists only in `reactor_loom` builds and is a std thread-local of the test's own OS
/// thread (loom runs a whole model on the thread that calls `loom::model`), so a negative control
/// never affects the models running beside it.
#[cfg(reactor_loom)]
pub mod seeded_bug {
    /// A bug that the code under test can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// `Handshake::on_edge` clears `pending` with a store (as `Epoll` did before the
        /// handshake was modelled), which acquires nothing: a notify coalesced into the edge
        /// being answered can go unseen by the waiter's re-check, with no edge left to wake it.
        NotifyClearIsAStore,
        /// `Handshake::after_wait` (the `FdNotifier` protocol) clears `pending` before it reads
        /// the eventfd: a notify between the two writes, the read consumes its write, and the
        /// flag stays up with an empty eventfd, so no later notify writes again.
        NotifierClearsBeforeTaking,
        /// `Handshake::after_wait` clears `pending` even when the read found nothing (the notify
        /// that raised it has not written yet): its write lands with the flag down, and the
        /// eventfd stays readable with nothing pending, so every poll returns at once.
        NotifierClearsWithNothingTaken,
    }

    /// Runs `f` with `bug` switched on for this OS thread (the core's switch, see
    /// `reactor::loom_internals::seeded_bug`).
    pub fn with<R>(bug: Bug, f: impl FnOnce() -> R) -> R {
        reactor::loom_internals::seeded_bug::with_any(bug, f)
    }

    /// Whether `bug` is switched on for this OS thread.
    pub(crate) fn is_active(bug: Bug) -> bool {
        reactor::loom_internals::seeded_bug::is_active_any(&bug)
    }
}
