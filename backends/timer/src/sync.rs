//! The loom shim: the only place in the crate that names std's sync types.
//!
//! Everything concurrent in `reactor-timer` imports `Arc`, `Mutex` and atomics from here. Built
//! with `--cfg reactor_loom`, the same paths resolve to [loom](https://docs.rs/loom)'s models, so
//! `loom-tests/` checks the real code. As in the core's shim, `Mutex::lock` returns the guard
//! directly: a poisoned lock only means a waker or callback panicked, and every update of the data
//! it guards completes before any user code runs, so the data stays consistent.
//!
//! The `Mutex` wrapper comes from the core's shim (`reactor::shim`): one definition
//! decides std or loom for every crate of the workspace.

#[cfg(not(reactor_loom))]
mod imp {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
    }

    /// A small number that differs between threads: which shard a thread registers timers in.
    /// Threads are numbered round-robin as they first ask, so `n` threads spread over `n` shards.
    pub(crate) fn thread_ordinal() -> usize {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicUsize, Ordering};

        static NEXT: AtomicUsize = AtomicUsize::new(0);
        std::thread_local! {
            static ORDINAL: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        ORDINAL.with(|ordinal| {
            if ordinal.get() == usize::MAX {
                // Relaxed: only a spreading hint; any value is correct.
                ordinal.set(NEXT.fetch_add(1, Ordering::Relaxed));
            }
            ordinal.get()
        })
    }
}

#[cfg(reactor_loom)]
mod imp {
    pub(crate) use loom::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
    }

    /// Which shard a thread registers timers in: threads numbered in the order they first ask,
    /// from a counter that loom resets for every execution of a model, as it must be.
    pub(crate) fn thread_ordinal() -> usize {
        use std::cell::Cell;

        use loom::sync::atomic::{AtomicUsize, Ordering};

        loom::lazy_static! {
            static ref NEXT: AtomicUsize = AtomicUsize::new(0);
        }
        loom::thread_local! {
            static ORDINAL: Cell<usize> = Cell::new(usize::MAX);
        }
        ORDINAL.with(|ordinal| {
            if ordinal.get() == usize::MAX {
                // Relaxed: only a spreading hint; any value is correct.
                ordinal.set(NEXT.fetch_add(1, Ordering::Relaxed));
            }
            ordinal.get()
        })
    }
}

pub(crate) use imp::*;
pub(crate) use reactor::shim::Mutex;

/// Seeded bugs for the negative controls in `loom-tests/`: each timer model family has one test
/// that switches a bug on and asserts that loom catches it.
///
/// The switch exists only in `reactor_loom` builds and is a std thread-local of the test's own OS
/// thread (loom runs a whole model on the thread that calls `loom::model`), so a negative control
/// never affects the models running beside it.
#[cfg(reactor_loom)]
pub mod seeded_bug {
    /// A bug that the timer can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// A registration that becomes the earliest deadline does not notify the blocked waiter.
        SkipEarliestNotify,
        /// Dropping a sleep whose deadline has passed skips deregistration, assuming the timer
        /// already fired it; if the timer has not yet, its slot and waker stay behind.
        DeregisterSkipsElapsed,
        /// `Sleep::reset` of a sleep that already fired keeps believing its waker is armed, so
        /// the next poll does not queue it again and the new deadline never fires.
        ResetKeepsStaleArm,
        /// A sleep registered after its shard's fired-through mark passed its deadline believes
        /// the firing freed its slot, so its drop skips the removal; the slot and waker stay
        /// behind.
        IgnoreFiredThroughMark,
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
