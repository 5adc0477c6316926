//! [`OneshotInterest`]: the bookkeeping of a backend whose registrations stop watching an fd once
//! they have reported it (one-shot registrations, a `poll(2)` loop, event ports).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use super::{DispatchBuffer, Readiness, Registry};
use crate::sync::Mutex;

/// Which directions of each registered fd a re-armed backend watches, and the order of the OS
/// calls that keep them watched: the part of such a backend that decides when to call
/// `modify`, written once (and model-checked) for every backend of the kind.
///
/// A one-shot registration (epoll's `EPOLLONESHOT`, `polling`'s `PollMode::Oneshot`, an event
/// port association) stops watching the whole fd once it reports it, whichever directions the
/// report named. So after every wait the directions that were watched and *not* reported must be
/// watched again at once, or a task waiting for them sleeps through their readiness; the
/// directions that *were* reported stay unwatched until the I/O object finds them not ready
/// again and calls [`IoSource::rearm`](super::IoSource::rearm). A level-triggered `poll(2)`
/// loop needs the same bookkeeping: it polls each fd for its armed directions, as `modify` sets
/// them.
///
/// Every call that changes the watched directions takes the same lock, and runs the OS call
/// (`add`, `modify`, `delete`) under it, so the OS applies them in the order they were decided:
/// two re-arms of different directions racing from two threads cannot leave the OS watching
/// less than the bookkeeping says.
///
/// # Use
///
/// - [`IoSource::add`](super::IoSource::add) calls [`add`](Self::add), which registers the fd
///   for both directions (through the closure given) and records them armed;
/// - the wait hands the events it got from the OS to [`dispatch`](Self::dispatch), which
///   re-arms what they did not report and then runs the callbacks;
/// - [`IoSource::rearm`](super::IoSource::rearm) calls [`rearm`](Self::rearm);
/// - [`IoSource::delete`](super::IoSource::delete) calls [`delete`](Self::delete).
///
/// The closures are the OS calls; `modify` is given the complete set of directions to watch
/// from then on, as `epoll_ctl(EPOLL_CTL_MOD)` and `polling`'s `modify_with_mode` take it. A
/// `modify` must report a direction that is ready already at the next wait (level-triggered,
/// as both do), or readiness that arrived while the direction was unwatched is lost.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use std::os::fd::AsFd;
/// use reactor::io::{DispatchBuffer, OneshotInterest, Readiness, Registry};
///
/// let (registry, interest) = (Registry::default(), OneshotInterest::new());
/// let (socket, _peer) = UnixStream::pair()?;
/// let key = registry.insert(Box::new(|_| {}))?;
/// // SAFETY: `socket` stays open until `delete` below.
/// unsafe { interest.add(socket.as_fd(), key, |_both| Ok(())) }?; // the OS `add`, one-shot
/// // The OS reported the fd readable and stopped watching it: writability is watched again.
/// let mut modified = Vec::new();
/// let ran = interest.dispatch(&registry, &[(key, Readiness::READABLE)], &mut DispatchBuffer::default(),
///     |_fd, _key, directions| modified.push(directions));
/// assert_eq!((ran, modified), (1, vec![Readiness::WRITABLE]));
/// // The task read until `WouldBlock`: readability is watched again too.
/// interest.rearm(key, Readiness::READABLE, |_fd, directions| {
///     assert_eq!(directions, Readiness::READABLE | Readiness::WRITABLE);
///     Ok(())
/// })?;
/// interest.delete(key, || Ok(()))?; // the OS `delete`
/// registry.remove(key);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Default)]
pub struct OneshotInterest {
    armed: Mutex<HashMap<usize, Armed>>,
}

/// One registered fd: the directions the OS watches for it (once the reports on their way are
/// handed to `dispatch`).
#[derive(Clone, Copy, Debug)]
struct Armed {
    fd: RawFd,
    directions: Readiness,
}

