//! The epoll event source.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use reactor::io::{DispatchBuffer, IoHandle, IoSource, Readiness, Registry};
use reactor::source::{Notifier, NotifierSlot};
use reactor::EventSource;

use crate::notifier::FdNotifier;
use crate::sync::atomic::AtomicBool;
use crate::sync::Mutex;
use crate::sys;

/// The key of the source's own notification eventfd, which no registration ever has.
const NOTIFY_KEY: usize = Registry::UNUSED_KEYS[1];

/// Events taken from the kernel per wait; more stay queued for the next wait.
const EVENTS_PER_WAIT: usize = 1024;

/// The epoll event source: a blocking [`EventSource`] that waits for every registered fd at once.
///
/// Cloning gives another handle to the same source (an `Arc` inside). It is an I/O backend
/// ([`reactor::io::IoSource`]): inside an executor over an `Epoll` (alone or composed),
/// [`IoHandle::current`] finds it, which is how [`Async::new`](crate::Async::new) and the
/// [`net`](crate::net) types register without being told where, and
/// [`reactor::current_source::<Epoll>()`](reactor::current_source) finds the `Epoll` itself.
///
/// Each fd is registered once, edge-triggered for both directions, and never re-armed; readiness
/// is cached per registration (see the [crate documentation](crate#cost-in-system-calls) for
/// what a wait costs).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use reactor::EventSource;
/// use reactor_epoll::Epoll;
///
/// let epoll = Epoll::new()?;
/// epoll.notify(); // from any thread; a notify before the wait is not lost
/// assert_eq!(epoll.wait(None)?, 0); // returns at once: nothing was registered
/// assert_eq!(epoll.wait(Some(Duration::from_micros(100)))?, 0); // times out
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Epoll {
    /// The same `Inner` as `io` holds, typed. std's `Arc`, like the handle's: sharing the source
    /// is no part of any protocol the loom models check.
    inner: std::sync::Arc<Inner>,
    /// The ambient name of this backend, which `component` answers with.
    io: IoHandle,
}

struct Inner {
    /// The epoll instance, ours alone: every `epoll_ctl` and every wait on it is ours (see
    /// `sys`), so nothing else arms anything in it behind our back.
    epoll: OwnedFd,
    /// Registered callbacks by key.
    registry: Registry,
    /// The notification handshake, its eventfd registered edge-triggered under [`NOTIFY_KEY`]
    /// and never read: a notification needs one `write` (none while one is pending) and the
    /// wait that sees it no syscall at all (`FdNotifier::on_edge`).
    notifier: FdNotifier,
    /// Reused by every wait; held for the whole wait, so a second concurrent wait can tell.
    buffers: Mutex<Buffers>,
    /// Whether `epoll_pwait2` is missing on this kernel.
    pwait2_missing: AtomicBool,
    /// Its driver: one thread at a time may block in the epoll instance, so a second one (an
    /// `Epoll` given to two executors) is refused.
    driver: NotifierSlot,
}

#[derive(Default)]
struct Buffers {
    events: Vec<libc::epoll_event>,
    dispatch: DispatchBuffer,
}

impl Epoll {
    /// A new epoll instance with nothing registered.
    ///
    /// # Errors
    ///
    /// The error of creating the epoll instance or its eventfd (typically `EMFILE`).
    pub fn new() -> io::Result<Self> {
        let epoll = sys::epoll_create()?;
        let notifier = FdNotifier::new()?;
        // SAFETY: the eventfd lives in the same `Inner` as the epoll instance, which is dropped
        // first (fields drop in declaration order), so the eventfd never closes while it is in a
        // live epoll set.
        unsafe { sys::epoll_add(epoll.as_fd(), notifier.as_fd().as_raw_fd(), NOTIFY_KEY as u64)? };
        let buffers =
            Buffers { events: Vec::with_capacity(EVENTS_PER_WAIT), dispatch: DispatchBuffer::default() };
        let inner = std::sync::Arc::new(Inner {
            epoll,
            registry: Registry::default(),
            notifier,
            buffers: Mutex::new(buffers),
            pwait2_missing: AtomicBool::new(false),
            driver: NotifierSlot::new(),
        });
        Ok(Self { io: IoHandle::new(inner.clone()), inner })
    }

