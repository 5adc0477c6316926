//! Several sources combined into one, of which exactly one blocks.

use std::any::{Any, TypeId};
use std::error::Error;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::source::{timeout_until, EventSource, Notifier, NotifierSlot, Parking};

/// Any number of sources combined into one: one blocking source and any number of passive ones.
///
/// [`wait`](EventSource::wait) blocks in the blocking source, for at most the earliest
/// [`deadline`](EventSource::deadline) of all sources, then dispatches every passive source with a
/// zero timeout. Each passive source is [attached](EventSource::attach) to a [`Notifier`] of the
/// blocking source, so a message sent or an earlier deadline registered from another thread ends
/// the blocking wait. Every part is dispatched on every wait even if another part fails (see
/// [`wait`](Composite#method.wait)), so one broken source cannot starve the others.
///
/// Each part is attached when it is added, and a source already attached to another live
/// composite or executor refuses: [`new`](Self::new) and [`with`](Self::with) hand it back in a
/// [`ComposeError`] that says why. Once a composite is dropped, its parts may be composed again.
///
/// # Examples
///
/// ```
/// use reactor::source::{Composite, EventSource, Parking, PingSource};
///
/// let pings = PingSource::new();
/// let (ping, _registration) = pings.register(|| println!("pinged"));
/// let source = Composite::new(Parking::new())?.with(pings.clone())?;
///
/// ping.ping(); // from any thread
/// assert_eq!(source.wait(None)?, 1); // returns at once, having run the callback
///
/// // A source is driven by exactly one composite or executor at a time.
/// let error = Composite::new(Parking::new())?.with(pings).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Composite {
    blocking: Arc<dyn EventSource>,
    passive: Vec<Box<dyn EventSource>>,
    /// This composite's own driver, when it is the source of an executor or the blocking part
    /// of another composite.
    driver: NotifierSlot,
}

impl Composite {
    /// A composite that blocks in `blocking`, which it [attaches](EventSource::attach) to a
    /// notifier of itself.
    ///
    /// A passive `blocking` source is accepted too; it is composed with a [`Parking`] source that
    /// does the blocking for it, as [`with`](Self::with) does.
    ///
    /// # Errors
    ///
    /// `blocking` refused to be attached, and is handed back: typically
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists), for a source that another live
    /// composite or executor drives already (two threads would block in it, or wake-ups meant
    /// for one waiter would reach the other).
    pub fn new<S: EventSource + 'static>(blocking: S) -> Result<Self, ComposeError<S>> {
        if !blocking.can_block() {
            return match Self::blocking_in(Parking::new()) {
                Ok(parked) => parked.with(blocking),
                Err(error) => Err(ComposeError::refused(blocking, error.into_cause())),
            };
        }
        Self::blocking_in(blocking)
    }

    fn blocking_in<S: EventSource + 'static>(blocking: S) -> Result<Self, ComposeError<S>> {
        // Attached before it goes into the `Arc` that the notifier will point to, so that a
        // refused source can be handed back as it came.
        let (notifier, target) = Notifier::late();
        if let Err(error) = blocking.attach(notifier) {
            return Err(ComposeError::refused(blocking, error));
        }
        let blocking: Arc<dyn EventSource> = Arc::new(blocking);
        target.bind(&blocking);
        Ok(Self { blocking, passive: Vec::new(), driver: NotifierSlot::new() })
    }

    /// Adds a passive source, [attached](EventSource::attach) to a notifier of the blocking one.
    ///
    /// # Errors
    ///
    /// The source is handed back in the error, which says why:
    ///
    /// - it [can block](EventSource::can_block) ([`ComposeError::is_blocking`]): a composite
    ///   blocks in exactly one source, and a second blocking source's events would go unnoticed
    ///   while the first one blocks;
    /// - it refused to be attached ([`ComposeError::attach_error`]): typically
    ///   [`AlreadyExists`](io::ErrorKind::AlreadyExists), for a source that another live
    ///   composite or executor drives already, whose wake-ups it would otherwise take.
    ///
    /// The composite itself is dropped with the error.
    pub fn with<S: EventSource + 'static>(mut self, source: S) -> Result<Self, ComposeError<S>> {
        if source.can_block() {
            return Err(ComposeError { source, reason: Reason::Blocking });
        }
        if let Err(error) = source.attach(Notifier::from_weak(Arc::downgrade(&self.blocking))) {
            return Err(ComposeError::refused(source, error));
        }
        self.passive.push(Box::new(source));
        Ok(self)
    }
}

