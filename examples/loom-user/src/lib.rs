//! An in-process event bus as a passive reactor event source, written the way a user of
//! `reactor` writes one, and model-checked with loom against the real executor
//! (`tests/loom.rs`).
//!
//! Publishers on any thread [publish](Publisher::publish) events; the executor that drives the
//! [`EventBus`] runs its handler for each of them, on the loop, in the order they were queued.
//!
//! Everything concurrent comes from [`reactor::sync`], so in the model build
//! (`--cfg reactor_loom --cfg loom`) the bus runs on loom's primitives together with the
//! executor. Two orderings make it correct, and the models check both:
//!
//! - **a publisher queues its event, then raises the pending flag**, and notifies the driver
//!   only when it raised the flag from down (one wake-up per batch, not per event);
//! - **`wait` clears the flag, then drains the queue.** Clearing after draining loses an event
//!   that a second publisher queues between the two: it finds the flag still up, so it does not
//!   notify, and the flag then goes down with its event still queued. One publisher never shows
//!   it; two publishers under loom do (the seeded bug [`Bug::ClearAfterDrain`]).
//!
//! Events published before the bus is attached to a driver raise the flag while there is nobody
//! to notify; [`deadline`](EventSource::deadline) reports the raised flag, so the driver's first
//! wait does not block (the seeded bug [`Bug::NoDeadlineWhilePending`]).
//!
//! The crate's second source, [`pipe_source::PipeSource`], is a blocking one: it waits in
//! `poll(2)` on a pipe and a `reactor_epoll::FdNotifier`. Both are checked against the
//! `EventSource` contract by `reactor-conformance` (`tests/conformance.rs`).
//!
//! ```
//! use std::sync::mpsc;
//!
//! let (events, received) = mpsc::channel();
//! let (bus, publisher) = loom_user::bus(move |event: u32| events.send(event).unwrap());
//! publisher.publish(1).unwrap(); // before any driver: dispatched by its first wait
//! let executor = reactor::Executor::new(bus)?; // composed with a `Parking` source to block in
//! std::thread::spawn(move || publisher.publish(2).unwrap()).join().unwrap();
//! let mut seen = Vec::new();
//! executor.block_on(async {
//!     while seen.len() < 2 {
//!         seen.extend(received.try_iter());
//!         reactor::yield_now().await;
//!     }
//! });
//! assert_eq!(seen, [1, 2]);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod pipe_source;

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use reactor::source::{Notifier, NotifierSlot};
use reactor::sync::atomic::{AtomicBool, Ordering};
use reactor::sync::{seeded_bug, Arc, Mutex};
use reactor::EventSource;

/// The bugs this crate can be told to contain, for the negative controls of its loom models
/// (see [`reactor::sync::seeded_bug`]). Outside the model build none is ever active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bug {
    /// `wait` clears the pending flag after draining the queue instead of before: an event
    /// queued between the two by a second publisher is never dispatched.
    ClearAfterDrain,
    /// `deadline` ignores the pending flag: events published before the bus had a driver wait
    /// for the next notify, which may never come.
    NoDeadlineWhilePending,
}

/// A new bus whose events run `handler` on the loop that drives it, and a publisher for it.
///
/// Hand the [`EventBus`] to an executor (or a `Composite`) and keep the [`Publisher`], cloning it
/// for every thread that publishes.
pub fn bus<E: Send + 'static>(handler: impl FnMut(E) + Send + 'static) -> (EventBus<E>, Publisher<E>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue { events: VecDeque::new(), closed: false }),
        pending: AtomicBool::new(false),
        notifier: NotifierSlot::new(),
    });
    let bus = EventBus { shared: shared.clone(), handler: Mutex::new(Box::new(handler)) };
    (bus, Publisher { shared })
}

/// The passive event source: runs the handler for every published event when it is waited on.
///
/// It never blocks, so a driver composes it with a blocking source (an
/// [`Executor`](reactor::Executor) given it directly uses a `Parking` one). Dropping it closes
/// the bus: events still queued are dropped, and later publishes hand their event back.
pub struct EventBus<E> {
    shared: Arc<Shared<E>>,
    /// Runs one event; locked by `wait` for the batch it dispatches.
    handler: Mutex<Box<dyn FnMut(E) + Send>>,
}

/// Publishes events to an [`EventBus`] from any thread; clones publish to the same bus.
pub struct Publisher<E> {
    shared: Arc<Shared<E>>,
}