    /// This backend's [`IoHandle`], to register I/O objects with it explicitly.
    pub fn io_handle(&self) -> &IoHandle {
        &self.io
    }

    /// Number of fds currently registered.
    pub fn registrations(&self) -> usize {
        self.inner.registry.count()
    }

    fn dispatch(&self, buffers: &mut Buffers) -> usize {
        let Buffers { events, dispatch } = buffers;
        let events = events.iter().filter_map(|event| {
            let key = event.u64 as usize;
            if key == NOTIFY_KEY {
                // Before the executor re-checks its queues, which it does after every wait.
                self.inner.notifier.on_edge();
                return None;
            }
            Some((key, readiness_of(event.events)))
        });
        self.inner.registry.dispatch(events, dispatch)
    }
}

/// The readiness of an epoll event's flags (see [`Readiness::from_event`]: hang-up and error
/// count as both directions and as `READ_CLOSED`, as `EPOLLRDHUP` counts as `READ_CLOSED`).
pub(crate) fn readiness_of(flags: u32) -> Readiness {
    let any = |bits: libc::c_int| flags & bits as u32 != 0;
    Readiness::from_event(
        any(libc::EPOLLIN | libc::EPOLLPRI),
        any(libc::EPOLLOUT),
        any(libc::EPOLLRDHUP),
        any(libc::EPOLLHUP | libc::EPOLLERR),
    )
}

fn explain_add_error(error: io::Error, fd: i32) -> io::Error {
    let (kind, message) = match error.raw_os_error() {
        Some(libc::EEXIST) => (
            io::ErrorKind::AlreadyExists,
            format!("fd {fd} is already registered with this epoll source; register each fd once"),
        ),
        Some(libc::EPERM) => (
            io::ErrorKind::Unsupported,
            format!(
                "fd {fd} is a regular file or a directory, which epoll cannot watch (it is always ready)"
            ),
        ),
        Some(libc::EBADF) => (io::ErrorKind::InvalidInput, format!("fd {fd} is not an open file descriptor")),
        _ => return error,
    };
    io::Error::new(kind, message)
}

impl EventSource for Epoll {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // The executor never waits from two threads at once; should a caller do it anyway, the
        // second wait returns at once instead of blocking behind the first (a zero timeout must
        // never block).
        let Some(mut buffers) = self.inner.buffers.try_lock() else {
            return Ok(0);
        };
        sys::epoll_wait(self.inner.epoll.as_fd(), &mut buffers.events, timeout, &self.inner.pwait2_missing)?;
        Ok(self.dispatch(&mut buffers))
    }

    fn notify(&self) {
        self.inner.notifier.notify();
    }

    /// Records its driver.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live: one thread
    /// blocks in an epoll instance at a time, and a second driver's waits would return at once,
    /// again and again (a clone is the same instance; create an `Epoll` per executor).
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.inner.driver.attach(notifier)
    }

    /// Answers for `Epoll` itself and for its [`IoHandle`].
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<IoHandle>() {
            return Some(&self.io);
        }
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

/// Adds and deletes fds with our own `epoll_ctl`, edge-triggered for both directions with
/// `EPOLLRDHUP`, so it needs no re-arming and marks every hang-up.
impl IoSource for Inner {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        // SAFETY: the caller keeps `fd` open until `delete`.
        unsafe { sys::epoll_add(self.epoll.as_fd(), fd.as_raw_fd(), key as u64) }
            .map_err(|error| explain_add_error(error, fd.as_raw_fd()))
    }

    fn delete(&self, fd: BorrowedFd<'_>, _key: usize) -> io::Result<()> {
        sys::epoll_delete(self.epoll.as_fd(), fd.as_raw_fd())
    }

    fn reports_read_closed(&self) -> bool {
        true
    }
}

/// The epoll instance's own fd, for a host event loop (GTK, winit, a Wayland compositor, a plain
/// `poll(2)` loop) to watch: it turns readable whenever a registered fd has an event or
/// [`notify`](EventSource::notify) was called, and the host then lets the executor run a turn.
/// Only watch it for readability; never wait on it with `epoll_wait` yourself.
impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.epoll.as_fd()
    }
}

impl fmt::Debug for Epoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Epoll").field("registrations", &self.registrations()).finish()
    }
}
