//! The conformance harnesses of both sources, shared by `tests/conformance.rs` (the suite on real
//! threads) and `tests/loom.rs` (its races under loom).
#![allow(dead_code)] // each test file uses its part

use std::io;
use std::sync::Arc;

use loom_user::pipe_source::{Doorbell, PipeSource, Registration};
use loom_user::{bus, EventBus, Publisher};
use reactor::source::CallbackSlot;
use reactor_conformance::{Callback, Harness};

/// An event of the bus under test: the callback the suite registered, run by the bus's handler
/// unless its registration was dropped.
pub type Event = Arc<CallbackSlot<dyn FnMut() + Send>>;

/// Makes event buses; an event is a callback slot, firing it publishes the slot.
pub struct Buses;

/// Keeps a callback registered on the bus; dropping it empties the slot, waiting for a run in
/// progress, so that no callback runs after the drop returns.
pub struct BusRegistration(Event);

impl Drop for BusRegistration {
    fn drop(&mut self) {
        self.0.remove();
    }
}

impl Harness for Buses {
    type Source = EventBus<Event>;
    type Trigger = (Publisher<Event>, Event);
    type Registration = BusRegistration;

    fn source(&self) -> io::Result<EventBus<Event>> {
        let (bus, _publisher) = bus(|event: Event| {
            event.call(|callback| callback());
        });
        Ok(bus)
    }

    fn register(
        &self,
        bus: &EventBus<Event>,
        callback: Callback,
    ) -> io::Result<(Self::Trigger, BusRegistration)> {
        let slot: Event = Arc::new(CallbackSlot::new(callback));
        Ok(((bus.publisher(), slot.clone()), BusRegistration(slot)))
    }

    fn fire(&self, (publisher, slot): &Self::Trigger) {
        // Refused (the event handed back) only once the bus is dropped: nothing to dispatch.
        let _ = publisher.publish(slot.clone());
    }
}

/// Makes pipe sources; an event is a registration, firing it rings its doorbell.
pub struct Pipes;

impl Harness for Pipes {
    type Source = PipeSource;
    type Trigger = Doorbell;
    type Registration = Registration;

    fn source(&self) -> io::Result<PipeSource> {
        PipeSource::new()
    }

    fn register(&self, source: &PipeSource, callback: Callback) -> io::Result<(Doorbell, Registration)> {
        Ok(source.register(callback))
    }

    fn fire(&self, doorbell: &Doorbell) {
        doorbell.ring();
    }
}