impl EventSource for Composite {
    /// Blocks in the blocking source, then dispatches every passive source without blocking.
    ///
    /// Every part is dispatched on every wait, whatever the others do: a part whose wait fails
    /// or panics does not keep the parts after it from running their callbacks.
    ///
    /// # Errors
    ///
    /// Once every part was dispatched: the error of the one part that failed, as it returned
    /// it; if several failed, one error with the kind of the first that lists them all. A part
    /// that panicked makes the whole wait panic with its payload instead (after the other parts
    /// were dispatched; the first panic wins, and errors of the same wait are dropped).
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout = timeout_until(timeout, self.deadline());
        let mut failures = Failures::default();
        let mut dispatched = failures.run(|| self.blocking.wait(timeout));
        for source in &self.passive {
            dispatched += failures.run(|| source.wait(Some(Duration::ZERO)));
        }
        failures.into_result(dispatched)
    }

    fn notify(&self) {
        self.blocking.notify();
    }

    /// Records this composite's driver; its parts were attached when they were added.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live (an
    /// `Arc<Composite>` given to two executors).
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.driver.attach(notifier)
    }

    fn deadline(&self) -> Option<Instant> {
        let blocking = self.blocking.deadline();
        self.passive.iter().filter_map(|source| source.deadline()).chain(blocking).min()
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<Self>() {
            return Some(self);
        }
        self.blocking
            .component(type_id)
            .or_else(|| self.passive.iter().find_map(|source| source.component(type_id)))
    }

    /// Whether any part runs on paused time.
    fn pauses_time(&self) -> bool {
        self.parts().any(|part| part.pauses_time())
    }

    /// Advances every part that runs on paused time; `true` if any made something due.
    fn advance_idle_time(&self) -> bool {
        self.parts().fold(false, |advanced, part| part.advance_idle_time() | advanced)
    }
}

impl Composite {
    /// The blocking part, then the passive ones.
    fn parts(&self) -> impl Iterator<Item = &dyn EventSource> {
        std::iter::once(&*self.blocking).chain(self.passive.iter().map(|part| &**part))
    }
}

/// What went wrong in the parts of one [`Composite::wait`], kept until every part has run.
#[derive(Default)]
struct Failures {
    errors: Vec<io::Error>,
    panic: Option<Box<dyn Any + Send>>,
}

impl Failures {
    /// Runs one part's wait; returns the callbacks it ran, recording a failure as 0.
    fn run(&mut self, wait: impl FnOnce() -> io::Result<usize>) -> usize {
        match panic::catch_unwind(AssertUnwindSafe(wait)) {
            Ok(Ok(dispatched)) => dispatched,
            Ok(Err(error)) => {
                self.errors.push(error);
                0
            }
            Err(payload) => {
                // The first panic wins; a later one's payload is dropped, and its drop may panic
                // too (a payload is any value), which must not unwind out of this wait.
                if self.panic.is_none() {
                    self.panic = Some(payload);
                } else {
                    let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload)));
                }
                0
            }
        }
    }

    fn into_result(mut self, dispatched: usize) -> io::Result<usize> {
        if let Some(payload) = self.panic.take() {
            panic::resume_unwind(payload);
        }
        match self.errors.len() {
            0 => Ok(dispatched),
            1 => Err(self.errors.remove(0)),
            _ => Err(io::Error::new(self.errors[0].kind(), WaitErrors(self.errors))),
        }
    }
}

/// Several parts of a composite failed in one wait.
#[derive(Debug)]
struct WaitErrors(Vec<io::Error>);

impl fmt::Display for WaitErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} parts of a composite event source failed: ", self.0.len())?;
        for (index, error) in self.0.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            write!(f, "{separator}{error}")?;
        }
        Ok(())
    }
}

impl Error for WaitErrors {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.first().map(|error| error as &(dyn Error + 'static))
    }
}

impl fmt::Debug for Composite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Composite").field("passive_sources", &self.passive.len()).finish_non_exhaustive()
    }
}

