//! The [`EventSource`] trait and the sources the core ships.
//!
//! An event source is anything the executor can wait on in bulk: epoll, a timer wheel, a channel,
//! a flag set from another thread. The executor knows sources only through this trait, and the
//! built-in backends implement exactly the same trait that a user implements for a custom source.
//!
//! # The five obligations of an implementor
//!
//! 1. **Bulk wait.** [`EventSource::wait`] waits for every registered event at once and runs the
//!    callback of each event that completed before it returns (for async tasks the callback is the
//!    task's [`Waker`](std::task::Waker)). It blocks at most the timeout it is given, may return
//!    early (a spurious return is fine, the executor simply calls again), and a zero timeout never
//!    blocks.
//! 2. **Notify.** [`EventSource::notify`] may be called from any thread. It makes a wait that is
//!    blocked, or the next wait to start, return promptly. It must never be lost: a notify that
//!    races with the start of a wait still ends that wait. It should be cheap when nobody waits.
//! 3. **Deadlines.** [`EventSource::deadline`] says when the source next needs `wait` to be called
//!    even if no outside event arrives (a timer's earliest deadline, or "now" when work is already
//!    pending). The blocking source of a [`Composite`] uses the earliest of them as its timeout.
//! 4. **Composition.** A source either can block ([`EventSource::can_block`] is `true`: epoll,
//!    [`Parking`]) or is passive (timers, channels, [`PingSource`]): its `wait` only dispatches what
//!    is already due and never sleeps. Any number of sources combine in a [`Composite`], of which
//!    exactly one blocks. A passive source is handed a [`Notifier`] through
//!    [`EventSource::attach`]; whenever something happens on another thread that the blocked waiter
//!    must see (a message sent, an earlier deadline registered), it calls that notifier.
//! 5. **Registration** is typed per source (an fd and a direction, a deadline, a channel), so it is
//!    not part of this trait: each source has its own `register`-like method that returns a handle.
//!    Dropping the handle deregisters, and once deregistration has returned the callback never runs
//!    again. [`CallbackSlot`] implements that guarantee once, for every source to reuse.
//!
//! The executor never calls `wait` from two threads at once, so an implementation may assume
//! calls to `wait` are serialised (though not that they come from one thread). `notify`,
//! `deadline` and registration run concurrently with `wait` from any thread.

mod callback;
mod composite;
mod parking;
mod ping;

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use callback::CallbackSlot;
pub use composite::{ComposeError, Composite};
pub use parking::Parking;
pub use ping::{Ping, PingRegistration, PingSource};

/// A source of events that an [`Executor`](crate::Executor) waits on in bulk.
///
/// See the [module documentation](self) for the obligations every implementation must meet, and
/// the [crate documentation](crate#writing-an-event-source) for a complete custom source.
///
/// The trait is object safe: `Box<dyn EventSource>` and `Arc<dyn EventSource>` are sources too.
pub trait EventSource: Send + Sync {
    /// Waits for events and runs the callback of every event that completed.
    ///
    /// `None` waits until an event arrives or [`notify`](Self::notify) is called; `Some(timeout)`
    /// blocks at most that long, and `Some(Duration::ZERO)` never blocks. A passive source
    /// ([`can_block`](Self::can_block) is `false`) never blocks whatever the timeout.
    ///
    /// Returns the number of callbacks it ran.
    ///
    /// # Errors
    ///
    /// Returns the error of the underlying wait (for example `epoll_wait` failing). A wait
    /// interrupted by a signal is not an error: it returns `Ok` and the caller calls again.
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize>;

    /// Makes a blocked [`wait`](Self::wait), or the next one to start, return promptly.
    ///
    /// Callable from any thread, never lost, and cheap when nobody waits. A passive source
    /// forwards it to the [`Notifier`] it was [attached](Self::attach) to.
    fn notify(&self);

    /// The instant at which this source next needs [`wait`](Self::wait) to be called without any
    /// outside event, or `None` when it has nothing scheduled.
    ///
    /// A deadline in the past (or `Instant::now()`) means work is pending already.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Whether [`wait`](Self::wait) can block the calling thread.
    ///
    /// A passive source (`false`) must be [attached](Self::attach) to a blocking one, which the
    /// [`Composite`] and the [`Executor`](crate::Executor) do for it.
    fn can_block(&self) -> bool {
        true
    }

    /// Gives a passive source the notifier of the blocking source it is composed with.
    ///
    /// Called once when the source is composed, before any `wait`. A blocking source ignores it
    /// (the default). A passive source stores it and calls it whenever the blocked waiter must
    /// wake up: an event became ready on another thread, or its [`deadline`](Self::deadline)
    /// moved earlier.
    fn attach(&self, notifier: Notifier) {
        let _ = notifier;
    }

    /// Finds a part of this source by type: the source itself, or one of the sources it is
    /// composed of. This is how ambient APIs find their source from inside a task (see
    /// [`current_source`](crate::current_source)): a timer's `sleep` finds the executor's timer.
    ///
    /// The default finds nothing. A source meant to be found returns itself for its own type:
    ///
    /// ```
    /// # use std::any::{Any, TypeId};
    /// # use std::{io, time::Duration};
    /// # use reactor::EventSource;
    /// #[derive(Clone)]
    /// struct Mine;
    ///
    /// impl EventSource for Mine {
    ///     # fn wait(&self, _: Option<Duration>) -> io::Result<usize> { Ok(0) }
    ///     # fn notify(&self) {}
    ///     // ...
    ///     fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
    ///         (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    ///     }
    /// }
    ///
    /// assert!(Mine.component(TypeId::of::<Mine>()).is_some());
    /// ```
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        let _ = type_id;
        None
    }
}

/// Wakes the waiter of one blocking source; handed to passive sources by [`EventSource::attach`].
///
/// Cloning is a reference-count increment; [`notify`](Self::notify) is whatever the blocking
/// source's [`EventSource::notify`] costs.
#[derive(Clone)]
pub struct Notifier {
    notify: Arc<dyn Fn() + Send + Sync>,
}

impl Notifier {
    /// A notifier that calls `notify` each time.
    pub fn new(notify: impl Fn() + Send + Sync + 'static) -> Self {
        Self { notify: Arc::new(notify) }
    }

    /// A notifier that calls [`EventSource::notify`] on `source`.
    pub fn from_source<S: EventSource + ?Sized + 'static>(source: Arc<S>) -> Self {
        Self::new(move || source.notify())
    }

    /// Wakes the waiter (see [`EventSource::notify`]).
    pub fn notify(&self) {
        (self.notify)();
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

macro_rules! forward_event_source {
    ($($pointer:ident),*) => {$(
        impl<S: EventSource + ?Sized> EventSource for $pointer<S> {
            fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
                (**self).wait(timeout)
            }

            fn notify(&self) {
                (**self).notify();
            }

            fn deadline(&self) -> Option<Instant> {
                (**self).deadline()
            }

            fn can_block(&self) -> bool {
                (**self).can_block()
            }

            fn attach(&self, notifier: Notifier) {
                (**self).attach(notifier);
            }

            fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
                (**self).component(type_id)
            }
        }
    )*};
}

forward_event_source!(Box, Arc);

/// Converts "wait at most `timeout`, but also wake for `deadline`" into one timeout.
pub(crate) fn timeout_until(timeout: Option<Duration>, deadline: Option<Instant>) -> Option<Duration> {
    let until_deadline = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
    match (timeout, until_deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
