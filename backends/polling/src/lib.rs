//! The portable I/O backend for [`reactor`], on [`polling`]'s public API: kqueue on macOS and the
//! BSDs, event ports on illumos and Solaris, `poll` on other Unix systems, and epoll on Linux.
//!
//! [`PollingSource`] is a blocking [`EventSource`] and an I/O backend
//! ([`reactor::io::IoSource`]): inside an executor over it, alone or composed, `reactor-net`'s
//! `Async<T>` and `net` types find it and run on it unchanged. The default runtime of
//! `reactor-epoll` uses it wherever epoll does not exist.
//!
//! Everything it asks of the OS goes through `polling`'s documented API (`add_with_mode`,
//! `modify_with_mode`, `delete`, `wait`, `notify`), so it stays correct whatever `polling` does
//! inside. The registry, the readiness cache and the waiter sets are the core's, shared with
//! every other backend.
//!
//! # Edge-triggered or re-armed
//!
//! Where `polling` supports edge-triggered registrations (epoll, kqueue) every fd is registered
//! once, edge-triggered for both directions, and never touched again until it is deleted.
//! Elsewhere (event ports, `poll`) registrations are one-shot: the backend re-arms the directions
//! an event did not report right after it, and a direction it did report once the I/O object
//! finds it not ready again ([`IoSource::rearm`]). [`PollingSource::with_triggering`] forces one
//! or the other, which is how the one-shot path is tested on Linux.
//!
//! # Cost, compared with `reactor-epoll` on Linux
//!
//! Measured on Linux, where `polling` runs on epoll: system calls with `strace -c -f` on
//! `reactor-epoll`'s `syscall_count` example (`<pattern> 1000 polling` or `polling-oneshot`,
//! minus a run of 0 rounds), whose crate docs have the full table.
//!
//! - **A wait costs 5 syscalls** where `reactor-epoll`'s costs 1: `polling::Poller::wait`
//!   re-arms its notifier and a timerfd on every call, whatever the timeout
//!   (`timerfd_settime`, 2 `epoll_ctl`, `epoll_pwait`, and a `read` of the notifier). A
//!   [`notify`](EventSource::notify) is one `write`, then the 5 of the wait it ends.
//! - **A read that comes back short is not taken as proof that the stream is drained**:
//!   `polling` does not report a peer's hang-up (`EPOLLRDHUP`) on every platform, so the next
//!   read runs and meets `WouldBlock`. A stream readiness cycle (the peer writes, the wait, the
//!   read) is 8 syscalls where epoll's is 3: the 4 more of the wait and that `read`.
//! - **One-shot** registrations add one `epoll_ctl` re-arm per readiness cycle (9 syscalls).
//! - Registering and deregistering an fd costs 3, as on epoll (`epoll_ctl` add, `ioctl`
//!   `FIONBIO`, `epoll_ctl` delete).
//!
//! Under load the waits are few (each returns many events), so the extra `read` is what
//! counts. `reactor-bench`'s TCP echo (64 connections x 1,000 round trips of 64 bytes, the
//! runtime on one thread; medians of 3 to 5 runs, min-max) per round trip on the server:
//!
//! | backend | syscalls (`perf`) | instructions (callgrind) | CPU time |
//! |---|---|---|---|
//! | `reactor-epoll` | 2.04 (2.03-2.05) | 1,772 (1,769-1,772) | 5.59 µs (5.55-5.92) |
//! | this one, edge-triggered | 3.12 (3.07-3.15): 1.95 `recvfrom`, 1 `sendto`, 0.034 waits of 5 | 1,865 (1,749-1,871) | 6.12 µs (6.11-7.15) |
//! | this one, one-shot | 4.05 (3.78-4.15): as edge-triggered + 0.95 `epoll_ctl` re-arm | 1,910 (1,908-1,941) | 6.65 µs (6.62-7.10) |
//!
//! A signal does not end a wait: `polling` retries an interrupted wait itself until its timeout,
//! where the epoll backend returns `Ok(0)` for `EINTR`. A loop that counts on a signal to end
//! its wait needs the signal handler to write to an fd the source watches (a self-pipe).
//!
//! # Examples
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor::Executor;
//! use reactor_net::Async;
//! use reactor_polling::PollingSource;
//!
//! let executor = Executor::new(PollingSource::new()?)?;
//! executor.block_on(async {
//!     let (a, b) = UnixStream::pair()?;
//!     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
//!     a.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     b.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg(unix)]
#![doc(test(attr(deny(warnings))))]

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};
use reactor::io::{DispatchBuffer, IoHandle, IoSource, OneshotInterest, Readiness, Registry};
use reactor::source::{Notifier, NotifierSlot};
use reactor::sync::Mutex;
use reactor::EventSource;

