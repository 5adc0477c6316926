//! The loom shim: the only place in the crate that names sync types.
//!
//! Everything here is the core's shim (`reactor::sync`, `reactor::shim`): std's in an ordinary
//! build, loom's in the model build (`--cfg reactor_loom --cfg loom`), so the loom models in
//! `loom-tests/` check the real broadcast protocol. `Mutex::lock` returns the guard directly: a
//! poisoned lock only means a waker panicked while being cloned, and every update of the data it
//! guards completes before any user code runs.

pub(crate) use reactor::shim::Mutex;
pub(crate) use reactor::sync::atomic::AtomicPtr;
pub(crate) use reactor::sync::atomic::{AtomicBool, Ordering};
/// std's in every build: the process's signal state lives in a `static` that a signal handler
/// reads with one acquiring load, and loom types cannot live in a `static`. The models build
/// the protocol (`Hub`) on instances of their own instead.
pub(crate) use std::sync::OnceLock;
/// std's in every build: a listener keeps its backend's registration alive (`Arc`), and the
/// process-wide list of registrations holds them weakly (`Weak`, which loom's `Arc` lacks).
/// No part of the modelled protocol goes through these counts.
pub(crate) use std::sync::{Arc as StdArc, Weak as StdWeak};

/// Seeded bugs for the negative controls in `loom-tests/` (`signal_broadcast`): each is a way
/// the broadcast protocol could lose a delivery, switched on per model.
///
/// The switch exists only in `reactor_loom` builds and is a thread-local of the test's own OS
/// thread (loom runs a whole model on the thread that calls `loom::model`), so a negative control
/// never affects the models running beside it.
#[cfg(reactor_loom)]
pub mod seeded_bug {
    /// A bug that the code under test can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// The handler writes its byte before it marks the signal pending: a dispatch that
        /// drains that byte and checks the flags in between finds nothing pending, and the flag
        /// raised after it has no byte behind it, so no dispatch ever comes for it.
        HandlerWritesBeforeMarking,
        /// A dispatch takes the pending flags before it drains the pipe: a delivery that marks
        /// its flag after the take and writes before the drain has its byte drained with its
        /// flag still up, and (the pipe being empty) no dispatch comes for it.
        DispatchTakesBeforeDraining,
        /// A listener compares the generation and, finding nothing new, stores its waker under
        /// a second lock: a broadcast in between finds no waker to wake.
        PollRegistersAfterChecking,
    }

    /// Runs `f` with `bug` switched on for this OS thread (the core's switch, see
    /// `reactor::sync::seeded_bug`).
    pub fn with<R>(bug: Bug, f: impl FnOnce() -> R) -> R {
        reactor::sync::seeded_bug::with(bug, f)
    }

    /// Whether `bug` is switched on for this OS thread.
    pub(crate) fn is_active(bug: Bug) -> bool {
        reactor::sync::seeded_bug::is_active(bug)
    }
}

/// Outside the model build nothing is ever switched on, and the checks cost nothing.
#[cfg(not(reactor_loom))]
pub(crate) mod seeded_bug {
    /// The bugs (see the model build's docs); never constructed here.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Bug {
        HandlerWritesBeforeMarking,
        DispatchTakesBeforeDraining,
        PollRegistersAfterChecking,
    }

    /// Always `false`: bugs exist only in the model build.
    #[inline(always)]
    pub(crate) fn is_active(_bug: Bug) -> bool {
        false
    }
}
