//! Loom models of the concurrency protocols of the reactor workspace.
//!
//! The models live in `tests/`; this library only holds what they share. Run them all with
//! `cargo loom` (see `README.md` in this crate).
