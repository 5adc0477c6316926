//! A blocking I/O backend whose kernel is a loom-visible model, for models that need one without
//! an OS poller: the blocking part of a composite with your passive source, or the backend
//! under code that waits for I/O readiness (`reactor-net`'s `Async`, your own I/O object).
//!
//! [`MockSource`] is an [`EventSource`] and an [`IoSource`], and answers
//! [`component`](EventSource::component) for [`IoHandle`] as every I/O backend does: I/O objects
//! register with it through the real [`IoHandle::register`] (ambiently inside a task, or given
//! the source), are re-armed through [`IoRegistration::rearm`](reactor::io::IoRegistration::rearm)
//! and deregistered through the registry, exactly as over epoll. Only the kernel is replaced, by
//! a model whose every step loom sees:
//!
//! - **Files** ([`MockSource::file`]): each owns a real fd (a socket pair, never read or written,
//!   so that `AsFd` and non-blocking mode work as for any file) and a modelled level readiness:
//!   units per direction, which a [`MockPeer`] adds from any model thread
//!   ([`make_ready`](MockPeer::make_ready): a message arrives, room for a write appears) and the
//!   modelled operation takes ([`MockFd::read`], [`MockFd::write`]: one unit, or `WouldBlock`).
//! - **Registrations**, by [`Triggering`]: *edge*-triggered ones report each direction's
//!   not-ready→ready transition once (epoll's `EPOLLET`, the strictest reading of it);
//!   *one-shot* ones report the armed directions that are ready and then watch nothing, until
//!   the backend modifies them again (`EPOLLONESHOT`; `poll(2)` and event ports behave alike),
//!   and a modify of a ready direction reports it at the next wait (level-triggered). The
//!   one-shot bookkeeping is the core's [`OneshotInterest`], the same code `reactor-polling`
//!   runs.
//! - **`epoll_wait`** becomes a [`Parking`] wait and a collection of the reports due, and the
//!   eventfd notification becomes [`Parking::notify`]. Under loom a timed wait returns at once, so
//!   time is virtual: drive deadlines through a manual clock (`reactor_timer`'s).
//!
//! Below the kernel, [`MockSource::register`] takes a bare callback with no file, and
//! [`MockSource::fire`] queues an event for it straight onto the ready list: for models of
//! registration and dispatch, and of sources composed with the mock.
//!
//! The registry, its dispatch and deregistration guarantee, and the readiness cache of the I/O
//! objects are the core's own code, unchanged.
//!
//! ```ignore
//! use reactor::{Builder, Executor};
//! use reactor_loom::mock::{MockSource, Readiness, Triggering};
//! use reactor_net::Async;
//!
//! reactor_loom::model(|| {
//!     let source = MockSource::with_triggering(Triggering::Oneshot);
//!     let file = source.file().unwrap();
//!     let peer = file.peer();
//!     let executor: Executor<MockSource> = Builder::new().worker_threads(0).build(source).unwrap();
//!     let sent = reactor_loom::spawn_unjoined(move || peer.make_ready(Readiness::READABLE));
//!     executor.block_on(async {
//!         let file = Async::new(file).unwrap(); // registered with the mock, found ambiently
//!         file.read_with(|file| file.read()).await.unwrap(); // waits for the message
//!     });
//!     sent();
//! });
//! ```

mod kernel;

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use loom::sync::Mutex;
pub use reactor::io::Readiness;
use reactor::io::{DispatchBuffer, IoHandle, IoSource, OneshotInterest, Registry};
use reactor::source::{EventSource, Parking};

use kernel::Kernel;

/// How a [`MockSource`]'s kernel reports registered files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Triggering {
    /// Each direction's transition from not ready to ready is reported once (epoll with
    /// `EPOLLET`, as `reactor-epoll` registers fds); nothing needs re-arming.
    #[default]
    Edge,
    /// A report of a registration disarms it whole; the backend re-arms what was not reported at
    /// once and the rest when an I/O object asks (`EPOLLONESHOT`, `poll(2)`, event ports: as
    /// `reactor-polling` runs there).
    Oneshot,
}

/// The mock backend; clones share it, as `Epoll` clones do.
#[derive(Clone)]
pub struct MockSource {
    /// std's `Arc`, as `IoHandle` needs: sharing the source is no part of any modelled protocol.
    inner: std::sync::Arc<Inner>,
    /// The ambient name of this backend, which `component` answers with.
    io: IoHandle,
}

