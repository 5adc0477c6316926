//! The conformance suite of `reactor-conformance` on both sources of the crate, as README.md
//! ("Checking a source against the contract") says: a `Harness` for each (in `common/mod.rs`:
//! make a source, register an event with a callback, fire it from any thread), then
//! `Suite::new(h).run()`.

mod common;

use common::{Buses, Pipes};
use reactor_conformance::Suite;

#[test]
fn the_passive_event_bus_meets_the_event_source_contract() {
    match Suite::new(Buses).run() {
        Ok(report) => println!("{report}"),
        Err(failure) => panic!("{failure:?}"),
    }
}

#[test]
fn the_blocking_pipe_source_meets_the_event_source_contract() {
    match Suite::new(Pipes).run() {
        Ok(report) => println!("{report}"),
        Err(failure) => panic!("{failure:?}"),
    }
}
