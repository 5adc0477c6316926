//! The conformance suite, at its default sizes, on every built-in source: `Parking`,
//! `PingSource`, `Composite` (over `Parking`, and over `Epoll` as the default runtime composes
//! it), the I/O backends (`Epoll`, and `PollingSource` edge-triggered and one-shot), `Timer` and
//! `ChannelSource`. Each harness is what a source's author would write.
//!
//! Run with `--nocapture --test-threads=1` to see each source's report and run time.

use std::any::{Any, TypeId};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

mod common;

use common::{Channels, Pings};
use reactor::io::AsIoHandle;
use reactor::source::{Composite, Parking, Ping, PingSource};
use reactor::EventSource;
use reactor_channel::{ChannelSource, Sender};
use reactor_conformance::{Callback, Harness, NoEvents, Suite};
use reactor_epoll::{Epoll, PollingSource, Triggering, Watch};
use reactor_timer::{Timer, TimerAction, TimerRegistration};

/// Runs the whole suite on `harness` and prints the report; fails with every violation.
fn conforms<H: Harness>(harness: H) {
    match Suite::new(harness).run() {
        Ok(report) => println!("{report}"),
        Err(failure) => panic!("{failure:?}"),
    }
}

#[test]
fn parking_conforms() {
    conforms(NoEvents(|| Ok(Parking::new())));
}

#[test]
fn ping_source_conforms() {
    conforms(Pings);
}

#[test]
fn channel_source_conforms() {
    conforms(Channels);
}

/// A timer registration that a trigger can reschedule; dropping it deregisters. The registration
/// is shared with the trigger under a lock, and the drop takes it out and drops it: once the
/// drop returns, so has the timer's own deregistration.
struct SharedTimerRegistration(Arc<Mutex<Option<TimerRegistration>>>);

impl Drop for SharedTimerRegistration {
    fn drop(&mut self) {
        let registration = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(registration);
    }
}

/// Reschedules a timer registration to now.
struct Reschedule {
    timer: Timer,
    registration: Arc<Mutex<Option<TimerRegistration>>>,
}

/// A deadline callback that runs `callback` once each time it comes due.
fn once(mut callback: Callback) -> impl FnMut(Instant) -> TimerAction + Send + 'static {
    move |_| {
        callback();
        TimerAction::Stop
    }
}

/// An event is a deadline callback parked a day ahead; firing it reschedules it to now. A
/// scheduled event is a deadline callback.
struct Timers;

impl Harness for Timers {
    type Source = Timer;
    type Trigger = Reschedule;
    type Registration = SharedTimerRegistration;

    fn source(&self) -> io::Result<Timer> {
        Ok(Timer::new())
    }

    fn register(
        &self,
        timer: &Timer,
        callback: Callback,
    ) -> io::Result<(Reschedule, SharedTimerRegistration)> {
        let registration = timer.register(timer.now() + Duration::from_secs(86_400), once(callback));
        let registration = Arc::new(Mutex::new(Some(registration)));
        let trigger = Reschedule { timer: timer.clone(), registration: registration.clone() };
        Ok((trigger, SharedTimerRegistration(registration)))
    }

    fn fire(&self, trigger: &Reschedule) {
        if let Some(registration) =
            trigger.registration.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
        {
            registration.reschedule(trigger.timer.now());
        }
    }

    fn register_at(
        &self,
        timer: &Timer,
        at: Instant,
        callback: Callback,
    ) -> io::Result<SharedTimerRegistration> {
        let registration = timer.register(at, once(callback));
        Ok(SharedTimerRegistration(Arc::new(Mutex::new(Some(registration)))))
    }
}

#[test]
fn timer_conforms() {
    conforms(Timers);
}

/// Watches the reading end of a socket pair with the I/O backend of `source`; the callback
/// drains it and counts one run when it read something (the writable edge a fresh socket reports
/// is not an event).
fn watch_reader(
    source: &(impl AsIoHandle + ?Sized),
    mut callback: Callback,
) -> io::Result<(UnixStream, Watch<UnixStream>)> {
    let (reader, writer) = UnixStream::pair()?;
    writer.set_nonblocking(true)?;
    let drained = reader.try_clone()?;
    let watch = Watch::new(reader, source, move |_readiness| {
        let mut buf = [0; 64];
        let mut read = false;
        while let Ok(len @ 1..) = (&drained).read(&mut buf) {
            read |= len > 0;
        }
        if read {
            callback();
        }
    })?;
    Ok((writer, watch))
}

