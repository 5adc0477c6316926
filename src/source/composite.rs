//! Several sources combined into one, of which exactly one blocks.

use std::any::{Any, TypeId};
use std::error::Error;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::source::{timeout_until, EventSource, Notifier, Parking};

/// Any number of sources combined into one: one blocking source and any number of passive ones.
///
/// [`wait`](EventSource::wait) blocks in the blocking source, for at most the earliest
/// [`deadline`](EventSource::deadline) of all sources, then dispatches every passive source with a
/// zero timeout. Each passive source is [attached](EventSource::attach) to a [`Notifier`] of the
/// blocking source, so a message sent or an earlier deadline registered from another thread ends
/// the blocking wait. Every part is dispatched on every wait even if another part fails (see
/// [`wait`](Composite#method.wait)), so one broken source cannot starve the others.
///
/// # Examples
///
/// ```
/// use reactor::source::{Composite, EventSource, Parking, PingSource};
///
/// let pings = PingSource::new();
/// let (ping, _registration) = pings.register(|| println!("pinged"));
/// let source = Composite::new(Parking::new()).with(pings).expect("PingSource is passive");
///
/// ping.ping(); // from any thread
/// assert_eq!(source.wait(None).unwrap(), 1); // returns at once, having run the callback
/// ```
pub struct Composite {
    blocking: Arc<dyn EventSource>,
    passive: Vec<Box<dyn EventSource>>,
}

impl Composite {
    /// A composite that blocks in `blocking`.
    ///
    /// A passive `blocking` source is accepted too; it is composed with a [`Parking`] source that
    /// does the blocking for it.
    pub fn new(blocking: impl EventSource + 'static) -> Self {
        if blocking.can_block() {
            Self { blocking: Arc::new(blocking), passive: Vec::new() }
        } else {
            let parking = Self { blocking: Arc::new(Parking::new()), passive: Vec::new() };
            parking.attached(Box::new(blocking))
        }
    }

    /// Adds a passive source.
    ///
    /// # Errors
    ///
    /// A source that [can block](EventSource::can_block) is rejected and handed back in the
    /// error: a composite blocks in exactly one source, and a second blocking source's events
    /// would go unnoticed while the first one blocks.
    pub fn with<S: EventSource + 'static>(self, source: S) -> Result<Self, ComposeError<S>> {
        if source.can_block() {
            return Err(ComposeError { source });
        }
        Ok(self.attached(Box::new(source)))
    }

    fn attached(mut self, source: Box<dyn EventSource>) -> Self {
        source.attach(Notifier::from_source(self.blocking.clone()));
        self.passive.push(source);
        self
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

/// A second blocking source offered to [`Composite::with`], handed back.
pub struct ComposeError<S> {
    source: S,
}

impl<S> ComposeError<S> {
    /// The rejected source.
    pub fn into_inner(self) -> S {
        self.source
    }
}

impl<S> fmt::Debug for ComposeError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComposeError").finish_non_exhaustive()
    }
}

impl<S> fmt::Display for ComposeError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a composite source blocks in exactly one source, and this one can block too")
    }
}

impl<S> Error for ComposeError<S> {}