/// How a [`PollingSource`] registers fds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triggering {
    /// Once, edge-triggered: each change in readiness is reported once (epoll, kqueue).
    Edge,
    /// One-shot, re-armed by the backend after each report and by the I/O object after each
    /// `WouldBlock` (event ports, `poll`, and anywhere on request).
    Oneshot,
}

/// The portable I/O backend: a blocking [`EventSource`] over a [`polling::Poller`].
///
/// Cloning gives another handle to the same source. Like every blocking source it has one
/// driver at a time ([`attach`](EventSource::attach) refuses a second one).
#[derive(Clone)]
pub struct PollingSource {
    /// The same `Inner` as `io` holds, typed. std's `Arc`: sharing the source is no part of any
    /// protocol the loom models check.
    inner: std::sync::Arc<Inner>,
    /// The ambient name of this backend, which `component` answers with.
    io: IoHandle,
}

struct Inner {
    poller: Poller,
    registry: Registry,
    triggering: Triggering,
    /// One-shot registrations only: the directions armed per key, and the order of the
    /// `modify` calls that keep them armed (the core's bookkeeping, loom-modelled).
    oneshot: OneshotInterest,
    /// Reused by every wait; held for the whole wait, so a second concurrent wait can tell.
    buffers: Mutex<Buffers>,
    driver: NotifierSlot,
}

struct Buffers {
    events: Events,
    reported: Vec<(usize, Readiness)>,
    dispatch: DispatchBuffer,
}

impl PollingSource {
    /// A new poller, edge-triggered where the platform supports it, one-shot elsewhere.
    ///
    /// # Errors
    ///
    /// The error of creating the OS poller (typically `EMFILE`).
    pub fn new() -> io::Result<Self> {
        let poller = Poller::new()?;
        let triggering = if poller.supports_edge() { Triggering::Edge } else { Triggering::Oneshot };
        Ok(Self::from_poller(poller, triggering))
    }

    /// A new poller that registers fds as `triggering` says.
    ///
    /// # Errors
    ///
    /// `Unsupported` for [`Triggering::Edge`] on a platform whose poller has no edge-triggered
    /// mode (event ports, `poll`); the error of creating the poller.
    pub fn with_triggering(triggering: Triggering) -> io::Result<Self> {
        let poller = Poller::new()?;
        if triggering == Triggering::Edge && !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this platform's poller has no edge-triggered mode; use Triggering::Oneshot",
            ));
        }
        Ok(Self::from_poller(poller, triggering))
    }

    fn from_poller(poller: Poller, triggering: Triggering) -> Self {
        let buffers =
            Buffers { events: Events::new(), reported: Vec::new(), dispatch: DispatchBuffer::default() };
        let inner = std::sync::Arc::new(Inner {
            poller,
            registry: Registry::default(),
            triggering,
            oneshot: OneshotInterest::new(),
            buffers: Mutex::new(buffers),
            driver: NotifierSlot::new(),
        });
        Self { io: IoHandle::new(inner.clone()), inner }
    }

    /// How this source registers fds.
    pub fn triggering(&self) -> Triggering {
        self.inner.triggering
    }

    /// This backend's [`IoHandle`], to register I/O objects with it explicitly.
    pub fn io_handle(&self) -> &IoHandle {
        &self.io
    }

    /// Number of fds currently registered.
    pub fn registrations(&self) -> usize {
        self.inner.registry.count()
    }
}

impl EventSource for PollingSource {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // The executor never waits from two threads at once; should a caller do it anyway, the
        // second wait returns at once instead of blocking behind the first.
        let Some(mut buffers) = self.inner.buffers.try_lock() else {
            return Ok(0);
        };
        let Buffers { events, reported, dispatch } = &mut *buffers;
        events.clear();
        self.inner.poller.wait(events, timeout)?;
        reported.clear();
        reported.extend(events.iter().map(|event| (event.key, readiness_of(&event))));
        let ran = match self.inner.triggering {
            Triggering::Edge => self.inner.registry.dispatch(reported.drain(..), dispatch),
            Triggering::Oneshot => {
                // Each reported registration was disarmed; the directions not reported are armed
                // again before the callbacks run. A failure leaves them unwatched; the next
                // `rearm` of the registration (after its next `WouldBlock`) tries again and
                // reports the error to the task.
                let ran = self.inner.oneshot.dispatch(
                    &self.inner.registry,
                    reported,
                    dispatch,
                    |fd, key, directions| {
                        let _ = self.inner.poller.modify_with_mode(
                            fd,
                            interest(key, directions),
                            PollMode::Oneshot,
                        );
                    },
                );
                reported.clear();
                ran
            }
        };
        Ok(ran)
    }

    fn notify(&self) {
        // `Poller::notify` only fails if its own notifier cannot be written, which a full pipe
        // or eventfd counter cannot be while a notification is pending; the wait then returns
        // anyway. Nothing is lost by not reporting it.
        let _ = self.inner.poller.notify();
    }

    /// Records its driver.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live (one thread
    /// waits in a poller at a time; create a `PollingSource` per executor).
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.inner.driver.attach(notifier)
    }

    /// Answers for `PollingSource` itself and for its [`IoHandle`].
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<IoHandle>() {
            return Some(&self.io);
        }
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

