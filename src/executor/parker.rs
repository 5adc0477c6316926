//! One parker per thread: the single way a thread of an executor sleeps, and how it is woken.
//!
//! A thread with nothing to do sleeps in one of two ways, and its parker's state says which, so
//! that whoever wakes it knows how:
//!
//! - **parked**: on its own thread park (`std::thread::park`), woken by an unpark;
//! - **driving**: blocked in the executor's event source as *the poller* (it holds the poll
//!   token, see `sleep.rs`), woken by the source's [`notify`](crate::EventSource::notify).
//!
//! A host loop's parker (`host.rs`) is *driving* between turns without being blocked in
//! `wait`: the host sleeps in a poll of its own on the source's readiness, which the source's
//! notify ends just the same.
//!
//! A worker has one parker for its whole life; a `block_on` call makes one for its duration, so a
//! late wake-up meant for a thread's sleep in one executor can never land on a sleep of the same
//! thread in another executor (whose source it would not notify).
//!
//! Every wake-up goes through [`Parker::unpark`], which leaves a permit ([`NOTIFIED`]) whatever
//! the thread was doing, so a wake-up is never lost: one that arrives before the thread sleeps
//! makes its next sleep return at once.
//!
//! # The state word
//!
//! | value | meaning | written by |
//! |---|---|---|
//! | [`RUNNING`] | awake, no wake-up pending | the owner (`prepare` failing, `finish`) |
//! | [`NOTIFIED`] | a wake-up is pending; the next sleep returns at once | any thread (`unpark`) |
//! | [`PARKED`] | asleep (or about to be) on the thread park | the owner (`prepare`) |
//! | [`DRIVING`] | blocked (or about to be) in the source as the poller | the owner (`prepare`) |
//!
//! The owner moves `RUNNING → PARKED/DRIVING` only by compare-and-swap, and every `unpark` is a
//! swap to `NOTIFIED`; all writes are read-modify-writes, so each sees the latest state. Either
//! the unpark comes first (the owner's CAS fails and it does not sleep) or the owner's CAS comes
//! first (the unpark sees how it sleeps and wakes it that way).

use std::cell::Cell;
use std::ptr;
use std::time::Duration;

use crate::source::EventSource;
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::sync::{seeded, thread_local, Arc, ThreadPark};

/// Awake, with no wake-up pending.
const RUNNING: u8 = 0;
/// A wake-up is pending: the next sleep returns at once.
const NOTIFIED: u8 = 1;
/// Asleep (or about to be) on the thread park.
const PARKED: u8 = 2;
/// Blocked (or about to be) in the executor's source, as the poller.
const DRIVING: u8 = 3;

thread_local! {
    /// The parker this thread sleeps with now (set while it works for an executor).
    static IN_USE: Cell<*const Parker> = const { Cell::new(ptr::null()) };
}

/// How one thread sleeps and is woken; see the module docs.
#[derive(Debug)]
pub(crate) struct Parker {
    /// `RUNNING`, `NOTIFIED`, `PARKED` or `DRIVING`.
    state: AtomicU8,
    /// Where the owner parks without the poll token.
    thread: ThreadPark,
}

impl Parker {
    /// A parker for the calling thread, which becomes the parker it sleeps with until the
    /// returned guard drops.
    pub(crate) fn enter() -> (Arc<Self>, InUse) {
        let parker = Arc::new(Self::new());
        let previous = IN_USE.with(|in_use| in_use.replace(Arc::as_ptr(&parker)));
        (parker, InUse { previous })
    }

    /// A parker for the calling thread that is never its parker [in use](Self::enter): a host
    /// loop's, which never sleeps inside the source's `wait` (see `host.rs`).
    pub(crate) fn new() -> Self {
        Self { state: AtomicU8::new(RUNNING), thread: ThreadPark::for_current_thread() }
    }

    /// Whether this is the parker the calling thread sleeps with now.
    pub(crate) fn is_current(&self) -> bool {
        IN_USE.try_with(|in_use| ptr::eq(in_use.get(), self)).unwrap_or(false)
    }

