//! Build async runtimes out of pluggable event sources.
#![doc(test(attr(deny(warnings))))]

mod executor;
pub mod source;
mod sync;

pub use source::EventSource;

/// Internals that the loom models in `loom-tests/` drive directly; only in `reactor_loom` builds.
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::executor::local_queue::{local_queue, LocalQueue, Overflow, Stealer, CAPACITY};
    pub use crate::sync::seeded_bug;
}
