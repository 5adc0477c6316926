#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // the protocol's items: public to the loom models only
//! The armed polls: which registrations have a multishot poll in the ring, and the protocol that
//! keeps a deleted registration from ever being armed again.
//!
//! A multishot `IORING_OP_POLL_ADD` stays armed across events (each CQE carries
//! `IORING_CQE_F_MORE`) until the kernel ends it: cancelled by our `IORING_OP_POLL_REMOVE`, or
//! by the kernel (some kernels cancel a task's requests when the task exits, so a poll
//! submitted by a thread that ended), or ended for the kernel's own reasons (a CQE without
//! `F_MORE`). The waiter re-arms an ended poll, and a
//! deregistration removes one, from another thread, at any moment: the two must agree.
//!
//! # Why one lock over the table and the submission queue
//!
//! The waiter sees a CQE without `F_MORE` for key `k` and decides to re-arm `k`; meanwhile
//! `delete(k)` removes `k` and submits a `POLL_REMOVE`. If the decision ("`k` is live") and the
//! push of the new `POLL_ADD` were two steps, a delete between them would find no poll to
//! remove (the old one had ended), return, and let its caller close the fd; the waiter's
//! `POLL_ADD` would then arm a poll for a dead registration: it holds a reference to the file
//! (a closed socket that never sends its FIN), and a reused fd number would be watched under a
//! stale key for good. So the table of live keys and the submission queue sit under one lock:
//!
//! - a re-arm looks `k` up and pushes its `POLL_ADD` in one critical section;
//! - a delete removes `k` and pushes its `POLL_REMOVE` in one critical section, then submits.
//!
//! Entries leave the queue in the order they were pushed, so a re-arm pushed before the delete
//! is submitted before its removal (which then cancels it), and a re-arm after the delete finds
//! `k` gone. The loom model `uring_cancel` checks it over a mock ring, with the two-step re-arm
//! as its seeded bug.
//!
//! # Why not wait for the cancellation's CQE
//!
//! `delete` may run on the waiting thread itself (a callback dropping an `Async`), which is the
//! only thread that reaps CQEs: waiting there for the cancellation would deadlock. Nothing needs
//! it either: a CQE of `k` still in flight after the delete reaches nothing, because user_data
//! is the registry's generation-checked key and the registry forgets `k` right after `delete`
//! returns (its removal also waits for a callback already running on another thread).
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::os::fd::RawFd;

use reactor::io::Readiness;

use crate::sync::Mutex;

/// The submission side of a ring, as [`Polls`] drives it: every call is made under the `Polls`
/// lock, so an implementation has the queue to itself.
///
/// The real one is the io_uring's submission queue; the loom models use a mock ring.
pub trait Submission {
    /// Queues a multishot poll of `fd` for the events of `mask` ([`POLL_MASK`] for a
    /// registration) whose CQEs carry `key` as user_data. Never loses the entry: a full queue
    /// keeps it for the next flush.
    fn poll(&mut self, fd: RawFd, key: u64, mask: u32);

    /// Queues the removal of the poll whose user_data is `key` (a `POLL_REMOVE`; its own CQE
    /// carries [`INTERNAL_KEY`]).
    fn remove(&mut self, key: u64);

    /// Publishes the queued entries to the kernel and hands them over without waiting for any
    /// completion (one `io_uring_enter`).
    ///
    /// # Errors
    ///
    /// The error of `io_uring_enter`; the entries stay queued and the waiter's next enter
    /// submits them.
    fn submit(&mut self) -> io::Result<()>;

    /// Publishes the queued entries to the kernel without entering it; returns how many the
    /// kernel has yet to consume, for the waiter to submit with its wait.
    fn publish(&mut self) -> u32;
}

/// The user_data of the ring's own requests (a `POLL_REMOVE`'s CQE): a key no registration has.
pub const INTERNAL_KEY: u64 = reactor::io::Registry::UNUSED_KEYS[0] as u64;

/// What the waiter does with one CQE of a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Dispatch this readiness to the key's registration.
    Ready(Readiness),
    /// Nothing to dispatch (a cancellation, the ring's own request).
    Nothing,
}

