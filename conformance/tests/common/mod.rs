//! Harnesses shared by the real-thread tests and the loom tests: the core's `PingSource` and
//! the channel backend's `ChannelSource`.

use std::io;

use reactor::source::{Ping, PingRegistration, PingSource};
use reactor_channel::{ChannelRegistration, ChannelSource, Sender};
use reactor_conformance::{Callback, Harness};

/// An event is a ping registration; firing it pings.
pub(crate) struct Pings;

impl Harness for Pings {
    type Source = PingSource;
    type Trigger = Ping;
    type Registration = PingRegistration;

    fn source(&self) -> io::Result<PingSource> {
        Ok(PingSource::new())
    }

    fn register(&self, source: &PingSource, callback: Callback) -> io::Result<(Ping, PingRegistration)> {
        Ok(source.register(callback))
    }

    fn fire(&self, ping: &Ping) {
        ping.ping();
    }
}

/// An event is an unbounded channel registered with the source; firing it sends a message.
pub(crate) struct Channels;

impl Harness for Channels {
    type Source = ChannelSource;
    type Trigger = Sender<()>;
    type Registration = ChannelRegistration;

    fn source(&self) -> io::Result<ChannelSource> {
        Ok(ChannelSource::new())
    }

    fn register(
        &self,
        source: &ChannelSource,
        mut callback: Callback,
    ) -> io::Result<(Sender<()>, ChannelRegistration)> {
        let (sender, receiver) = reactor_channel::unbounded();
        Ok((sender, source.register(receiver, move |()| callback())))
    }

    fn fire(&self, sender: &Sender<()>) {
        // Fails once the registration (and with it the receiver) is gone: nothing to fire.
        let _ = sender.try_send(());
    }
}
