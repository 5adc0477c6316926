//! The epoll event source.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use polling::{Event, PollMode, Poller};
use reactor::source::{Notifier, NotifierSlot};
use reactor::EventSource;

use crate::notifier::FdNotifier;
use crate::readiness::Readiness;
use crate::registration::{Callback, DispatchBuffer, Registry, NOTIFY_KEY};
use crate::sync::atomic::AtomicBool;
use crate::sync::{Arc, Mutex};
use crate::sys;

/// Events taken from the kernel per wait; more stay queued for the next wait.
const EVENTS_PER_WAIT: usize = 1024;

/// The epoll event source: a blocking [`EventSource`] that waits for every registered fd at once.
///
/// Cloning gives another handle to the same source (an `Arc` inside). Inside an executor over an
/// `Epoll` (alone or composed), [`reactor::current_source::<Epoll>()`](reactor::current_source)
/// finds it; that is how [`Async::new`](crate::Async::new) registers without being told where.
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
    inner: Arc<Inner>,
}

struct Inner {
    /// The epoll instance; `polling` creates it (and adds the notification eventfd), while adding
    /// and deleting registrations and the wait go straight to the kernel (see `sys`).
    poller: Poller,
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
        let poller = Poller::new()?;
        let notifier = FdNotifier::new()?;
        let notify_fd = notifier.as_fd().as_raw_fd();
        // SAFETY: the eventfd is open, and lives in the same `Inner` as the poller, whose epoll
        // instance closes (with `Inner`) before or with it, so it is never closed while still
        // registered in a live epoll instance that could report it.
        unsafe {
            poller.add_with_mode(notify_fd, Event::readable(NOTIFY_KEY), PollMode::Edge)?;
        }
        let buffers =
            Buffers { events: Vec::with_capacity(EVENTS_PER_WAIT), dispatch: DispatchBuffer::default() };
        Ok(Self {
            inner: Arc::new(Inner {
                poller,
                registry: Registry::default(),
                notifier,
                buffers: Mutex::new(buffers),
                pwait2_missing: AtomicBool::new(false),
                driver: NotifierSlot::new(),
            }),
        })
    }

    /// Registers `fd` edge-triggered for both directions; `callback` runs on every event until
    /// the returned registration is [deregistered](Registration::deregister), which deletes this
    /// very fd (its number is recorded here).
    ///
    /// # Safety
    ///
    /// `fd` must stay open until `deregister` has been called.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is registered already, `Unsupported` for a regular file or a
    /// directory (epoll cannot watch them), `InvalidInput` for a closed or invalid fd; any other
    /// `epoll_ctl` error as is.
    pub(crate) unsafe fn register(
        &self,
        fd: BorrowedFd<'_>,
        callback: Box<Callback>,
    ) -> io::Result<Registration> {
        let key = self.inner.registry.insert(callback)?;
        // SAFETY: the caller keeps `fd` open until `deregister`, which deletes it.
        let added = unsafe { sys::epoll_add(self.inner.poller.as_fd(), fd.as_raw_fd(), key as u64) };
        if let Err(error) = added {
            self.inner.registry.remove(key);
            return Err(explain_add_error(error, fd.as_raw_fd()));
        }
        Ok(Registration { epoll: self.clone(), key, fd: fd.as_raw_fd() })
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
            Some((key, Readiness::from_epoll(event.events)))
        });
        self.inner.registry.dispatch(events, dispatch)
    }
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
        sys::epoll_wait(self.inner.poller.as_fd(), &mut buffers.events, timeout, &self.inner.pwait2_missing)?;
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

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

/// The epoll instance's own fd, for a host event loop (GTK, winit, a Wayland compositor, a plain
/// `poll(2)` loop) to watch: it turns readable whenever a registered fd has an event or
/// [`notify`](EventSource::notify) was called, and the host then lets the executor run a turn.
/// Only watch it for readability; never wait on it with `epoll_wait` yourself.
impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.poller.as_fd()
    }
}

impl fmt::Debug for Epoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Epoll").field("registrations", &self.registrations()).finish()
    }
}

/// One fd's registration; [`deregister`](Self::deregister) before the fd closes.
///
/// Deregistering waits for the callback if it is running on another thread, so never do it
/// while holding a lock that the callback takes.
#[derive(Debug)]
pub(crate) struct Registration {
    epoll: Epoll,
    key: usize,
    /// The fd that was registered, which is the one to delete (its owner's `as_fd` may answer
    /// with another one by then).
    fd: RawFd,
}

impl Registration {
    /// Removes the registration: deletes the fd that was registered from the epoll set and
    /// removes the callback. Once this returns, its callback never runs again (a callback
    /// running on another thread is waited for; one running on this thread returns first).
    ///
    /// # Errors
    ///
    /// The error of `epoll_ctl(EPOLL_CTL_DEL)`; the callback is removed regardless.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        let deleted = sys::epoll_delete(self.epoll.inner.poller.as_fd(), self.fd);
        self.epoll.inner.registry.remove(self.key);
        deleted
    }

    pub(crate) fn epoll(&self) -> &Epoll {
        &self.epoll
    }
}
