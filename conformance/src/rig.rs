//! A source under test, driven the way an executor drives it.

use std::sync::Arc;

use reactor::source::{Composite, Notifier, Parking};
use reactor::EventSource;

/// A source and what the suite waits on to drive it.
pub(crate) struct Rig<S> {
    /// The source under test.
    pub(crate) source: Arc<S>,
    /// What a driver waits on: the source itself if it can block (attached to a notifier of
    /// itself, as an executor attaches it), or a [`Composite`] of a [`Parking`] source and the
    /// source if it is passive.
    pub(crate) waiter: Arc<dyn EventSource>,
}

impl<S: EventSource + 'static> Rig<S> {
    /// Drives `source`.
    ///
    /// # Errors
    ///
    /// Why the source could not be attached or composed.
    pub(crate) fn drive(source: S) -> Result<Self, String> {
        let source = Arc::new(source);
        let waiter: Arc<dyn EventSource> = if source.can_block() {
            source
                .attach(Notifier::from_weak(Arc::downgrade(&source)))
                .map_err(|error| format!("its first attach was refused: {error}"))?;
            source.clone()
        } else {
            let composite = Composite::new(Parking::new())
                .map_err(|error| format!("cannot build a composite to drive it: {error}"))?;
            let composite = composite
                .with(source.clone())
                .map_err(|error| format!("it could not be composed as a passive part: {error}"))?;
            Arc::new(composite)
        };
        Ok(Self { source, waiter })
    }

    /// Whether the source is passive (driven through a composite).
    pub(crate) fn is_passive(&self) -> bool {
        !self.source.can_block()
    }

    /// A closure that notifies the driver: what frees a waiter that the suite gave up on.
    pub(crate) fn rescuer(&self) -> Arc<dyn Fn() + Send + Sync> {
        let waiter = self.waiter.clone();
        Arc::new(move || waiter.notify())
    }
}
