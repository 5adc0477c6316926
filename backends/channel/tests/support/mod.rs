//! What the integration tests share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A value that counts its drops in a shared counter, to check that messages are dropped
/// exactly once.
#[derive(Debug)]
pub(crate) struct DropCounter(pub(crate) Arc<AtomicUsize>);

impl DropCounter {
    /// How many values sharing `drops` were dropped.
    pub(crate) fn count(drops: &AtomicUsize) -> usize {
        drops.load(Ordering::SeqCst)
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