/// Writes a byte; a full buffer or a closed reader is nothing to fire.
fn write_byte(writer: &UnixStream) {
    let _ = (&*writer).write(&[1]);
}

/// An event is a socket pair watched by an I/O backend, made by the function inside; firing it
/// writes a byte.
struct Sockets<S>(fn() -> io::Result<S>);

impl<S: EventSource + Send + Sync + 'static> Harness for Sockets<S> {
    type Source = S;
    type Trigger = UnixStream;
    type Registration = Watch<UnixStream>;

    fn source(&self) -> io::Result<S> {
        (self.0)()
    }

    fn register(&self, backend: &S, callback: Callback) -> io::Result<(UnixStream, Watch<UnixStream>)> {
        watch_reader(backend, callback)
    }

    fn fire(&self, writer: &UnixStream) {
        write_byte(writer);
    }
}

#[test]
fn epoll_conforms() {
    conforms(Sockets(Epoll::new));
}

#[test]
fn io_uring_conforms() {
    conforms(Sockets(reactor_epoll::Uring::new));
}

#[test]
fn the_portable_backend_conforms() {
    conforms(Sockets(PollingSource::new));
}

#[test]
fn the_portable_backend_with_one_shot_registrations_conforms() {
    conforms(Sockets(|| PollingSource::with_triggering(Triggering::Oneshot)));
}

/// Finds the part of type `T` of a composite.
fn part<T: 'static>(composite: &Composite) -> io::Result<&T> {
    let part = composite.component(TypeId::of::<T>()).and_then(|part: &dyn Any| part.downcast_ref::<T>());
    part.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the composite has no such part"))
}

/// A composite blocking in `Parking`, with a `PingSource` (its events) and a `Timer` (its
/// scheduled events) as passive parts.
struct ParkedComposite;

impl Harness for ParkedComposite {
    type Source = Composite;
    type Trigger = Ping;
    type Registration = Box<dyn Send>;

    fn source(&self) -> io::Result<Composite> {
        Ok(Composite::new(Parking::new())?.with(PingSource::new())?.with(Timer::new())?)
    }

    fn register(&self, composite: &Composite, callback: Callback) -> io::Result<(Ping, Box<dyn Send>)> {
        let (ping, registration) = part::<PingSource>(composite)?.register(callback);
        Ok((ping, Box::new(registration)))
    }

    fn fire(&self, ping: &Ping) {
        ping.ping();
    }

    fn register_at(
        &self,
        composite: &Composite,
        at: Instant,
        callback: Callback,
    ) -> io::Result<Box<dyn Send>> {
        Ok(Box::new(part::<Timer>(composite)?.register(at, once(callback))))
    }
}

#[test]
fn composite_over_parking_conforms() {
    conforms(ParkedComposite);
}

/// The default runtime's composition: a composite blocking in `Epoll`, with a `Timer` and a
/// `ChannelSource`. Events are sockets watched by the epoll part and channels of the channel
/// part, alternately; scheduled events are the timer's.
struct RuntimeComposite {
    next: Mutex<usize>,
}

/// Fires a socket event or a channel event.
enum Either {
    Socket(UnixStream),
    Channel(Sender<()>),
}

impl Harness for RuntimeComposite {
    type Source = Composite;
    type Trigger = Either;
    type Registration = Box<dyn Send>;

    fn source(&self) -> io::Result<Composite> {
        Ok(Composite::new(Epoll::new()?)?.with(Timer::new())?.with(ChannelSource::new())?)
    }

    fn register(&self, composite: &Composite, mut callback: Callback) -> io::Result<(Either, Box<dyn Send>)> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        *next += 1;
        if *next % 2 == 0 {
            let (writer, watch) = watch_reader(part::<Epoll>(composite)?, callback)?;
            Ok((Either::Socket(writer), Box::new(watch)))
        } else {
            let (sender, receiver) = reactor_channel::unbounded();
            let registration = part::<ChannelSource>(composite)?.register(receiver, move |()| callback());
            Ok((Either::Channel(sender), Box::new(registration)))
        }
    }

    fn fire(&self, trigger: &Either) {
        match trigger {
            Either::Socket(writer) => write_byte(writer),
            Either::Channel(sender) => {
                let _ = sender.try_send(());
            }
        }
    }

    fn register_at(
        &self,
        composite: &Composite,
        at: Instant,
        callback: Callback,
    ) -> io::Result<Box<dyn Send>> {
        Ok(Box::new(part::<Timer>(composite)?.register(at, once(callback))))
    }
}

#[test]
fn composite_over_epoll_conforms() {
    conforms(RuntimeComposite { next: Mutex::new(0) });
}
