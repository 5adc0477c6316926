//! The io_uring event source: [`Uring`], a blocking [`EventSource`] and an I/O backend.

use std::any::{Any, TypeId};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use reactor::io::{DispatchBuffer, IoHandle, IoSource, Readiness, Registry};
use reactor::source::{Notifier as Driver, NotifierSlot};
use reactor::EventSource;

use crate::notifier::{Notifier, NOTIFY_KEY};
use crate::polls::{Completion, Polls, Submission, INTERNAL_KEY};
use crate::probe::{self, Unavailable};
use crate::ring::{Cqe, Ring, RingQueue};
use crate::sync::Mutex;

/// How long the live multishot check at construction may wait for its completion (it comes at
/// once on a working kernel; this only bounds a broken one).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The io_uring event source: a blocking [`EventSource`] whose every wait is one
/// `io_uring_enter` that submits what is queued and waits for completions, and an I/O backend
/// ([`reactor::io::IoSource`]) whose readiness comes from multishot `IORING_OP_POLL_ADD`s, so
/// that `reactor-net`'s `Async<T>` and every `net` type run on it unchanged.
///
/// Cloning gives another handle to the same source. Inside an executor over a `Uring` (alone or
/// composed) [`IoHandle::current`] finds it, and `reactor::current_source::<Uring>()` finds the
/// `Uring` itself.
///
/// See the [crate documentation](crate) for how readiness, notification, timeouts and
/// deregistration map onto the ring.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use reactor::EventSource;
/// use reactor_uring::{Unavailable, Uring};
///
/// let uring = match Uring::new() {
///     Ok(uring) => uring,
///     Err(error) => {
///         // Containers often disable io_uring: say why, and use another backend.
///         println!("no io_uring here: {}", Unavailable::of(&error));
///         return Ok(());
///     }
/// };
/// uring.notify(); // from any thread; a notify before the wait is not lost
/// assert_eq!(uring.wait(None)?, 0); // returns at once: nothing was registered
/// assert_eq!(uring.wait(Some(Duration::from_micros(100)))?, 0); // times out
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Uring {
    /// The same `Inner` as `io` holds, typed. std's `Arc`: sharing the source is no part of any
    /// protocol the loom models check.
    inner: std::sync::Arc<Inner>,
    /// The ambient name of this backend, which `component` answers with.
    io: IoHandle,
}

struct Inner {
    /// The live polls and the submission queue, under one lock (the deregistration protocol).
    polls: Polls<RingQueue>,
    ring: Ring,
    registry: Registry,
    /// The eventfd whose multishot poll ends a wait, and its `pending` flag.
    notifier: Notifier,
    /// The reaper's state; held for the whole wait, so a second concurrent wait can tell (and
    /// so that one thread at a time reads the completion queue).
    waiter: Mutex<Waiter>,
    /// Its driver: one thread at a time may wait in the ring.
    driver: NotifierSlot,
}

#[derive(Default)]
struct Waiter {
    cqes: Vec<Cqe>,
    ready: Vec<(usize, Readiness)>,
    dispatch: DispatchBuffer,
    /// The kernel's count of dropped completions, as last seen.
    dropped: u32,
    /// The fds of `ready`, for `keep_current`.
    pollfds: Vec<libc::pollfd>,
}

