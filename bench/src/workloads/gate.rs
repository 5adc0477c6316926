//! A start signal that tasks wait on with wakers alone, the same for every runtime.

use std::sync::OnceLock;
use std::time::Instant;

use event_listener::Event;

/// Holds tasks until [`open`](Self::open) records the common start instant.
#[derive(Debug, Default)]
pub(crate) struct StartGate {
    start: OnceLock<Instant>,
    opened: Event,
}

impl StartGate {
    /// Records the start as now and releases every waiting task; returns the start.
    pub(crate) fn open(&self) -> Instant {
        let start = *self.start.get_or_init(Instant::now);
        self.opened.notify(usize::MAX);
        start
    }

    /// Waits until the gate opens; returns the common start.
    pub(crate) async fn wait(&self) -> Instant {
        loop {
            if let Some(&start) = self.start.get() {
                return start;
            }
            let listener = self.opened.listen();
            if let Some(&start) = self.start.get() {
                return start;
            }
            listener.await;
        }
    }
}
