//! Readiness-based I/O over any backend: the trait an fd-watching source implements
//! ([`IoSource`]), and the machinery every such backend shares.
//!
//! An I/O backend is a blocking [`EventSource`](crate::EventSource) that watches file descriptors:
//! epoll (the `reactor-epoll` crate), the portable `polling`-based backend (`reactor-polling`),
//! or one of your own (a `poll(2)` loop, io_uring's poll operations, a test double). It offers
//! three things, and [`IoSource`] names them:
//!
//! 1. **Add an fd** under a key, watching both directions, and report each direction's readiness
//!    when it arrives, by passing `(key, readiness)` pairs to its [`Registry::dispatch`] from
//!    inside its [`wait`](crate::EventSource::wait).
//! 2. **Delete an fd** again. The registry's removal then guarantees that the fd's callback never
//!    runs once [`IoRegistration::deregister`] returns, whatever the backend still has queued.
//! 3. **Answer to [`IoHandle`]** from its [`component`](crate::EventSource::component), so that
//!    code inside a task finds it ambiently, as `reactor-net`'s `Async::new` does.
//!
//! What every backend shares lives here, written once and model-checked once: the [`Registry`]
//! (a slab of callbacks under generation-checked keys, so an event still queued for a
//! deregistered fd never reaches the registration that reused its slot), and the [`IoState`] a
//! task-facing I/O object keeps per fd (the cached readiness and the tick that keeps an edge
//! from being lost, and any number of waiting tasks per direction).
//!
//! The notify half of such a backend is shared too: [`Handshake`], a `pending` flag plus an
//! [`Edge`] (an eventfd the kernel wait watches), makes the wait return from any thread without
//! losing a wake-up, answered edge-triggered (epoll, io_uring) or level-triggered (`poll`).
//!
//! # Edge-triggered and re-armed backends
//!
//! The cache keeps a direction ready from the event that reported it until an operation in that
//! direction fails with `WouldBlock`; only then does a task wait for the next report. So a
//! backend must report a direction **once per change**, not for as long as it stays ready:
//!
//! - An **edge-triggered** backend (epoll with `EPOLLET`, kqueue with `EV_CLEAR`) does this by
//!   itself.
//! - A **re-armed** backend (`poll(2)`, one-shot registrations, event ports) stops watching a
//!   direction once it has reported it, and answers [`needs_rearm`](IoSource::needs_rearm) with
//!   `true`: the I/O object then calls [`rearm`](IoSource::rearm) each time it clears a direction
//!   from its cache, and the backend watches that direction again (level-triggered, so readiness
//!   that arrived in between is reported at once). A re-armed backend that reported a direction
//!   and went on watching it would wake its waiter over and over: a busy loop. A one-shot
//!   registration stops watching *both* directions when it reports one, so the other must be
//!   armed again at once: [`OneshotInterest`] is that bookkeeping, shared and model-checked.
//!
//! # Waiting tasks
//!
//! Any number of tasks may wait on one fd in each direction, and an event wakes every one of them
//! (each retries its operation; those that find nothing left wait again). A waiter is one of two
//! kinds: a future, which holds a [`WaiterKey`] and withdraws its waker when it is dropped, or an
//! anonymous `poll_*` caller (an `AsyncRead` impl shared by tasks), whose waker is kept once per
//! task until the next event in its direction. Should anonymous wakers of tasks that stopped
//! polling pile up on an idle fd, they are all woken once and dropped (those still waiting poll
//! again). The first waiter of each direction is held inline; only a second one allocates.
//!
//! # Examples
//!
//! The shape of a backend, with the OS wait left out (its `EventSource::wait` would block in the OS
//! and pass what it reports to `registry.dispatch`):
//!
//! ```
//! use std::io;
//! use std::os::fd::BorrowedFd;
//! use std::sync::Arc;
//!
//! use reactor::io::{IoHandle, IoSource, Readiness, Registry};
//!
//! /// Watches fds; its `wait` would report `(key, readiness)` pairs to `registry.dispatch`.
//! #[derive(Default)]
//! struct MyBackend {
//!     registry: Registry,
//! }
//!
//! impl IoSource for MyBackend {
//!     fn registry(&self) -> &Registry {
//!         &self.registry
//!     }
//!
//!     unsafe fn add(&self, _fd: BorrowedFd<'_>, _key: usize) -> io::Result<()> {
//!         Ok(()) // start watching the fd in both directions
//!     }
//!
//!     fn delete(&self, _fd: BorrowedFd<'_>, _key: usize) -> io::Result<()> {
//!         Ok(()) // stop watching it
//!     }
//! }
//!
//! let handle = IoHandle::new(Arc::new(MyBackend::default()));
//! let (reader, _writer) = std::os::unix::net::UnixStream::pair()?;
//! let events = Arc::new(std::sync::Mutex::new(Vec::new()));
//! let seen = events.clone();
//! // SAFETY: `reader` outlives the registration, which is deregistered below.
//! let registration = unsafe {
//!     handle.register(std::os::fd::AsFd::as_fd(&reader), Box::new(move |readiness| {
//!         seen.lock().unwrap().push(readiness);
//!     }))?
//! };
//! // What the backend's wait does with what its OS wait reported:
//! let dispatched = handle
//!     .source()
//!     .registry()
//!     .dispatch([(registration.key(), Readiness::READABLE)].into_iter(), &mut Default::default());
//! assert_eq!(dispatched, 1);
//! assert_eq!(*events.lock().unwrap(), [Readiness::READABLE]);
//! registration.deregister()?; // from here on the callback never runs again
//! # Ok::<(), io::Error>(())
//! ```