impl Uring {
    /// A new ring with nothing registered, after checking that this kernel can carry the
    /// backend (see [`Unavailable`] for the checks).
    ///
    /// # Errors
    ///
    /// `Unsupported` with an [`Unavailable`] inside (get it with [`Unavailable::of`]) when
    /// io_uring cannot be used here; the error of creating the eventfd (typically `EMFILE`).
    pub fn new() -> io::Result<Self> {
        if probe::disabled_by_env() {
            return Err(Unavailable::Disabled.into());
        }
        let ring = Ring::new().map_err(|error| Unavailable::setup(&error))?;
        probe::check(ring.uring())?;
        let notifier = Notifier::new()?;
        let polls = Polls::new(ring.queue());
        let inner = Inner {
            polls,
            ring,
            registry: Registry::default(),
            notifier,
            waiter: Mutex::new(Waiter::default()),
            driver: NotifierSlot::new(),
        };
        inner.check_multishot()?;
        // Readable only: an eventfd is always writable, and its reads wake it for writers.
        // Queued, not submitted: the first waiter submits it (see `Polls::add` for why).
        inner.polls.add_internal(inner.notifier.as_fd().as_raw_fd(), NOTIFY_KEY, libc::POLLIN as u32);
        let inner = std::sync::Arc::new(inner);
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
}

impl Inner {
    /// The live multishot check: the notification poll, armed multishot, must report a write
    /// and stay armed.
    fn check_multishot(&self) -> Result<(), Unavailable> {
        let failed = |message: String| Unavailable::Multishot(message);
        let eventfd = self.notifier.as_fd().as_raw_fd();
        // A throwaway poll under INTERNAL_KEY, removed again below: the polls this thread
        // submits deliver their completions through its task work (see `Polls::add`).
        self.polls.with_queue(|queue| queue.poll(eventfd, INTERNAL_KEY, libc::POLLIN as u32));
        self.notifier.raise();
        let mut cqes = Vec::new();
        let turn = |cqes: &mut Vec<Cqe>| {
            let to_submit = self.polls.publish();
            self.ring
                .enter(to_submit, true, Some(PROBE_TIMEOUT), false)
                .map_err(|error| failed(format!("io_uring_enter failed: {error}")))?;
            // SAFETY: the source is not shared yet: this thread is the only reaper.
            unsafe { self.ring.reap(cqes) };
            Ok::<_, Unavailable>(())
        };
        turn(&mut cqes)?;
        self.notifier.drain();
        let cqe = cqes
            .iter()
            .find(|cqe| cqe.user_data == INTERNAL_KEY)
            .copied()
            .ok_or_else(|| failed(format!("no completion within {PROBE_TIMEOUT:?}")))?;
        if cqe.result < 0 {
            let error = io::Error::from_raw_os_error(-cqe.result);
            return Err(failed(format!("IORING_POLL_ADD_MULTI refused ({error}): it needs Linux 5.13")));
        }
        if !cqe.more {
            return Err(failed(
                "the poll ended after one event (IORING_POLL_ADD_MULTI needs Linux 5.13)".into(),
            ));
        }
        // Remove it, and take its last CQE (and the removal's) out of the ring.
        self.polls.with_queue(|queue| queue.remove(INTERNAL_KEY));
        for _ in 0..4 {
            cqes.clear();
            turn(&mut cqes)?;
            if cqes
                .iter()
                .any(|cqe| cqe.user_data == INTERNAL_KEY && !cqe.more && cqe.result == -libc::ECANCELED)
            {
                return Ok(());
            }
        }
        Err(failed("the probe's poll could not be removed".into()))
    }

    /// The waiter's turn: one enter (submit + wait), then the completions.
    fn wait(&self, waiter: &mut Waiter, timeout: Option<Duration>) -> io::Result<usize> {
        let (to_submit, flush) = self.polls.with_queue(|queue| (queue.publish(), queue.cq_overflow()));
        // SAFETY: the caller holds the waiter lock: this thread is the only reaper.
        let ready_now = unsafe { self.ring.has_completions() };
        let block = !ready_now && timeout != Some(Duration::ZERO);
        self.ring.enter(to_submit, block, timeout, flush)?;
        waiter.cqes.clear();
        // SAFETY: as above.
        let dropped = unsafe { self.ring.reap(&mut waiter.cqes) };
        let Waiter { cqes, ready, dispatch, dropped: seen, pollfds } = waiter;
        for cqe in cqes.iter() {
            match cqe.user_data {
                INTERNAL_KEY => {
                    self.polls.complete(INTERNAL_KEY, cqe.result, cqe.more); // a refused removal
                }
                NOTIFY_KEY => {
                    // Before the executor re-checks its queues, which it does after every wait.
                    self.notifier.on_edge();
                    self.polls.complete(NOTIFY_KEY, cqe.result, cqe.more); // re-armed if it ended
                }
                key => {
                    if let Completion::Ready(readiness) = self.polls.complete(key, cqe.result, cqe.more) {
                        ready.push((key as usize, readiness));
                    }
                }
            }
        }
        if dropped != *seen {
            // Completions were lost (the kernel could not even keep them in its overflow list):
            // report every registration ready, so that each waiting task retries its operation
            // and waits again only on a fresh `WouldBlock`; and answer a lost notification.
            *seen = dropped;
            self.notifier.on_edge();
            let live = self.polls.live_keys().into_iter().filter(|&key| key != NOTIFY_KEY);
            ready.extend(live.map(|key| (key as usize, Readiness::READABLE | Readiness::WRITABLE)));
        }
        // A poll reports every wake-up, so one wait may reap several CQEs of a key (its first
        // report at arming, then an event): one dispatch per key with their union, as one
        // `epoll_wait` reports an fd once.
        ready.sort_unstable_by_key(|&(key, _)| key);
        ready.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = kept.1 | later.1;
            }
            same
        });
        self.keep_current(ready, pollfds);
        Ok(self.registry.dispatch(ready.drain(..), dispatch))
    }
}

