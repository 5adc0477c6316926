//! Weak senders of a broadcast channel, and the receiver as a `Stream`.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::{Lagged, Receiver, RecvError, Sender, Shared};
use crate::sync::Arc;

/// A broadcast sender that does not keep the channel open: made by [`Sender::downgrade`],
/// turned back into a [`Sender`] by [`upgrade`](Self::upgrade) while at least one sender is
/// alive (tokio's `broadcast::WeakSender`).
///
/// Once every [`Sender`] is gone the channel is closed for good: receivers get what is left
/// for them, then [`RecvError::Closed`], and every upgrade returns `None`.
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A [`WeakSender`] of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use reactor_channel::broadcast::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel::<u8>(NonZeroUsize::new(2).unwrap());
    /// let weak = tx.downgrade();
    /// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed)); // the weak sender kept nothing open
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.state.lock().weak_senders += 1;
        WeakSender { shared: self.shared.clone() }
    }

    /// How many [`Sender`]s of this channel are alive (this one included).
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// How many [`WeakSender`]s of this channel are alive.
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_senders
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] of the channel, or `None` once every sender is gone.
    ///
    /// The check and the count happen in one critical section with the last sender's drop,
    /// which closes the channel in its own: an upgrade either comes first (the channel stays
    /// open while the new sender lives) or finds it closed.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut state = self.shared.state.lock();
        if state.senders == 0 {
            return None;
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(
            crate::sync::seeded_bug::Bug::BroadcastUpgradeChecksThenIncrements,
        ) {
            drop(state);
            state = self.shared.state.lock();
        }
        state.senders += 1;
        Some(Sender { shared: self.shared.clone() })
    }

    /// How many [`Sender`]s of the channel are alive.
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// How many [`WeakSender`]s of the channel are alive (this one included).
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_senders
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.state.lock().weak_senders += 1;
        Self { shared: self.shared.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.state.lock().weak_senders -= 1;
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::WeakSender").field("strong_count", &self.strong_count()).finish()
    }
}

/// The receiver as a stream of `Result<T, Lagged>`, ending when the channel is closed and
/// every message kept for this receiver was received: what tokio's `BroadcastStream` wrapper
/// gives, without the wrapper (a poll here needs no future kept between calls).
///
/// A lag is an item, `Err(Lagged(n))`, and the stream goes on with the oldest message still
/// kept. Each poll spends a unit of the cooperative budget, like [`Receiver::poll_recv`].
///
/// # Examples
///
/// ```
/// use std::num::NonZeroUsize;
/// use futures_lite::StreamExt;
/// use reactor_channel::broadcast::{self, Lagged};
/// # futures_lite::future::block_on(async {
///
/// let (tx, rx) = broadcast::channel(NonZeroUsize::new(2).unwrap());
/// for i in 1..=3 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// let items: Vec<_> = rx.collect().await;
/// assert_eq!(items, [Err(Lagged(1)), Ok(2), Ok(3)]);
/// # });
/// ```
impl<T: Clone> Stream for Receiver<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(match ready!(self.get_mut().poll_recv(cx)) {
            Ok(value) => Some(Ok(value)),
            Err(RecvError::Lagged(missed)) => Some(Err(Lagged(missed))),
            Err(RecvError::Closed) => None,
        })
    }
}
