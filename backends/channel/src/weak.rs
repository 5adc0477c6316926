//! Weak senders of an MPSC channel: handles that can make a sender while one is alive, but do not
//! keep the channel open.

use std::fmt;

use crate::chan::Chan;
use crate::sync::atomic::Ordering;
use crate::sync::Arc;
use crate::Sender;

/// A sender that does not keep the channel open: made by [`Sender::downgrade`], turned back into
/// a [`Sender`] by [`upgrade`](Self::upgrade) while at least one sender is alive.
///
/// As in tokio (`mpsc::WeakSender`): once every [`Sender`] is gone the channel closes, weak
/// senders or not, and from then on every upgrade returns `None`, even if the receiver is still
/// receiving what was queued. A weak sender keeps the channel's memory (not its messages, which
/// the receiver's drop drops) until it is dropped.
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A weak sender of `chan`, counted in `weak_senders`.
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        // Relaxed: the count is only reported (`weak_count`), never relied on.
        chan.weak_senders.fetch_add(1, Ordering::Relaxed);
        Self { chan }
    }

    /// A [`Sender`] of the channel, or `None` once every sender is gone (the channel is then
    /// closed for good).
    ///
    /// An upgrade racing with the drop of the last sender either comes first (and the channel
    /// stays open while the new sender lives) or returns `None`: it never hands out a sender of a
    /// channel that the last sender's drop closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use reactor_channel::unbounded;
    ///
    /// let (tx, mut rx) = unbounded();
    /// let weak = tx.downgrade();
    /// let again = weak.upgrade().expect("a sender is alive");
    /// drop(tx);
    /// again.try_send(1).unwrap(); // `again` keeps the channel open
    /// drop(again);
    /// assert!(weak.upgrade().is_none());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::UpgradeChecksThenIncrements) {
            if self.chan.senders.load(Ordering::Relaxed) == 0 {
                return None;
            }
            self.chan.senders.fetch_add(1, Ordering::Relaxed);
            return Some(Sender::new(self.chan.clone()));
        }
        // Relaxed: only the modification order of `senders` matters: an increment from a value
        // above 0 comes before the last sender's decrement in it, so that decrement does not
        // find 1 and does not close the channel; no other memory is published by the count (as
        // for `Sender::clone`). Never from 0: see `Chan::senders`.
        let mut current = self.chan.senders.load(Ordering::Relaxed);
        loop {
            if current == 0 {
                return None;
            }
            match self.chan.senders.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Sender::new(self.chan.clone())),
                Err(actual) => current = actual,
            }
        }
    }

    /// How many [`Sender`]s of the channel are alive.
    pub fn strong_count(&self) -> usize {
        // Relaxed: a snapshot for the caller.
        self.chan.senders.load(Ordering::Relaxed)
    }

    /// How many [`WeakSender`]s of the channel are alive (this one included).
    pub fn weak_count(&self) -> usize {
        // Relaxed: a snapshot for the caller.
        self.chan.weak_senders.load(Ordering::Relaxed)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        Self::new(self.chan.clone())
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        // Relaxed: the count is only reported.
        self.chan.weak_senders.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").field("strong_count", &self.strong_count()).finish()
    }
}