impl Inner {
    /// Keeps of each reported readiness only what is still true now (one `poll(2)` with a zero
    /// timeout over the reported fds), and drops keys deleted meanwhile.
    ///
    /// A poll's CQE is a snapshot taken when the fd woke, not when it is reaped: an operation
    /// between the two (a write that filled the buffer again, a read that took the data) makes
    /// it stale, and the readiness cache would then report a direction ready that is not
    /// (`writable()` returning with no room). `epoll_wait` re-polls each fd as it reports it;
    /// this does the same for a whole batch in one call. Nothing is lost: a direction not ready
    /// now is reported by the still armed poll's next wake-up (or by its re-arm, which checks
    /// the level).
    fn keep_current(&self, ready: &mut Vec<(usize, Readiness)>, pollfds: &mut Vec<libc::pollfd>) {
        if ready.is_empty() {
            return;
        }
        pollfds.clear();
        let mut live = Vec::with_capacity(ready.len());
        self.polls.fds_of(ready.iter().map(|&(key, _)| key as u64), |_, fd| {
            live.push(fd.is_some());
            if let Some(fd) = fd {
                pollfds.push(libc::pollfd { fd, events: crate::polls::POLL_MASK as i16, revents: 0 });
            }
        });
        let mut is_live = live.into_iter();
        ready.retain(|_| is_live.next().unwrap_or(false));
        let count = libc::nfds_t::try_from(pollfds.len()).unwrap_or(libc::nfds_t::MAX);
        // SAFETY: `pollfds` is a live array of `count` initialised `pollfd`s for the call.
        if unsafe { libc::poll(pollfds.as_mut_ptr(), count, 0) } < 0 {
            return; // interrupted: keep the reports as they are (at worst a spurious wake-up)
        }
        for ((_, readiness), pollfd) in ready.iter_mut().zip(pollfds.iter()) {
            *readiness = *readiness & crate::polls::readiness_of(pollfd.revents as u16 as u32);
        }
        ready.retain(|&(_, readiness)| readiness != Readiness::NONE);
    }
}

impl EventSource for Uring {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // The executor never waits from two threads at once; should a caller do it anyway, the
        // second wait returns at once instead of blocking behind the first.
        let Some(mut waiter) = self.inner.waiter.try_lock() else {
            return Ok(0);
        };
        self.inner.wait(&mut waiter, timeout)
    }

    fn notify(&self) {
        self.inner.notifier.notify();
    }

    /// Records its driver.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live: one thread
    /// waits in a ring at a time (create a `Uring` per executor).
    fn attach(&self, notifier: Driver) -> io::Result<()> {
        self.inner.driver.attach(notifier)
    }

    /// Answers for `Uring` itself and for its [`IoHandle`].
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<IoHandle>() {
            return Some(&self.io);
        }
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

/// Refuses what a poll cannot watch, with the kinds epoll's backend gives: a closed fd
/// (`InvalidInput`) and a regular file or a directory (`Unsupported`: always ready, so its poll
/// would end after one event and be re-armed for ever).
fn check_watchable(fd: RawFd) -> io::Result<()> {
    // SAFETY: zeroed `stat` is a valid out-parameter.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `stat` is a live, writable `struct stat` for the call.
    if unsafe { libc::fstat(fd, &mut stat) } < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EBADF) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is not an open file descriptor"),
            ));
        }
        return Err(error);
    }
    if matches!(stat.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFDIR) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "fd {fd} is a regular file or a directory, which a poll cannot watch (it is always ready)"
            ),
        ));
    }
    Ok(())
}

/// Registers each fd with one multishot poll (both directions and `POLLRDHUP`), re-armed only
/// when the kernel ends it, so it needs no re-arming by the I/O objects and marks every hang-up.
impl IoSource for Inner {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        check_watchable(fd)?;
        // The caller keeps `fd` open until `delete`, which removes the poll before it returns
        // (in the ring's order: see `Polls`).
        self.polls.add(fd, key as u64, || self.notifier.notify())
    }

    fn delete(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        if self.polls.delete(key as u64, || self.notifier.notify()) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("fd {} is not registered with this io_uring source", fd.as_raw_fd()),
        ))
    }

    fn reports_read_closed(&self) -> bool {
        true
    }
}

/// The ring's own fd, for a host event loop to watch for readability: it turns readable when a
/// completion waits in the ring (an event of a registered fd, or a [`notify`](EventSource::notify)).
/// Only watch it for readability; never enter the ring yourself.
impl AsFd for Uring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.ring.as_fd()
    }
}

impl fmt::Debug for Uring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uring").field("registrations", &self.registrations()).finish()
    }
}
