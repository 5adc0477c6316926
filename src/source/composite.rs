//! Several sources combined into one, of which exactly one blocks.

use std::any::{Any, TypeId};
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::source::{timeout_until, EventSource, Notifier, Parking};

/// Any number of sources combined into one: one blocking source and any number of passive ones.
///
/// [`wait`](EventSource::wait) blocks in the blocking source, for at most the earliest
/// [`deadline`](EventSource::deadline) of all sources, then dispatches every passive source with a
/// zero timeout. Each passive source is [attached](EventSource::attach) to a [`Notifier`] of the
/// blocking source, so a message sent or an earlier deadline registered from another thread ends
/// the blocking wait.
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
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let timeout = timeout_until(timeout, self.deadline());
        let mut dispatched = self.blocking.wait(timeout)?;
        for source in &self.passive {
            dispatched += source.wait(Some(Duration::ZERO))?;
        }
        Ok(dispatched)
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
