//! The notify-vs-wait and event-vs-wait races as [loom](https://docs.rs/loom) models, for sources
//! built on `reactor`'s loom shim; only in `--cfg reactor_loom --cfg loom` builds.
//!
//! Where the real-thread suite tries thousands of interleavings, loom explores every one within
//! its preemption bound (`LOOM_MAX_PREEMPTIONS`, 2 when unset). A lost wake-up shows as loom's
//! deadlock report. The source must take every atomic, lock and thread park it uses from the
//! shim (or from loom), so that loom sees them; the built-in sources do.
//!
//! A source crate's `tests/loom.rs`, run with
//! `RUSTFLAGS="--cfg reactor_loom --cfg loom" cargo test --release --test loom`:
//!
//! ```text
//! #![cfg(reactor_loom)]
//!
//! #[test]
//! fn notify_is_never_lost() {
//!     reactor_conformance::loom::notify_vs_wait(MyHarness);
//! }
//! ```

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, Ordering};
use reactor::EventSource;

use crate::rig::Rig;
use crate::Harness;

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set (the loom kit's).
pub use reactor_loom::DEFAULT_PREEMPTIONS;
use reactor_loom::{model, spawn_unjoined};

/// Explores every interleaving of a `notify` from another thread with a driver's `wait(None)`
/// on a fresh source: the wait (repeated while it returns early) must end.
///
/// A blocking source is attached to a notifier of itself; a passive one is composed with a
/// `Parking` source, and the notify goes to the passive source, which must forward it.
///
/// # Panics
///
/// When loom finds an interleaving in which the wait never ends (loom reports a deadlock), or
/// the source cannot be made or driven.
pub fn notify_vs_wait<H: Harness>(harness: H) {
    let harness = Arc::new(harness);
    model(move || {
        let rig = drive(&*harness);
        let notified = loom::sync::Arc::new(AtomicBool::new(false));
        let finished = {
            let (source, notified) = (rig.source.clone(), notified.clone());
            spawn_unjoined(move || {
                // Release: the waiter that sees the flag sees everything before the notify.
                notified.store(true, Ordering::Release);
                source.notify();
            })
        };
        loop {
            rig.waiter.wait(None).expect("wait failed");
            if notified.load(Ordering::Acquire) {
                break;
            }
        }
        finished();
    });
}

/// Explores every interleaving of an event fired from another thread with a driver's
/// `wait(None)`: the wait (repeated while it returns early) must run the event's callback.
///
/// # Panics
///
/// When loom finds an interleaving in which the callback never runs (a deadlock), or the source
/// cannot be made, driven or registered with.
pub fn event_vs_wait<H: Harness>(harness: H) {
    let harness = Arc::new(harness);
    model(move || {
        let rig = drive(&*harness);
        // The callback runs on the waiting thread, inside its wait: a plain counter will do.
        let ran = Arc::new(StdAtomicUsize::new(0));
        let counter = ran.clone();
        let callback = Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let (trigger, registration) = harness.register(&rig.source, callback).expect("the harness registers");
        let finished = {
            let harness = harness.clone();
            spawn_unjoined(move || harness.fire(&trigger))
        };
        while ran.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            rig.waiter.wait(None).expect("wait failed");
        }
        finished();
        drop(registration);
    });
}

fn drive<H: Harness>(harness: &H) -> Rig<H::Source> {
    let source = harness.source().expect("the harness makes a source");
    Rig::drive(source).unwrap_or_else(|why| panic!("the source cannot be driven: {why}"))
}