mod handle;
mod notify;
mod oneshot;
mod readiness;
mod registry;
mod state;
mod waiters;

pub use handle::{AsIoHandle, IoHandle, IoRegistration};
pub use notify::{Edge, Handshake};
pub use oneshot::OneshotInterest;
pub use readiness::Readiness;
pub use registry::{Callback, DispatchBuffer, Registry};
pub use state::IoState;
pub use waiters::WaiterKey;

use std::io;
use std::os::fd::BorrowedFd;

/// An I/O backend: a blocking event source that watches file descriptors for readiness and
/// reports it through its [`Registry`] (see the [module documentation](self) for the contract).
///
/// Implement it beside [`EventSource`](crate::EventSource) on the same type, and answer
/// [`component`](crate::EventSource::component) for `TypeId::of::<IoHandle>()` with an
/// [`IoHandle`] of it, so that I/O objects created inside a task find it.
pub trait IoSource: Send + Sync + 'static {
    /// The registry whose keys this backend's events carry. The backend owns it, never replaces
    /// it, and passes each `(key, readiness)` it observes to [`Registry::dispatch`] from its wait.
    fn registry(&self) -> &Registry;

    /// Starts watching `fd` for readability and writability, reporting its events under `key`
    /// (a key of [`registry`](Self::registry) that [`IoHandle::register`] just took).
    ///
    /// A direction that is ready already when the fd is added must be reported by the next wait.
    ///
    /// # Safety
    ///
    /// The caller keeps `fd` open until it has called [`delete`](Self::delete) for it.
    ///
    /// # Errors
    ///
    /// Whatever the OS refuses; state the kind precisely (for example `AlreadyExists` for an fd
    /// that is watched already, `Unsupported` for a file the mechanism cannot watch).
    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()>;

    /// Stops watching `fd`, which was added under `key`.
    ///
    /// An event for `key` that is already on its way may still be dispatched: the registry
    /// ignores it once the registration is removed, which happens right after this returns.
    ///
    /// # Errors
    ///
    /// Whatever the OS reports; the registration is removed from the registry regardless.
    fn delete(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()>;

    /// Whether this backend stops watching a direction once it has reported it, until
    /// [`rearm`](Self::rearm) is called. `false` (the default) for edge-triggered backends.
    fn needs_rearm(&self) -> bool {
        false
    }

    /// Watches `directions` of `fd` (added under `key`) again, after the I/O object found them
    /// not ready. Only called when [`needs_rearm`](Self::needs_rearm) is `true`; a direction that
    /// is ready already must be reported by the next wait. May be called from any thread,
    /// including from inside a callback that [`Registry::dispatch`] runs.
    ///
    /// # Errors
    ///
    /// Whatever the OS reports; the I/O operation that cleared the direction returns it.
    fn rearm(&self, fd: BorrowedFd<'_>, key: usize, directions: Readiness) -> io::Result<()> {
        let _ = (fd, key, directions);
        Ok(())
    }

    /// Whether every report of a peer's hang-up carries [`Readiness::READ_CLOSED`], as epoll's
    /// `EPOLLRDHUP` does. Only then may a read that came back short (the stream drained) mark
    /// the fd not readable without a failing read to prove it: data and the end of the stream
    /// arriving together are one edge, and with no `READ_CLOSED` to say so, the read of the EOF
    /// would wait for an edge that never comes. `false` (the default) costs a read that returns
    /// `WouldBlock` after each short read.
    fn reports_read_closed(&self) -> bool {
        false
    }
}