struct Shared<E> {
    queue: Mutex<Queue<E>>,
    /// Up while the queue may hold events that no `wait` has been woken for. Raised by a
    /// publisher after it queued its event (the one that raises it from down notifies the
    /// driver); lowered by `wait` before it drains the queue, so that whatever is queued after
    /// the drain raises it again and notifies again.
    pending: AtomicBool,
    /// The driver's notifier, once attached.
    notifier: NotifierSlot,
}

struct Queue<E> {
    events: VecDeque<E>,
    /// Set when the bus is dropped: nothing will dispatch what is queued any more.
    closed: bool,
}

impl<E> Shared<E> {
    fn take(&self) -> VecDeque<E> {
        std::mem::take(&mut self.queue.lock().events)
    }
}

impl<E> EventBus<E> {
    /// Another publisher to this bus (for code that holds the bus but not a publisher, such as
    /// a conformance harness).
    pub fn publisher(&self) -> Publisher<E> {
        Publisher { shared: self.shared.clone() }
    }
}

impl<E> Publisher<E> {
    /// Queues `event` and wakes the loop that drives the bus, which runs the handler for it.
    ///
    /// Events from one publisher are dispatched in the order they were published. Before the
    /// bus has a driver the event waits in the queue; the driver's first wait dispatches it.
    ///
    /// # Errors
    ///
    /// [`Closed`], holding `event`, if the [`EventBus`] was dropped.
    pub fn publish(&self, event: E) -> Result<(), Closed<E>> {
        {
            let mut queue = self.shared.queue.lock();
            if queue.closed {
                return Err(Closed(event));
            }
            queue.events.push_back(event);
        }
        // Release: a `wait` whose Acquire swap reads this raise also sees the event queued
        // above, so it cannot drain before it and lose it. Nothing is read here (a raise from
        // down only has to notify), so no Acquire is needed.
        if !self.shared.pending.swap(true, Ordering::Release) {
            self.shared.notifier.notify();
        }
        Ok(())
    }
}

impl<E> Clone for Publisher<E> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<E: Send + 'static> EventSource for EventBus<E> {
    /// Runs the handler for every queued event, oldest first, and returns how many ran. Never
    /// blocks (the timeout is ignored).
    ///
    /// A handler that panics ends the batch: the panic propagates to the driver, and the rest of
    /// the batch is dropped.
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        let events = if seeded_bug::is_active(Bug::ClearAfterDrain) {
            if !self.shared.pending.load(Ordering::Acquire) {
                return Ok(0);
            }
            let events = self.shared.take();
            self.shared.pending.store(false, Ordering::Release);
            events
        } else {
            // Acquire: pairs with the Release raise of every publisher whose raise this reads,
            // so their events are in the queue drained below. A publisher that queues after the
            // drain finds the flag down, raises it and notifies: its event is dispatched by the
            // next wait.
            if !self.shared.pending.swap(false, Ordering::Acquire) {
                return Ok(0);
            }
            self.shared.take()
        };
        let count = events.len();
        let mut handler = self.handler.lock();
        for event in events {
            handler(event);
        }
        Ok(count)
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    /// Now, while events are pending: the driver must call `wait` without blocking. That is how
    /// events published before the bus was attached (when there was nobody to notify) reach
    /// the driver's first wait.
    fn deadline(&self) -> Option<Instant> {
        if seeded_bug::is_active(Bug::NoDeadlineWhilePending) {
            return None;
        }
        // Relaxed: only a hint to skip blocking; `wait` re-reads the flag with Acquire.
        self.shared.pending.load(Ordering::Relaxed).then(Instant::now)
    }

    fn can_block(&self) -> bool {
        false
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        // Refuses a second driver, whose wake-ups would be taken from the first.
        self.shared.notifier.attach(notifier)
    }
}

impl<E> Drop for EventBus<E> {
    fn drop(&mut self) {
        let events = {
            let mut queue = self.shared.queue.lock();
            queue.closed = true;
            std::mem::take(&mut queue.events)
        };
        // Dropped after the lock: an event's `Drop` is the user's code.
        drop(events);
    }
}

impl<E> fmt::Debug for EventBus<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("queued", &self.shared.queue.lock().events.len())
            .field("attached", &self.shared.notifier.is_attached())
            .finish_non_exhaustive()
    }
}

impl<E> fmt::Debug for Publisher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

/// The error of [`Publisher::publish`] once the [`EventBus`] was dropped: the event, handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Closed<E>(pub E);

impl<E> Closed<E> {
    /// The event that was not published.
    pub fn into_inner(self) -> E {
        self.0
    }
}

impl<E> fmt::Debug for Closed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

impl<E> fmt::Display for Closed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event bus was dropped: nothing dispatches its events any more")
    }
}

impl<E> Error for Closed<E> {}
