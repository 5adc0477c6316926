//! The loom entry points on built-in sources built on the loom shim: every interleaving of a
//! notify, or an event fired from another thread, with a driver's wait. Only in
//! `--cfg reactor_loom --cfg loom` builds:
//!
//! ```sh
//! cargo test -p reactor-conformance --release --test loom --target-dir target/loom \
//!     --config "build.rustflags=['--cfg','reactor_loom','--cfg','loom']"
//! ```
//!
//! The negative controls run a model with one of the core's seeded bugs (a lost unpark in
//! `Parking::notify`, a ping that skips its notify) in a child process (loom aborts on a
//! deadlock) and require loom's deadlock report.
#![cfg(reactor_loom)]

mod common;

use common::{Channels, Pings};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::Parking;
use reactor_conformance::loom::{event_vs_wait, notify_vs_wait};
use reactor_conformance::NoEvents;

#[test]
fn parking_never_loses_a_notify_under_loom() {
    notify_vs_wait(NoEvents(|| Ok(Parking::new())));
}

#[test]
fn ping_source_forwards_a_racing_notify_under_loom() {
    notify_vs_wait(Pings);
}

#[test]
fn a_ping_racing_with_the_wait_wakes_it_under_loom() {
    event_vs_wait(Pings);
}

#[test]
fn a_send_racing_with_the_wait_wakes_it_under_loom() {
    event_vs_wait(Channels);
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_lost_unpark() {
    seeded_bug::with(Bug::ParkingLostUnpark, || notify_vs_wait(NoEvents(|| Ok(Parking::new()))));
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_ping_skips_notify() {
    seeded_bug::with(Bug::PingSkipsNotify, || event_vs_wait(Pings));
}

#[test]
fn negative_control_a_lost_unpark_is_caught_as_a_deadlock() {
    assert_loom_catches("seeded_lost_unpark", "deadlock");
}

#[test]
fn negative_control_a_ping_that_skips_its_notify_is_caught_as_a_deadlock() {
    assert_loom_catches("seeded_ping_skips_notify", "deadlock");
}

/// Runs the `#[ignore]`d test `seeded_test` of this binary in a child process (loom aborts on a
/// deadlock) and requires it to fail with a report containing `report`.
fn assert_loom_catches(seeded_test: &str, report: &str) {
    let binary = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(binary)
        .args(["--exact", seeded_test, "--ignored", "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs");
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "loom did not catch the seeded bug of `{seeded_test}`:\n{printed}");
    assert!(printed.contains(report), "`{seeded_test}` failed without loom reporting {report:?}:\n{printed}");
}