impl OneshotInterest {
    /// No fd registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `fd` under `key` for both directions: runs `add` (the OS call, given both
    /// directions) under the lock, then records them armed. Under the lock, so that a wait that
    /// reports the new fd at once finds it here and re-arms what it did not report.
    ///
    /// # Safety
    ///
    /// `fd` stays open until [`delete`](Self::delete) has been called for `key` (the contract
    /// of [`IoSource::add`](super::IoSource::add)): [`dispatch`](Self::dispatch) hands it to
    /// `modify` until then.
    ///
    /// # Errors
    ///
    /// `add`'s error, and then nothing is recorded.
    pub unsafe fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        add: impl FnOnce(Readiness) -> io::Result<()>,
    ) -> io::Result<()> {
        let both = Readiness::READABLE | Readiness::WRITABLE;
        let mut armed = self.armed.lock();
        add(both)?;
        armed.insert(key, Armed { fd: fd.as_raw_fd(), directions: both });
        Ok(())
    }

    /// Forgets `key`: runs `delete` (the OS call) under the lock, after taking the key out, so no
    /// `modify` of it runs from then on. Returns `delete`'s result.
    ///
    /// # Errors
    ///
    /// `delete`'s error; the key is forgotten regardless.
    pub fn delete(&self, key: usize, delete: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut armed = self.armed.lock();
        armed.remove(&key);
        delete()
    }

    /// Hands the events of one wait to `registry`, in the order the protocol needs:
    ///
    /// 1. every registration an event names was disarmed by the OS when it reported it, so its
    ///    armed directions that the event did not report are armed again, with
    ///    `modify(fd, key, directions)` under the lock (a key deleted since is skipped);
    /// 2. then the callbacks run ([`Registry::dispatch`]); returns how many ran.
    ///
    /// In this order, a task woken by a callback that finds the direction not ready and
    /// [re-arms](Self::rearm) it always finds the report already processed; the other way
    /// round, processing the report after the task's re-arm would disarm the direction it just
    /// armed, and the task would sleep through the next readiness.
    ///
    /// A `modify` that fails leaves the directions unwatched; the next [`rearm`](Self::rearm)
    /// of the registration (after its next `WouldBlock`) tries again and reports the error.
    pub fn dispatch(
        &self,
        registry: &Registry,
        events: &[(usize, Readiness)],
        buffer: &mut DispatchBuffer,
        modify: impl FnMut(BorrowedFd<'_>, usize, Readiness),
    ) -> usize {
        if crate::sync::seeded!(OneshotDispatchesFirst) {
            let ran = registry.dispatch(events.iter().copied(), buffer);
            self.reported(events, modify);
            return ran;
        }
        self.reported(events, modify);
        registry.dispatch(events.iter().copied(), buffer)
    }

    /// Step 1 of [`dispatch`](Self::dispatch).
    fn reported(
        &self,
        events: &[(usize, Readiness)],
        mut modify: impl FnMut(BorrowedFd<'_>, usize, Readiness),
    ) {
        let mut armed = self.armed.lock();
        for &(key, readiness) in events {
            let Some(entry) = armed.get_mut(&key) else {
                continue; // deleted since the OS reported it, or not an fd of this backend
            };
            entry.directions = if crate::sync::seeded!(OneshotForgetsUnreported) {
                Readiness::NONE
            } else {
                entry.directions.without(readiness)
            };
            if entry.directions != Readiness::NONE {
                // SAFETY: a key is here only between `add` and `delete`, whose caller keeps the
                // fd open until `delete` (the contract of `add`).
                let fd = unsafe { BorrowedFd::borrow_raw(entry.fd) };
                modify(fd, key, entry.directions);
            }
        }
    }

    /// Arms `directions` of `key` again, after the I/O object found them not ready: adds them to
    /// the armed directions and runs `modify(fd, all armed directions)` under the lock. A key
    /// deleted already is left alone.
    ///
    /// # Errors
    ///
    /// `modify`'s error.
    pub fn rearm(
        &self,
        key: usize,
        directions: Readiness,
        modify: impl FnOnce(BorrowedFd<'_>, Readiness) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut armed = self.armed.lock();
        let Some(entry) = armed.get_mut(&key) else {
            return Ok(()); // deleted: nothing to watch
        };
        entry.directions = entry.directions | directions;
        // SAFETY: as in `reported`.
        let fd = unsafe { BorrowedFd::borrow_raw(entry.fd) };
        let directions = entry.directions;
        if crate::sync::seeded!(OneshotModifiesOutsideLock) {
            drop(armed);
        }
        modify(fd, directions)
    }

    /// The directions armed for `key`, or `None` if it is not registered.
    pub fn armed(&self, key: usize) -> Option<Readiness> {
        self.armed.lock().get(&key).map(|entry| entry.directions)
    }

    /// Number of registered fds.
    pub fn len(&self) -> usize {
        self.armed.lock().len()
    }

    /// Whether no fd is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for OneshotInterest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneshotInterest").field("registrations", &self.len()).finish()
    }
}

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::net::UnixStream;
    use std::sync::{Arc, Mutex};

    use super::*;

    const R: Readiness = Readiness::READABLE;
    const W: Readiness = Readiness::WRITABLE;

    /// A registry and an interest with one fd registered (both directions armed); the calls to
    /// `modify` are recorded in the returned log.
    struct Fixture {
        registry: Registry,
        interest: OneshotInterest,
        key: usize,
        socket: (UnixStream, UnixStream),
    }

    fn fixture(callback: Box<super::super::Callback>) -> Fixture {
        let socket = UnixStream::pair().unwrap();
        let (registry, interest) = (Registry::default(), OneshotInterest::new());
        let key = registry.insert(callback).unwrap();
        let mut added = Readiness::NONE;
        // SAFETY: the socket lives in the fixture, which outlives every use of the key.
        unsafe {
            interest.add(socket.0.as_fd(), key, |both| {
                added = both;
                Ok(())
            })
        }
        .unwrap();
        assert_eq!(added, R | W, "an fd is added for both directions");
        Fixture { registry, interest, key, socket }
    }

    #[test]
    fn a_report_of_one_direction_re_arms_the_other_at_once() {
        let f = fixture(Box::new(|_| {}));
        let mut modified = Vec::new();
        let fd = f.socket.0.as_raw_fd();
        let ran = f.interest.dispatch(
            &f.registry,
            &[(f.key, R)],
            &mut DispatchBuffer::default(),
            |got, key, dirs| modified.push((got.as_raw_fd(), key, dirs)),
        );
        assert_eq!(ran, 1);
        assert_eq!(modified, [(fd, f.key, W)], "the write direction, unreported, is watched again");
        assert_eq!(f.interest.armed(f.key), Some(W));
    }

    #[test]
    fn a_report_of_both_directions_re_arms_nothing_until_the_task_asks() {
        let f = fixture(Box::new(|_| {}));
        let ran =
            f.interest.dispatch(&f.registry, &[(f.key, R | W)], &mut DispatchBuffer::default(), |_, _, _| {
                panic!("nothing is left to re-arm")
            });
        assert_eq!(ran, 1);
        assert_eq!(f.interest.armed(f.key), Some(Readiness::NONE));
        let mut modified = Vec::new();
        for direction in [W, R] {
            f.interest
                .rearm(f.key, direction, |_, dirs| {
                    modified.push(dirs);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(modified, [W, R | W], "each re-arm adds its direction to the armed ones");
    }

    #[test]
    fn a_task_woken_by_a_report_that_re_arms_at_once_keeps_its_direction_armed() {
        // The callback stands for a task that runs on another thread as soon as it is woken,
        // finds nothing to read and re-arms: the report must be processed before it runs.
        let socket = UnixStream::pair().unwrap();
        let (registry, interest) = (Registry::default(), Arc::new(OneshotInterest::new()));
        let key_cell = Arc::new(Mutex::new(None));
        let (task_interest, task_key) = (interest.clone(), key_cell.clone());
        let key = registry
            .insert(Box::new(move |_| {
                let key = task_key.lock().unwrap().expect("registered");
                task_interest.rearm(key, R, |_, _| Ok(())).unwrap();
            }))
            .unwrap();
        *key_cell.lock().unwrap() = Some(key);
        // SAFETY: `socket` outlives every use of the key in this test.
        unsafe { interest.add(socket.0.as_fd(), key, |_| Ok(())) }.unwrap();
        interest.dispatch(&registry, &[(key, R)], &mut DispatchBuffer::default(), |_, _, _| {});
        assert_eq!(interest.armed(key), Some(R | W), "the re-arm made by the woken task stands");
    }

    #[test]
    fn events_of_deleted_or_unknown_keys_modify_nothing() {
        let f = fixture(Box::new(|_| {}));
        f.interest.delete(f.key, || Ok(())).unwrap();
        let events = [(f.key, R), (Registry::UNUSED_KEYS[0], R)];
        f.interest.dispatch(&f.registry, &events, &mut DispatchBuffer::default(), |_, _, _| {
            panic!("no registration to modify")
        });
        f.interest.rearm(f.key, R, |_, _| panic!("deleted")).unwrap();
        assert!(f.interest.is_empty());
    }

    #[test]
    fn a_failed_add_records_nothing() {
        let socket = UnixStream::pair().unwrap();
        let interest = OneshotInterest::new();
        // SAFETY: nothing is recorded, so the fd is never used after this call.
        let result =
            unsafe { interest.add(socket.0.as_fd(), 7, |_| Err(io::ErrorKind::AlreadyExists.into())) };
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(interest.armed(7), None);
    }
}
