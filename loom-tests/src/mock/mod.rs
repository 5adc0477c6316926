//! A blocking [`EventSource`] with scripted readiness, for models that need one without an OS
//! poller: the blocking part of a composite with your passive source, or the source under code
//! that waits for I/O readiness.
//!
//! A model registers callbacks ([`MockSource::register`]) or I/O objects whose readiness wakes
//! tasks ([`MockSource::register_io`], as an `Async<T>` over epoll does), and any model thread
//! *fires* a registration ([`MockRegistration::fire`]): the event is queued, the waiter is
//! woken, and the next [`wait`](EventSource::wait) runs the callback. Dropping a registration
//! deregisters it, with `reactor-epoll`'s guarantee that no callback runs after the drop
//! returns.
//!
//! Its registration table, dispatch and readiness cache are `reactor-epoll`'s own code, unchanged,
//! so the mock behaves as [`Epoll`](reactor_epoll::Epoll) does; only the kernel is replaced.
//! `epoll_ctl` becomes nothing (a key is live once registered), `epoll_wait` becomes a
//! [`Parking`] wait followed by draining the fired events, and the eventfd notification becomes
//! [`Parking::notify`]. Under loom a timed wait returns at once, so time is virtual: drive
//! deadlines through a manual clock (`reactor_timer`'s).
//!
//! ```ignore
//! use reactor::source::EventSource;
//! use reactor::sync::atomic::{AtomicBool, Ordering};
//! use reactor::sync::{thread, Arc};
//! use reactor_loom::mock::{MockSource, Readiness};
//!
//! reactor_loom::model(|| {
//!     let source = MockSource::new();
//!     let ran = Arc::new(AtomicBool::new(false));
//!     let flag = ran.clone();
//!     let registration = source.register(move |_| flag.store(true, Ordering::Release));
//!     let key = registration.key();
//!     let firing = {
//!         let source = source.clone();
//!         thread::spawn(move || source.fire(key, Readiness::READABLE))
//!     };
//!     while !ran.load(Ordering::Acquire) {
//!         source.wait(None).unwrap(); // blocks until the fire wakes it
//!     }
//!     firing.join().unwrap();
//! });
//! ```

use std::fmt;
use std::io;
use std::task::Context;
use std::time::Duration;

use loom::sync::{Arc, Mutex};
pub use reactor::io::Readiness;
use reactor::io::{DispatchBuffer, IoState, Registry, WaiterKey};
use reactor::source::{EventSource, Parking};

/// The mock source; clones share it (an `Arc` inside), as `Epoll` clones do.
#[derive(Clone)]
pub struct MockSource {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    /// Events fired and not yet dispatched: what the kernel's ready list is to epoll.
    fired: Mutex<Vec<(usize, Readiness)>>,
    /// Blocks the waiter; notified by `fire` and `notify`.
    parking: Parking,
    /// Reused by every wait, like `Epoll`'s buffers.
    dispatch: Mutex<DispatchBuffer>,
}

impl MockSource {
    /// A mock source with nothing registered.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                registry: Registry::default(),
                fired: Mutex::new(Vec::new()),
                parking: Parking::new(),
                dispatch: Mutex::new(DispatchBuffer::default()),
            }),
        }
    }

    /// Registers `callback`, which runs on every fired event until the registration drops.
    pub fn register(&self, callback: impl FnMut(Readiness) + Send + 'static) -> MockRegistration {
        let key = self.inner.registry.insert(Box::new(callback)).expect("a free registry slot");
        MockRegistration { source: self.clone(), key }
    }

    /// Registers an I/O object whose readiness wakes tasks, as `Async<T>` does over epoll.
    pub fn register_io(&self) -> MockIo {
        let state = Arc::new(IoState::default());
        let events = state.clone();
        let registration = self.register(move |readiness| events.on_event(readiness));
        MockIo { state, registration }
    }

    /// Scripts an event: registration `key` becomes ready for `readiness`, and the waiter wakes.
    pub fn fire(&self, key: usize, readiness: Readiness) {
        self.inner.fired.lock().unwrap().push((key, readiness));
        self.inner.parking.notify();
    }

    /// Number of live registrations.
    pub fn registrations(&self) -> usize {
        self.inner.registry.count()
    }
}

impl Default for MockSource {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSource for MockSource {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // As in `Epoll::wait`: a second concurrent wait returns at once instead of blocking.
        let Ok(mut dispatch) = self.inner.dispatch.try_lock() else {
            return Ok(0);
        };
        // Events fired before the wait are dispatched without blocking; `fire` queues before it
        // notifies, so one fired during the wait ends it and is found by the second take.
        let mut fired = std::mem::take(&mut *self.inner.fired.lock().unwrap());
        if fired.is_empty() {
            self.inner.parking.wait(timeout)?;
            fired = std::mem::take(&mut *self.inner.fired.lock().unwrap());
        }
        Ok(self.inner.registry.dispatch(fired.into_iter(), &mut dispatch))
    }

    fn notify(&self) {
        self.inner.parking.notify();
    }
}

impl fmt::Debug for MockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSource").field("registrations", &self.registrations()).finish()
    }
}

/// A registration of a [`MockSource`]; dropping it deregisters, as `Epoll`'s registrations do.
#[derive(Debug)]
pub struct MockRegistration {
    source: MockSource,
    key: usize,
}

impl MockRegistration {
    /// The key that [`MockSource::fire`] takes.
    pub fn key(&self) -> usize {
        self.key
    }

    /// Fires this registration.
    pub fn fire(&self, readiness: Readiness) {
        self.source.fire(self.key, readiness);
    }
}

impl Drop for MockRegistration {
    fn drop(&mut self) {
        self.source.inner.registry.remove(self.key);
    }
}

/// An I/O object of a [`MockSource`]: tasks wait for its readiness as they do for an `Async<T>`.
pub struct MockIo {
    state: Arc<IoState>,
    registration: MockRegistration,
}

impl MockIo {
    /// The registration that scripts this object's events.
    pub fn registration(&self) -> &MockRegistration {
        &self.registration
    }

    /// Waits until `direction` is ready, then consumes that readiness (the operation that
    /// followed would have drained the data).
    pub async fn ready(&self, direction: Readiness) {
        let mut key = WaiterKey::default();
        let tick =
            std::future::poll_fn(|cx: &mut Context<'_>| self.state.poll_ready(direction, cx, Some(&mut key)))
                .await;
        self.state.withdraw(direction, &mut key);
        self.state.clear(direction, tick);
    }
}

impl fmt::Debug for MockIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIo").field("registration", &self.registration).finish_non_exhaustive()
    }
}