struct Inner {
    registry: Registry,
    triggering: Triggering,
    /// One-shot only: the core's bookkeeping of the armed directions.
    oneshot: OneshotInterest,
    /// The modelled kernel: files, registrations, reports due, and the events fired below it
    /// ([`MockSource::fire`]): one lock, so that a wait takes one lock to collect everything.
    kernel: Mutex<Kernel>,
    /// Blocks the waiter; notified when a report becomes due and by `notify`.
    parking: Parking,
    /// Reused by every wait; held for the whole wait, so a second concurrent wait can tell.
    buffers: Mutex<Buffers>,
}

#[derive(Default)]
struct Buffers {
    events: Vec<(usize, Readiness)>,
    dispatch: DispatchBuffer,
}

impl MockSource {
    /// An edge-triggered mock backend with nothing registered.
    pub fn new() -> Self {
        Self::with_triggering(Triggering::Edge)
    }

    /// A mock backend whose kernel reports registered files as `triggering` says.
    pub fn with_triggering(triggering: Triggering) -> Self {
        let inner = std::sync::Arc::new(Inner {
            registry: Registry::default(),
            triggering,
            oneshot: OneshotInterest::new(),
            kernel: Mutex::new(Kernel::new(triggering)),
            parking: Parking::new(),
            buffers: Mutex::new(Buffers::default()),
        });
        Self { io: IoHandle::new(inner.clone()), inner }
    }

    /// How this source's kernel reports registered files.
    pub fn triggering(&self) -> Triggering {
        self.inner.triggering
    }

    /// This backend's [`IoHandle`], to register I/O objects with it explicitly.
    pub fn io_handle(&self) -> &IoHandle {
        &self.io
    }

    /// A new file of the modelled kernel, with nothing ready; register it as any fd (wrap it in
    /// an `Async`).
    ///
    /// # Errors
    ///
    /// The error of creating its real fd (a socket pair).
    pub fn file(&self) -> io::Result<MockFd> {
        let (fd, other_end) = UnixStream::pair()?;
        let id = self.inner.kernel.lock().unwrap().open(fd.as_raw_fd());
        Ok(MockFd { source: self.clone(), id, fd, _other_end: other_end })
    }

    /// Registers `callback` below the kernel (no file): it runs for every event
    /// [fired](Self::fire) for it, until the registration drops.
    pub fn register(&self, callback: impl FnMut(Readiness) + Send + 'static) -> MockRegistration {
        let key = self.inner.registry.insert(Box::new(callback)).expect("a free registry slot");
        MockRegistration { source: self.clone(), key }
    }

    /// Scripts an event below the kernel: `(key, readiness)` goes straight onto the ready list,
    /// and the waiter wakes.
    pub fn fire(&self, key: usize, readiness: Readiness) {
        self.inner.kernel.lock().unwrap().fire(key, readiness);
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

impl Inner {
    /// Runs `step` on the kernel; wakes the waiter if it says a report is due.
    fn kernel<R>(&self, step: impl FnOnce(&mut Kernel) -> io::Result<(R, bool)>) -> io::Result<R> {
        let (result, due) = step(&mut self.kernel.lock().unwrap())?;
        if due {
            self.parking.notify();
        }
        Ok(result)
    }

    /// What one `epoll_wait` returns: the events fired below the kernel and the reports due.
    fn collect(&self, events: &mut Vec<(usize, Readiness)>) {
        self.kernel.lock().unwrap().collect(events);
    }
}

impl EventSource for MockSource {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // As in `Epoll::wait`: a second concurrent wait returns at once instead of blocking.
        let Ok(mut buffers) = self.inner.buffers.try_lock() else {
            return Ok(0);
        };
        let Buffers { events, dispatch } = &mut *buffers;
        // Reports due before the wait are dispatched without blocking; whatever makes one due
        // records it before it notifies, so one due during the wait ends it and is found by the
        // second collection.
        self.inner.collect(events);
        if events.is_empty() {
            self.inner.parking.wait(timeout)?;
            self.inner.collect(events);
        }
        let inner = &*self.inner;
        let ran = match inner.triggering {
            Triggering::Edge => inner.registry.dispatch(events.drain(..), dispatch),
            Triggering::Oneshot => {
                let ran =
                    inner.oneshot.dispatch(&inner.registry, events, dispatch, |fd, _key, directions| {
                        // As `reactor-polling` does: a failed modify leaves the directions unwatched
                        // until the next re-arm, which reports it. The mock's cannot fail here.
                        let _ = inner.kernel(|kernel| Ok(((), kernel.modify(fd.as_raw_fd(), directions)?)));
                    });
                events.clear();
                ran
            }
        };
        Ok(ran)
    }

    fn notify(&self) {
        self.inner.parking.notify();
    }

    /// Answers for `MockSource` itself and for its [`IoHandle`].
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<IoHandle>() {
            return Some(&self.io);
        }
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

/// The backend side, as `reactor-epoll` and `reactor-polling` implement it, over the modelled
/// kernel.
impl IoSource for Inner {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let add = |directions| self.kernel(|kernel| Ok(((), kernel.add(raw, key, directions)?)));
        match self.triggering {
            Triggering::Edge => add(Readiness::READABLE | Readiness::WRITABLE),
            // SAFETY: the caller keeps `fd` open until `delete`, which forgets the key.
            Triggering::Oneshot => unsafe { self.oneshot.add(fd, key, add) },
        }
    }

    fn delete(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let delete = || self.kernel.lock().unwrap().delete(fd.as_raw_fd());
        match self.triggering {
            Triggering::Edge => delete(),
            Triggering::Oneshot => self.oneshot.delete(key, delete),
        }
    }

    fn needs_rearm(&self) -> bool {
        self.triggering == Triggering::Oneshot
    }

    fn rearm(&self, _fd: BorrowedFd<'_>, key: usize, directions: Readiness) -> io::Result<()> {
        self.oneshot.rearm(key, directions, |fd, armed| {
            self.kernel(|kernel| Ok(((), kernel.modify(fd.as_raw_fd(), armed)?)))
        })
    }
}

/// `MockSource` is an I/O backend too (its [`IoHandle`] is the way I/O objects use it).
impl IoSource for MockSource {
    fn registry(&self) -> &Registry {
        self.inner.registry()
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        // SAFETY: the caller's promise is passed on unchanged.
        unsafe { self.inner.add(fd, key) }
    }