/// The live polls by key, and the submission queue, under one lock (see the module docs).
pub struct Polls<S> {
    state: Mutex<State<S>>,
}

struct State<S> {
    queue: S,
    /// The fd of each live key, and the events its poll asks for.
    live: HashMap<u64, (RawFd, u32)>,
    /// The fds of the live keys, so a second registration of an fd is refused as epoll does.
    fds: HashSet<RawFd>,
    /// Deleted keys whose poll has not ended yet (no CQE without `F_MORE` seen): their removal
    /// is retried while the kernel refuses it (see [`Polls::complete`]).
    removing: HashSet<u64>,
}

impl<S: Submission> Polls<S> {
    /// No poll armed, over `queue`.
    pub fn new(queue: S) -> Self {
        Self {
            state: Mutex::new(State {
                queue,
                live: HashMap::new(),
                fds: HashSet::new(),
                removing: HashSet::new(),
            }),
        }
    }

    /// Arms a multishot poll of `fd` under `key` and submits it.
    ///
    /// The kernel delivers a poll's completions through task work of the thread that submitted
    /// it, which interrupts that thread's blocking system calls (a socket read with a timeout
    /// returns `EINTR`): the thread that registers an fd gets that task work while the fd is
    /// registered (the source's own notification poll is submitted by a waiter, never by the
    /// thread that created the source).
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is armed already under another key. A failed submission is not an
    /// error: the poll stays queued and `on_stuck` is called, so that the caller makes the waiter
    /// enter the ring (which submits it).
    pub fn add(&self, fd: RawFd, key: u64, on_stuck: impl FnOnce()) -> io::Result<()> {
        let mut state = self.state.lock();
        if !state.fds.insert(fd) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("fd {fd} is already registered with this io_uring source; register each fd once"),
            ));
        }
        state.live.insert(key, (fd, POLL_MASK));
        state.queue.poll(fd, key, POLL_MASK);
        if state.queue.submit().is_err() {
            on_stuck();
        }
        Ok(())
    }

    /// Forgets `key` and removes its poll from the ring; from here on no CQE of `key` re-arms
    /// it. Returns whether `key` was live.
    ///
    /// A failed submission is handled as in [`add`](Self::add): the removal stays queued ahead of
    /// anything pushed later, and `on_stuck` wakes the waiter to submit it.
    pub fn delete(&self, key: u64, on_stuck: impl FnOnce()) -> bool {
        let mut state = self.state.lock();
        let Some((fd, _)) = state.live.remove(&key) else { return false };
        state.fds.remove(&fd);
        state.removing.insert(key);
        state.queue.remove(key);
        if state.queue.submit().is_err() {
            on_stuck();
        }
        true
    }

    /// What to do with a CQE of `key` with `result` (the poll mask, or `-errno`); `more` is its
    /// `IORING_CQE_F_MORE`. A poll that ended (`!more`) is armed again, in the same critical
    /// section as the look-up, if `key` is still live; it is submitted with the waiter's next
    /// enter.
    ///
    /// A `POLL_REMOVE` can fail: while a wake-up of the poll is being processed the kernel
    /// cannot take the request and answers `-EALREADY`, leaving the poll armed (holding the
    /// file: a pipe's write end that never closes, so its reader never sees EOF). So a deleted
    /// key stays in `removing` until its poll's last CQE (no `F_MORE`), and its removal is
    /// queued again on an `-EALREADY` ([`INTERNAL_KEY`]'s CQE) and on any CQE of the poll that
    /// says it is still armed.
    pub fn complete(&self, key: u64, result: i32, more: bool) -> Completion {
        if key == INTERNAL_KEY {
            if result == -libc::EALREADY
                && !crate::sync::seeded_bug::is_active(crate::sync::Bug::RemoveNotRetried)
            {
                let mut state = self.state.lock();
                let State { queue, removing, .. } = &mut *state;
                removing.iter().for_each(|&key| queue.remove(key));
            }
            return Completion::Nothing;
        }
        let completion = match result {
            mask if mask >= 0 => Completion::Ready(readiness_of(mask as u32)),
            // Our own removal (the key is gone, nothing to re-arm) or a cancellation by the
            // kernel, such as at the exit of the thread that submitted the poll (the key is
            // live: re-armed below). Nothing happened on the fd either way.
            error if error == -libc::ECANCELED => Completion::Nothing,
            // Any other error of the poll (the fd is checked when added, so this is the kernel
            // refusing, say, for memory): both directions "ready", so that the next operation
            // runs and meets the fd's own error instead of waiting forever. Not re-armed: it
            // would fail again at once, and the waiter would spin.
            _ => {
                self.ended_if_deleted(key, more);
                return Completion::Ready(Readiness::READABLE | Readiness::WRITABLE);
            }
        };
        if self.ended_if_deleted(key, more) {
            return completion;
        }
        if !more {
            self.rearm(key);
        }
        completion
    }

    /// For a deleted `key`: forgets it once its poll ended, or queues its removal again while
    /// the poll is still armed. Returns whether `key` was deleted.
    fn ended_if_deleted(&self, key: u64, more: bool) -> bool {
        let mut state = self.state.lock();
        if !state.removing.contains(&key) {
            return false;
        }
        if crate::sync::seeded_bug::is_active(crate::sync::Bug::RemoveNotRetried) {
            return true;
        }
        if more {
            state.queue.remove(key);
        } else {
            state.removing.remove(&key);
        }
        true
    }

    /// Arms `key` again if it is live.
    fn rearm(&self, key: u64) {
        if crate::sync::seeded_bug::is_active(crate::sync::Bug::RearmChecksOutsideLock) {
            let armed = self.state.lock().live.get(&key).copied();
            if let Some((fd, mask)) = armed {
                self.state.lock().queue.poll(fd, key, mask);
            }
            return;
        }
        let mut state = self.state.lock();
        if let Some(&(fd, mask)) = state.live.get(&key) {
            state.queue.poll(fd, key, mask);
        }
    }

    /// Arms a poll of the source's own `fd` (the notifier's eventfd) for `mask` under `key`,
    /// re-armed like any other; not counted as an fd of a registration. Not submitted: the next
    /// enter does.
    pub fn add_internal(&self, fd: RawFd, key: u64, mask: u32) {
        let mut state = self.state.lock();
        state.live.insert(key, (fd, mask));
        state.queue.poll(fd, key, mask);
    }

    /// Publishes what is queued; returns how many entries the kernel has yet to consume (see
    /// [`Submission::publish`]).
    pub fn publish(&self) -> u32 {
        self.state.lock().queue.publish()
    }

    /// Runs `f` on the submission queue, under the lock.
    pub fn with_queue<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.state.lock().queue)
    }

    /// Calls `f` with the fd of each of `keys` that is live (under one lock), in order.
    pub fn fds_of(&self, keys: impl Iterator<Item = u64>, mut f: impl FnMut(u64, Option<RawFd>)) {
        let state = self.state.lock();
        for key in keys {
            f(key, state.live.get(&key).map(|&(fd, _)| fd));
        }
    }

    /// The live keys, the source's own included.
    pub fn live_keys(&self) -> Vec<u64> {
        self.state.lock().live.keys().copied().collect()
    }
}

impl<S> fmt::Debug for Polls<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Polls").finish_non_exhaustive()
    }
}

/// The poll mask the ring's polls ask for: both directions and the peer's hang-up (so every
/// hang-up is marked, as epoll's `EPOLLRDHUP` does).
pub(crate) const POLL_MASK: u32 = (libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP) as u32;

/// The readiness of a poll CQE's mask. Hang-up and error count as both directions and as
/// `READ_CLOSED`, so that a pending read or write runs and sees the EOF or the error.
pub fn readiness_of(mask: u32) -> Readiness {
    let any = |bits: libc::c_short| mask & bits as u32 != 0;
    Readiness::from_event(
        any(libc::POLLIN | libc::POLLPRI),
        any(libc::POLLOUT),
        any(libc::POLLRDHUP),
        any(libc::POLLHUP | libc::POLLERR),
    )
}
