//! What the suite needs from a source author: [`Harness`].

use std::fmt;
use std::io;
use std::time::Instant;

use reactor::EventSource;

/// The callback the suite registers for an event: the harness's [`register`](Harness::register)
/// arranges for the source to call it each time it dispatches the event.
pub type Callback = Box<dyn FnMut() + Send + 'static>;

/// How the suite builds, registers with and triggers one kind of source; the source author
/// implements it.
///
/// Only [`source`](Self::source) is required. A source with events of its own also implements
/// [`register`](Self::register) and [`fire`](Self::fire), which enable the checks of bulk
/// dispatch, of events waking a blocked wait, and of deregistration; a source with events that
/// come due by themselves (timers) also implements [`register_at`](Self::register_at), which
/// enables the checks of deadlines. A hook left at its default returns
/// [`Unsupported`](io::ErrorKind::Unsupported), and the checks that need it are reported as
/// skipped.
///
/// The suite calls [`EventSource::attach`] itself, as a driver does: a blocking source is
/// attached to a notifier of itself (as an executor does), a passive one is composed with a
/// [`Parking`](reactor::source::Parking) source in a [`Composite`](reactor::source::Composite).
///
/// # Examples
///
/// A harness for the core's [`PingSource`](reactor::source::PingSource): an event is a
/// registration, firing it is a ping.
///
/// ```
/// use std::io;
/// use reactor::source::{Ping, PingRegistration, PingSource};
/// use reactor_conformance::{Callback, Harness, Obligation, Suite};
///
/// struct Pings;
///
/// impl Harness for Pings {
///     type Source = PingSource;
///     type Trigger = Ping;
///     type Registration = PingRegistration;
///
///     fn source(&self) -> io::Result<PingSource> {
///         Ok(PingSource::new())
///     }
///
///     fn register(&self, source: &PingSource, callback: Callback) -> io::Result<(Ping, PingRegistration)> {
///         Ok(source.register(callback))
///     }
///
///     fn fire(&self, ping: &Ping) {
///         ping.ping();
///     }
/// }
///
/// // The checks of obligation 5 only, for a quick example.
/// let report = Suite::new(Pings).only(&[Obligation::Deregistration]).run()?;
/// assert_eq!(report.passed(), 2);
/// # Ok::<(), reactor_conformance::Failure>(())
/// ```
pub trait Harness: Send + Sync + 'static {
    /// The source under test.
    type Source: EventSource + 'static;
    /// What fires one registered event; the suite fires it from several threads at once.
    type Trigger: Send + Sync + 'static;
    /// Keeps one event registered; dropping it deregisters (the suite may drop it on another
    /// thread than the one that registered it).
    type Registration: Send + 'static;

    /// A fresh source, not attached to anything. Called once per check.
    ///
    /// # Errors
    ///
    /// Whatever creating the source fails with; the suite reports it and skips the check.
    fn source(&self) -> io::Result<Self::Source>;

    /// Registers one event with `source` and arranges for `callback` to run, inside the source's
    /// [`wait`](EventSource::wait), each time the event is dispatched.
    ///
    /// The callback may run more than once per [`fire`](Self::fire) and several fires may
    /// coalesce into one run, but every fire must be followed by at least one run; call it once
    /// per callback the source runs for the event (the suite compares the count with what
    /// `wait` returns). Anything else the source reports on registration (an fd that is
    /// writable at once, say) should not call it.
    ///
    /// # Errors
    ///
    /// [`Unsupported`](io::ErrorKind::Unsupported) (the default) for a source without events:
    /// the checks that need events are skipped. Any other error is reported as the check's
    /// failure to set up.
    fn register(
        &self,
        source: &Self::Source,
        callback: Callback,
    ) -> io::Result<(Self::Trigger, Self::Registration)> {
        let _ = (source, callback);
        Err(unsupported("register"))
    }

    /// Fires the event of `trigger`, from any thread: once this returns, the event is ready, and
    /// the next [`wait`](EventSource::wait) of the source (or one blocked already) dispatches it.
    ///
    /// It is called concurrently from several threads, and also after the event's
    /// registration was dropped, where it must do nothing harmful (it may fail silently).
    fn fire(&self, trigger: &Self::Trigger) {
        let _ = trigger;
    }

    /// Registers one event that comes due by itself at `at`, with no outside help (a timer),
    /// and runs `callback` when it is dispatched. Callable from any thread.
    ///
    /// # Errors
    ///
    /// [`Unsupported`](io::ErrorKind::Unsupported) (the default) for a source without such
    /// events: the checks of scheduled deadlines are skipped.
    fn register_at(
        &self,
        source: &Self::Source,
        at: Instant,
        callback: Callback,
    ) -> io::Result<Self::Registration> {
        let _ = (source, at, callback);
        Err(unsupported("register_at"))
    }
}

fn unsupported(hook: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("the harness does not implement `{hook}`"))
}

/// A [`Harness`] for a source without events of its own, from a function that makes one.
///
/// The checks of waits, notify, deadlines and composition run; those that need events are
/// skipped.
///
/// # Examples
///
/// ```
/// use reactor::source::Parking;
/// use reactor_conformance::{NoEvents, Suite};
///
/// let report = Suite::new(NoEvents(|| Ok(Parking::new()))).notify_rounds(100).run()?;
/// assert!(report.skipped() > 0); // Parking has no events of its own
/// # Ok::<(), reactor_conformance::Failure>(())
/// ```
pub struct NoEvents<F>(pub F);

impl<S, F> Harness for NoEvents<F>
where
    S: EventSource + 'static,
    F: Fn() -> io::Result<S> + Send + Sync + 'static,
{
    type Source = S;
    type Trigger = ();
    type Registration = ();

    fn source(&self) -> io::Result<S> {
        (self.0)()
    }
}

impl<F> fmt::Debug for NoEvents<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoEvents").field(&std::any::type_name::<F>()).finish()
    }
}