    fn delete(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        self.inner.delete(fd, key)
    }

    fn needs_rearm(&self) -> bool {
        self.inner.needs_rearm()
    }

    fn rearm(&self, fd: BorrowedFd<'_>, key: usize, directions: Readiness) -> io::Result<()> {
        self.inner.rearm(fd, key, directions)
    }
}

impl fmt::Debug for MockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSource")
            .field("triggering", &self.inner.triggering)
            .field("registrations", &self.registrations())
            .finish()
    }
}

/// A file of the mock's kernel: a real fd to register (wrap it in an `Async`), whose readiness
/// the model scripts through its [`peer`](Self::peer). Dropping it closes the file, which leaves
/// any registration, as closing an fd leaves an epoll set.
pub struct MockFd {
    source: MockSource,
    id: usize,
    /// The fd registered: never read or written (the modelled operations stand for that).
    fd: UnixStream,
    _other_end: UnixStream,
}

impl MockFd {
    /// The modelled read: takes one unit of readability (one message), or fails with
    /// `WouldBlock` when there is none, as a non-blocking read of a drained socket does.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the file is not readable.
    pub fn read(&self) -> io::Result<()> {
        self.take(Readiness::READABLE)
    }

    /// The modelled write: takes one unit of writability (room for one write), or fails with
    /// `WouldBlock` when there is none.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the file is not writable.
    pub fn write(&self) -> io::Result<()> {
        self.take(Readiness::WRITABLE)
    }

    fn take(&self, direction: Readiness) -> io::Result<()> {
        self.source.inner.kernel.lock().unwrap().take(self.id, direction)
    }

    /// The other end of the file, which scripts its readiness from any model thread.
    pub fn peer(&self) -> MockPeer {
        MockPeer { source: self.source.clone(), id: self.id }
    }
}

impl AsFd for MockFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for MockFd {
    fn drop(&mut self) {
        self.source.inner.kernel.lock().unwrap().close(self.id);
    }
}

impl fmt::Debug for MockFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockFd").field("fd", &self.fd.as_raw_fd()).finish_non_exhaustive()
    }
}

/// The other end of a [`MockFd`]: what sends it messages and makes room for its writes. Clones
/// address the same file; once the file is closed, they reach nothing.
#[derive(Clone)]
pub struct MockPeer {
    source: MockSource,
    id: usize,
}

impl MockPeer {
    /// One unit of readiness arrives in each direction of `directions` (a message to read, room
    /// for one write); the kernel reports it as the file's registration says, waking the waiter.
    pub fn make_ready(&self, directions: Readiness) {
        let id = self.id;
        let _ = self.source.inner.kernel(|kernel| Ok(((), kernel.make_ready(id, directions))));
    }
}

impl fmt::Debug for MockPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockPeer").field("file", &self.id).finish_non_exhaustive()
    }
}

/// A registration of a [`MockSource`] below the kernel; dropping it deregisters, with the
/// registry's guarantee that the callback never runs once the drop returns.
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
