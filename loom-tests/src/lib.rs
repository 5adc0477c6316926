//! Model-check your own [reactor](https://docs.rs/reactor) event source with
//! [loom](https://docs.rs/loom), together with the real executor.
//!
//! `reactor` builds everything concurrent on its `reactor::sync` module, whose locks, atomics,
//! cells and threads become loom's in the *model build* (`--cfg reactor_loom --cfg loom`). Write
//! your source on `reactor::sync` too, and a loom model can run it under a real
//! `reactor::Executor`: loom then explores every interleaving of your publishers, your source
//! and the executor's threads, and reports a lost wake-up as a deadlock. This crate is the rest
//! of the kit:
//!
//! - `model`: runs a closure under loom with the preemption bound from `LOOM_MAX_PREEMPTIONS`
//!   (default 2);
//! - `assert_loom_catches`: the negative control, which runs a seeded-bug model in a child
//!   process and checks that loom caught it *with the report you expect*, so a model that can
//!   never fail, or fails for another reason, is noticed;
//! - `Gate` (a future another thread opens) and `spawn_unjoined` (a thread that may notify
//!   after its joiner stopped waiting);
//! - `mock::MockSource`: a blocking I/O backend whose kernel is a loom-visible model (files
//!   whose readiness a model scripts, edge-triggered or one-shot registrations), to check a
//!   passive source composed with a blocking one, or I/O objects (`reactor_net::Async`, your
//!   own) through the real registration and re-arm path, without an OS poller;
//! - the `loom` crate itself (`reactor_loom::loom`), and the `loom` features of
//!   `concurrent-queue` and `event-listener`, which the model build needs and this crate turns
//!   on.
//!
//! Every item exists only in the model build: outside it the crate is empty, so it is an
//! ordinary dev-dependency that costs nothing in `cargo test`.
//!
//! # Set-up
//!
//! In the crate of your source (`reactor-loom` as a dev-dependency; the `lints` entry declares
//! the two cfgs):
//!
//! ```toml
//! [dependencies]
//! reactor = "0.1"
//!
//! [dev-dependencies]
//! reactor-loom = "0.1"
//!
//! [lints.rust]
//! unexpected_cfgs = { level = "warn", check-cfg = ["cfg(reactor_loom)", "cfg(loom)"] }
//! ```
//!
//! and in its `.cargo/config.toml`, an alias that runs `tests/loom.rs` in the model build, in
//! release mode, in a target directory of its own (so the ordinary build is not invalidated):
//!
//! ```toml
//! [alias]
//! loom-check = [
//!     "test", "--release", "--target-dir", "target/loom", "--test", "loom",
//!     "--config", "build.rustflags=['--cfg','reactor_loom','--cfg','loom']",
//! ]
//! ```
//!
//! Then `LOOM_MAX_PREEMPTIONS=2 cargo loom-check` checks every model, and `cargo test` runs
//! your ordinary tests as before. Keep the models in `tests/loom.rs` alone, with
//! `#![cfg(reactor_loom)]` at its top: loom's types panic outside a model, so ordinary tests
//! must not run in the model build, and the alias names that one file (add `--test <file>` for
//! more). The cfg rules are set out in the docs of `reactor::sync`; the main one is that
//! `--cfg reactor_loom` never goes without `--cfg loom` (`reactor` refuses to build so).
//!
//! # A model and its negative control
//!
//! Compiled only in the model build, hence not a doctest here; `examples/loom-user/` in the
//! reactor repository is a complete crate built this way.
//!
//! ```ignore
//! #![cfg(reactor_loom)]
//!
//! use reactor::sync::seeded_bug;
//! use reactor::sync::thread;
//! use reactor_loom::{assert_loom_catches, model, Gate};
//!
//! fn two_publishers() {
//!     model(|| {
//!         // Your passive source, built on `reactor::sync`; its handler opens the gate once it
//!         // has run for both events.
//!         let gate = Gate::default();
//!         let opener = gate.clone();
//!         let mut seen = 0;
//!         let (bus, publisher) = my_crate::bus(move |_event: usize| {
//!             seen += 1;
//!             if seen == 2 {
//!                 opener.open();
//!             }
//!         });
//!         let executor = reactor::Builder::new().worker_threads(0).build(bus).unwrap();
//!         let publishers: Vec<_> = (0..2)
//!             .map(|event| {
//!                 let publisher = publisher.clone();
//!                 thread::spawn(move || publisher.publish(event).unwrap())
//!             })
//!             .collect();
//!         // A lost event leaves every thread blocked: loom reports a deadlock.
//!         executor.block_on(gate);
//!         for publisher in publishers {
//!             publisher.join().unwrap();
//!         }
//!     });
//! }
//!
//! #[test]
//! fn two_publishers_never_lose_an_event() {
//!     two_publishers();
//! }
//!
//! #[test]
//! fn negative_control_clearing_the_flag_after_draining_is_caught() {
//!     assert_loom_catches("seeded_clear_after_drain", "deadlock");
//! }
//!
//! #[test]
//! #[ignore = "seeded bug: run by its negative control"]
//! fn seeded_clear_after_drain() {
//!     seeded_bug::with(my_crate::Bug::ClearAfterDrain, two_publishers);
//! }
//! ```
//!
//! The workspace's own models of reactor's protocols (in this crate's `tests/`) are written the
//! same way, over the same helpers.
#![doc(test(attr(deny(warnings))))]

#[cfg(reactor_loom)]
mod kit;
#[cfg(reactor_loom)]
pub mod mock;

#[cfg(reactor_loom)]
pub use kit::*;
#[cfg(reactor_loom)]
pub use loom;
