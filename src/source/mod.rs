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
//!    exactly one blocks. Whatever drives a source (a [`Composite`] for its parts, an
//!    [`Executor`](crate::Executor) for the source it runs over) first hands it a [`Notifier`]
//!    through [`EventSource::attach`], exactly once. A passive source calls that notifier whenever
//!    something happens on another thread that the blocked waiter must see (a message sent, an
//!    earlier deadline registered). A source is driven by one driver at a time: a second
//!    `attach` while the first driver lives is refused with
//!    [`AlreadyExists`](std::io::ErrorKind::AlreadyExists), which makes composing one source
//!    twice, or giving one source to two executors, fail where it is done instead of silently
//!    losing wake-ups later (once its driver is dropped, a source may be attached again).
//!    [`NotifierSlot`] implements all of this once.
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
mod notifier;
mod parking;
mod ping;

use std::any::{Any, TypeId};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use callback::CallbackSlot;
pub use composite::{ComposeError, Composite};
pub use notifier::{Notifier, NotifierSlot};
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
    /// Returns the error of the underlying wait (for example `epoll_wait` failing). A signal
    /// is never an error: a wait it interrupts either returns `Ok` (the caller calls again) or
    /// goes on waiting, as a wait built on a library that retries `EINTR` itself does.
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

    /// Tells the source who drives it: called once by whatever will call [`wait`](Self::wait),
    /// before its first `wait`.
    ///
    /// `notifier` wakes the waiter that drives this source. A [`Composite`] attaches each of its
    /// passive parts to a notifier of its blocking part (and the blocking part to a notifier of
    /// itself); an [`Executor`](crate::Executor) attaches the source it runs over, or composes a
    /// passive one first. A passive source stores the notifier and calls it whenever the blocked
    /// waiter must wake up: an event became ready on another thread, or its
    /// [`deadline`](Self::deadline) moved earlier. A blocking source is its own waiter and needs
    /// no notifier, but refuses a second driver all the same (two threads blocking in it).
    ///
    /// [`NotifierSlot`] implements it: store the notifier once, refuse a second, notify if set.
    /// The default accepts every call and stores nothing, which is right only for a source with
    /// nothing to wake and a `wait` that two drivers may call at once.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) if the source is attached to a driver
    /// that still lives ([`Notifier::is_live`]): a source is driven by one composite or executor
    /// at a time, and a second one would silently take its wake-ups from the first (or, for a
    /// blocking source, have two threads block in it). The caller hands the source back
    /// ([`ComposeError`]) or fails ([`Builder::build`](crate::Builder::build)). A source may
    /// refuse for reasons of its own too, with a kind that says why.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        let _ = notifier;
        Ok(())
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

    /// Whether this source runs on paused time: a virtual clock that stands still until the
    /// executor is idle, and then jumps to the next deadline (see
    /// [`advance_idle_time`](Self::advance_idle_time)). The default is `false`.
    ///
    /// Asked once, when an executor starts over the source. Only then does the executor track
    /// when all its threads are idle, so real-time sources pay nothing for the feature.
    fn pauses_time(&self) -> bool {
        false
    }

    /// Called by the executor when every one of its threads is idle, no task is queued, and a
    /// zero-timeout [`wait`](Self::wait) found nothing: nothing can happen any more except
    /// through time. A source with paused time moves its clock to its earliest pending deadline
    /// and returns `true` if that made something due (the executor's next `wait` dispatches
    /// it); `false` if it has nothing pending. Never called unless
    /// [`pauses_time`](Self::pauses_time) is `true`. The default does nothing.
    fn advance_idle_time(&self) -> bool {
        false
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

            fn attach(&self, notifier: Notifier) -> io::Result<()> {
                (**self).attach(notifier)
            }

            fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
                (**self).component(type_id)
            }

            fn pauses_time(&self) -> bool {
                (**self).pauses_time()
            }

            fn advance_idle_time(&self) -> bool {
                (**self).advance_idle_time()
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

/// What an executor waits on to drive `source`: the source itself if it blocks, attached to a
/// notifier of itself, or a [`Composite`] of it and a [`Parking`] source to block in.
///
/// # Errors
///
/// The source's refusal to be attached, saying which source refused.
pub(crate) fn drive<S: EventSource + 'static>(source: &Arc<S>) -> io::Result<Arc<dyn EventSource>> {
    let driven = if source.can_block() {
        let attached = source.attach(Notifier::from_weak(Arc::downgrade(source)));
        attached.map(|()| source.clone() as Arc<dyn EventSource>)
    } else {
        let composite = Composite::new(source.clone()).map_err(ComposeError::into_cause);
        composite.map(|composite| Arc::new(composite) as Arc<dyn EventSource>)
    };
    driven.map_err(|error| {
        let message = format!("cannot run an executor over `{}`: {error}", std::any::type_name::<S>());
        io::Error::new(error.kind(), message)
    })
}