/// The readiness of a `polling` event (see [`Readiness::from_event`]). A hang-up or an error,
/// where the platform reports one, makes both directions ready and marks `READ_CLOSED`.
fn readiness_of(event: &Event) -> Readiness {
    let hang_up = event.is_interrupt() || event.is_err() == Some(true);
    Readiness::from_event(event.readable, event.writable, false, hang_up)
}

/// `add`'s error with the kind [`IoSource::add`] asks for and a message naming the fd: the OS
/// error alone is `PermissionDenied` ("Operation not permitted") for a file epoll cannot watch,
/// and `EBADF` has no `ErrorKind` a caller can match.
fn explain_add_error(error: io::Error, fd: RawFd) -> io::Error {
    let (kind, message) = match error.raw_os_error() {
        Some(libc::EEXIST) => (
            io::ErrorKind::AlreadyExists,
            format!("fd {fd} is already registered with this poller; register each fd once"),
        ),
        Some(libc::EPERM) => (
            io::ErrorKind::Unsupported,
            format!(
                "fd {fd} cannot be watched by this platform's poller (epoll refuses a regular file \
                 or a directory, which is always ready)"
            ),
        ),
        Some(libc::EBADF) => (io::ErrorKind::InvalidInput, format!("fd {fd} is not an open file descriptor")),
        _ => return error,
    };
    io::Error::new(kind, message)
}

/// The `polling` interest of `directions` under `key`.
fn interest(key: usize, directions: Readiness) -> Event {
    match (directions.is_readable(), directions.is_writable()) {
        (true, true) => Event::all(key),
        (true, false) => Event::readable(key),
        (false, true) => Event::writable(key),
        (false, false) => Event::none(key),
    }
}

impl Inner {
    fn mode(&self) -> PollMode {
        match self.triggering {
            Triggering::Edge => PollMode::Edge,
            Triggering::Oneshot => PollMode::Oneshot,
        }
    }
}

impl IoSource for Inner {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let add = |directions| {
            // SAFETY: the caller keeps `fd` open until `delete`.
            unsafe { self.poller.add_with_mode(fd.as_raw_fd(), interest(key, directions), self.mode()) }
        };
        match self.triggering {
            Triggering::Edge => add(Readiness::READABLE | Readiness::WRITABLE),
            // SAFETY: the caller keeps `fd` open until `delete`, which forgets the key.
            Triggering::Oneshot => unsafe { self.oneshot.add(fd, key, add) },
        }
        .map_err(|error| explain_add_error(error, fd.as_raw_fd()))
    }

    fn delete(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        match self.triggering {
            Triggering::Edge => self.poller.delete(fd),
            Triggering::Oneshot => self.oneshot.delete(key, || self.poller.delete(fd)),
        }
    }

    fn needs_rearm(&self) -> bool {
        self.triggering == Triggering::Oneshot
    }

    fn rearm(&self, _fd: BorrowedFd<'_>, key: usize, directions: Readiness) -> io::Result<()> {
        self.oneshot.rearm(key, directions, |fd, armed| {
            self.poller.modify_with_mode(fd, interest(key, armed), PollMode::Oneshot)
        })
    }
}

/// The poller's own fd (epoll, kqueue or event port; `poll` has none, and there this is its
/// notifier's), for a host event loop to watch for readability: it turns readable when a
/// registered fd has an event or [`notify`](EventSource::notify) was called, in both
/// [`Triggering`] modes, and a [`wait`](EventSource::wait) with a zero timeout consumes that
/// readiness (the events it returns, the notification it clears). Never wait on it yourself.
///
/// One more readiness comes from `polling`'s internals, not from any event: it bounds a wait
/// with a timer inside the poller (on Linux a timerfd in its epoll set, re-armed by every wait),
/// and a wait that ends before its timeout leaves that timer armed, so the fd turns readable once
/// at that wait's deadline with nothing to report. The next wait, whatever its timeout, re-arms
/// or disarms the timer and consumes it. A host that runs a turn (a zero-timeout wait) before
/// it first polls the fd, as the host loop of `reactor::Host` does, never sees it.
impl AsFd for PollingSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.poller.as_fd()
    }
}

impl fmt::Debug for PollingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollingSource")
            .field("triggering", &self.inner.triggering)
            .field("registrations", &self.registrations())
            .finish()
    }
}