/// A source that [`Composite::new`] or [`Composite::with`] could not compose, handed back with
/// the reason.
///
/// It converts into an [`io::Error`] (of the same [`kind`](Self::kind) and message, the source
/// dropped), so `?` works in functions that return [`io::Result`]:
///
/// ```
/// use std::io;
/// use reactor::source::{Composite, Parking, PingSource};
///
/// fn compose(pings: PingSource) -> io::Result<Composite> {
///     Ok(Composite::new(Parking::new())?.with(pings)?)
/// }
///
/// let pings = PingSource::new();
/// let _first = compose(pings.clone())?;
/// let second = compose(pings).unwrap_err();
/// assert_eq!(second.kind(), io::ErrorKind::AlreadyExists);
/// # Ok::<(), io::Error>(())
/// ```
pub struct ComposeError<S> {
    source: S,
    reason: Reason,
}

/// Why a source was not composed.
enum Reason {
    /// A second blocking source offered to `with`.
    Blocking,
    /// The source's `attach` refused.
    Refused(io::Error),
}

impl Reason {
    fn into_io_error(self) -> io::Error {
        match self {
            Self::Blocking => io::Error::new(io::ErrorKind::InvalidInput, BLOCKING),
            Self::Refused(error) => error,
        }
    }
}

/// Why a second blocking source is refused.
const BLOCKING: &str = "a composite source blocks in exactly one source, and this one can block too \
                        (compose it as the blocking source of a composite of its own)";

impl<S> ComposeError<S> {
    fn refused(source: S, error: io::Error) -> Self {
        Self { source, reason: Reason::Refused(error) }
    }

    /// Why the source was not composed, as an `io::Error` without the `cannot compose` prefix.
    pub(crate) fn into_cause(self) -> io::Error {
        self.reason.into_io_error()
    }

    /// The source that was not composed.
    pub fn into_inner(self) -> S {
        self.source
    }

    /// Whether the source was refused because it [can block](EventSource::can_block) and the
    /// composite already blocks in another.
    pub fn is_blocking(&self) -> bool {
        matches!(self.reason, Reason::Blocking)
    }

    /// The error with which the source refused to be [attached](EventSource::attach), if that
    /// is why it was not composed.
    pub fn attach_error(&self) -> Option<&io::Error> {
        match &self.reason {
            Reason::Blocking => None,
            Reason::Refused(error) => Some(error),
        }
    }

    /// The kind of the error: [`InvalidInput`](io::ErrorKind::InvalidInput) for a second
    /// blocking source, the kind of the [attach error](Self::attach_error) otherwise
    /// ([`AlreadyExists`](io::ErrorKind::AlreadyExists) for a source driven elsewhere already).
    pub fn kind(&self) -> io::ErrorKind {
        match &self.reason {
            Reason::Blocking => io::ErrorKind::InvalidInput,
            Reason::Refused(error) => error.kind(),
        }
    }
}

impl<S> fmt::Debug for ComposeError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComposeError")
            .field("source", &std::any::type_name::<S>())
            .field("kind", &self.kind())
            .field("attach_error", &self.attach_error())
            .finish()
    }
}

impl<S> fmt::Display for ComposeError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot compose `{}`: ", std::any::type_name::<S>())?;
        match &self.reason {
            Reason::Blocking => f.write_str(BLOCKING),
            Reason::Refused(error) => write!(f, "{error}"),
        }
    }
}

impl<S> Error for ComposeError<S> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.attach_error().map(|error| error as &(dyn Error + 'static))
    }
}

impl<S> From<ComposeError<S>> for io::Error {
    fn from(error: ComposeError<S>) -> Self {
        let message = error.to_string();
        match error.reason {
            Reason::Blocking => io::Error::new(io::ErrorKind::InvalidInput, message),
            Reason::Refused(cause) => io::Error::new(cause.kind(), Refused { message, cause }),
        }
    }
}

/// A [`ComposeError`] for a refused attach, as an [`io::Error`]: its message, and the source's
/// own error as the cause.
#[derive(Debug)]
struct Refused {
    message: String,
    cause: io::Error,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Refused {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.cause)
    }
}
