//! Channels for reactor: bounded and unbounded multi-producer single-consumer channels,
//! oneshot channels and [`broadcast`] channels, consumed by async tasks or (the MPSC ones) by
//! callbacks on the event loop.
//!
//! ```
//! use reactor::source::Parking;
//! use reactor::Executor;
//! use reactor_channel::{bounded, oneshot};
//!
//! let executor = Executor::new(Parking::new())?;
//! let (tx, mut rx) = bounded(16);
//! let (reply_tx, reply_rx) = oneshot();
//! executor
//!     .spawn(async move {
//!         let mut sum = 0;
//!         while let Ok(i) = rx.recv().await {
//!             sum += i;
//!         }
//!         reply_tx.send(sum).unwrap(); // every message arrived before the channel closed
//!     })
//!     .detach();
//! std::thread::spawn(move || {
//!     for i in 1..=10 {
//!         tx.send_blocking(i).unwrap(); // from a plain thread, outside any runtime
//!     }
//! }); // `tx` drops here, closing the channel
//! assert_eq!(executor.block_on(reply_rx), Ok(55));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Two ways to consume a channel
//!
//! * **In a task**: [`Receiver::recv`], [`Receiver::poll_recv`] or the [`Stream`](futures_core::Stream)
//!   implementation. Waiting is done with wakers alone: no event source is involved.
//! * **On the loop**: hand the receiver to a [`ChannelSource`] with a callback; the source runs
//!   the callback for each message when the loop dispatches it, in batches with a fairness cap.
//!
//! # No file descriptor per channel
//!
//! A channel is a lock-free queue (`concurrent-queue`) plus a slot for the receiver's waker and
//! an `event-listener` event for senders waiting on a full bounded channel. A send wakes the
//! receiver's waker; in callback mode that waker queues the registration in its
//! [`ChannelSource`] and calls the source's notifier, which ends the blocked wait of the loop.
//!
//! # Guarantees
//!
//! * Every message sent before the last sender drops is received, then receiving reports
//!   [`RecvError`].
//! * Once the receiver is gone (or [`close`](Receiver::close)d), sends fail with an error that
//!   hands the value back.
//! * [`Receiver::recv`] is cancel-safe: dropping its future before it completes loses nothing.
//! * Dropping a channel with queued messages drops each of them exactly once, when the receiver
//!   drops, even if some of them panic in their `Drop` (the first such panic is raised again).
//!
//! # Compared with tokio's `mpsc`
//!
//! [`bounded`] / [`unbounded`] mirror `tokio::sync::mpsc::channel` / `unbounded_channel` with one
//! [`Sender`] and [`Receiver`] type for both. The same calls: `send`, `try_send`,
//! [`Sender::closed`] (completes once the receiver drops or closes, for every waiting task),
//! [`Sender::downgrade`] / [`WeakSender::upgrade`] with `strong_count` / `weak_count`,
//! [`Receiver::recv_many`] (at least one message, at most `limit`; 0 only for a `limit` of 0 or
//! a closed and drained channel), `close`, `try_recv`. Differences:
//!
//! * Errors hand the value back in this crate's types ([`SendError`], [`TrySendError`],
//!   [`SendTimeoutError`]); a receive ends with `Err(RecvError)` where tokio returns `None`.
//! * The crate has no timer, so the general form of tokio's `send_timeout` is
//!   [`Sender::send_until`], whose deadline is any future (a reactor `Timer`'s sleep, or another
//!   runtime's); `send_timeout(value, duration)` on the ambient reactor timer comes with the
//!   `timer` feature, an opt-in dependency on `reactor-timer`, as no backend depends on another
//!   unless asked.
//! * A capacity of 0 is taken as 1, and there are no permits (`reserve`).
//! * The blocking calls are `send_blocking` / `recv_blocking`.
#![doc(test(attr(deny(warnings))))]

mod blocking;
pub mod broadcast;
mod chan;
mod error;
pub mod oneshot;
mod receiver;
mod sender;
mod source;
mod sync;
mod waker_slot;
mod weak;

pub use chan::{bounded, unbounded};
pub use error::{RecvError, SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use oneshot::oneshot;
pub use receiver::{Receiver, RecvFuture, RecvManyFuture};
pub use sender::{ClosedFuture, SendFuture, Sender};
pub use source::{ChannelRegistration, ChannelSource, DEFAULT_BATCH_LIMIT};
pub use weak::WeakSender;

/// Internals that the loom models in `loom-tests/` drive directly; only in `reactor_loom` builds.
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::sync::seeded_bug;

    /// The receiver's waker slot, exposed so that its protocol has a model of its own.
    #[derive(Debug)]
    pub struct WakerSlot(crate::waker_slot::WakerSlot);

    impl WakerSlot {
        /// An empty slot.
        pub fn new() -> Self {
            Self(crate::waker_slot::WakerSlot::new())
        }

        /// Registers `waker` to be woken by the next [`wake`](Self::wake).
        ///
        /// Safe from any number of threads at once: a registration that finds another in
        /// progress leaves the slot to it and wakes its own waker instead.
        pub fn register(&self, waker: &std::task::Waker) {
            self.0.register(waker);
        }

        /// Wakes and removes the registered waker, if any.
        pub fn wake(&self) {
            self.0.wake();
        }
    }

    impl Default for WakerSlot {
        fn default() -> Self {
            Self::new()
        }
    }

    /// A waker that counts how often it was woken, for models that poll by hand.
    ///
    /// The count is a std atomic: it records what happened and is no part of a protocol under
    /// test.
    #[derive(Debug, Default)]
    pub struct WakeCounter(std::sync::atomic::AtomicUsize);

    impl WakeCounter {
        /// A counter and a waker that increments it.
        pub fn waker() -> (std::sync::Arc<Self>, std::task::Waker) {
            let counter = std::sync::Arc::new(Self::default());
            (counter.clone(), std::task::Waker::from(counter))
        }

        /// How often the waker was woken.
        pub fn count(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// A value that counts its drops in a shared std counter, to check that a message is dropped
    /// exactly once whatever the interleaving.
    #[derive(Debug)]
    pub struct DropCounter(pub std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl DropCounter {
        /// How many values sharing `drops` were dropped.
        pub fn count(drops: &std::sync::atomic::AtomicUsize) -> usize {
            drops.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl Drop for DropCounter {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl std::task::Wake for WakeCounter {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