    /// Announces that the owner is about to sleep, driving the source or not. Returns `false`
    /// (consuming it) if a wake-up is pending: then the owner must not sleep.
    pub(crate) fn prepare(&self, driving: bool) -> bool {
        let sleeping = if driving { DRIVING } else { PARKED };
        // Acquire on failure: a consumed wake-up publishes the waker's writes. Relaxed on
        // success: what an unparker must see of the sleeper is ordered by the executor's own
        // handshake (the idle list's lock and fences), not by this word.
        match self.state.compare_exchange(RUNNING, sleeping, Ordering::Relaxed, Ordering::Acquire) {
            Ok(_) => true,
            Err(_) => {
                self.finish();
                false
            }
        }
    }

    /// Sleeps on the thread park until [`unpark`](Self::unpark) or `timeout`, after a successful
    /// `prepare(false)`. May return early; the caller ends the sleep with [`finish`](Self::finish).
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        match timeout {
            None => {
                // Acquire: the unparker's writes are visible once its NOTIFIED is seen.
                while self.state.load(Ordering::Acquire) == PARKED {
                    self.thread.park();
                }
            }
            Some(timeout) => {
                // Under loom a timed park returns at once (see `crate::sync`); that is an early
                // return, which callers allow.
                if self.state.load(Ordering::Acquire) == PARKED {
                    self.thread.park_timeout(timeout);
                }
            }
        }
    }

    /// Ends a sleep (or a wake-up pending while running): back to `RUNNING`. Returns whether a
    /// wake-up had arrived.
    pub(crate) fn finish(&self) -> bool {
        // A swap, so a wake-up landing at this moment is consumed rather than overwritten
        // unseen. Acquire: the waker's writes are visible to the woken thread.
        self.state.swap(RUNNING, Ordering::Acquire) == NOTIFIED
    }

    /// Wakes the owner however it sleeps, or makes its next sleep return at once; `source` is
    /// the source it drives if it is the poller (that of the executor whose idle list or
    /// `block_on` this parker was found in).
    pub(crate) fn unpark(&self, source: &dyn EventSource) {
        // AcqRel: Release publishes the caller's writes (the work it queued) to the woken thread;
        // Acquire orders this wake after the owner's `prepare`, whose state it reads.
        match self.state.swap(NOTIFIED, Ordering::AcqRel) {
            PARKED if !seeded!(UnparkSkipsThreadUnpark) => self.thread.unpark(),
            // The thread blocked in `source.wait` needs the source's notify, unless it is this
            // very thread, dispatching inside that wait: it sees NOTIFIED when the wait returns.
            // The check is on the parker, not on "this thread is dispatching": a thread
            // dispatching executor A's source may run a waker of executor B, whose poller is
            // another thread blocked in B's source.
            DRIVING if !self.dispatching_here() && !seeded!(UnparkSkipsSourceNotify) => source.notify(),
            _ => {}
        }
    }

    /// Whether the owner is asleep without driving the source (a candidate to take the poll
    /// role, or the cheapest thread to wake for work).
    pub(crate) fn is_parked(&self) -> bool {
        // Relaxed: read under the idle list's lock, after the owner's `prepare` that the lock
        // orders before it; a parker changing state meanwhile is woken either way.
        self.state.load(Ordering::Relaxed) == PARKED
    }

    /// Whether a wake-up is pending: the owner was woken and is not up yet (or will not sleep).
    pub(crate) fn is_notified(&self) -> bool {
        // Acquire: read under the idle list's lock; an unpark on another thread is ordered
        // before it by that thread's later lock of the list (it falls asleep, or leaves), and on
        // this thread by program order. A wake-up that lands after the read is one the caller
        // will see at its own next sleep.
        self.state.load(Ordering::Acquire) == NOTIFIED
    }

    /// Whether the owner is blocked (or about to be) in the source as the poller.
    pub(crate) fn is_driving(&self) -> bool {
        // Relaxed: as in `is_parked`.
        self.state.load(Ordering::Relaxed) == DRIVING
    }
}

/// Restores the thread's previous parker (none, outside an executor) when dropped.
#[derive(Debug)]
pub(crate) struct InUse {
    previous: *const Parker,
}

impl Drop for InUse {
    fn drop(&mut self) {
        let _ = IN_USE.try_with(|in_use| in_use.set(self.previous));
    }
}

impl Parker {
    /// Whether the owner is the calling thread, inside its own wait as the poller.
    fn dispatching_here(&self) -> bool {
        #[cfg(reactor_loom)]
        if seeded!(UnparkTrustsAnyDispatcher) {
            return crate::executor::sleep::is_dispatching();
        }
        self.is_current()
    }
}
