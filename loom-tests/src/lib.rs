//! Loom models of the concurrency protocols of the reactor workspace.
//!
//! The models live in `tests/`; this library holds what they share. Run them all with
//! `cargo loom` (see `README.md` in this crate).
#![cfg(reactor_loom)]

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `model` under loom, exploring every interleaving within the preemption bound
/// (`LOOM_MAX_PREEMPTIONS`, default [`DEFAULT_PREEMPTIONS`]).
pub fn model(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    builder.check(model);
}
