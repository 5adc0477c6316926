//! Paused time: when a source's clock stands still until the executor is idle (see
//! [`EventSource::pauses_time`](crate::EventSource::pauses_time)), the executor tells it when
//! every one of its threads is idle, and the source jumps to its next deadline.
//!
//! "Every thread idle" means every thread of the executor (workers, and threads inside its
//! `block_on`) is on the idle list, so no task runs and no picked thread is on its way up; the
//! poller has just dispatched whatever the source had ready without blocking and found nothing,
//! and no task is queued. Then nothing can happen any more but through time (or through a
//! thread outside the executor, which paused time cannot know about), so moving the clock does
//! not change what a test observes: results are the same on any number of workers.
//!
//! A thread on the idle list may already have been woken (a `block_on` whose future's waker
//! ran) without being up yet: it counts as busy, and so does the poller itself when its own
//! wake-up is pending. The check and the jump are one step under the idle list's lock, which a
//! thread joining the executor (a `block_on` starting) and a thread falling asleep take too, so
//! neither a new thread's first timer nor a wake-up given just before falling asleep is missed.
//!
//! Who notices: the poller checks before it blocks; a thread that falls asleep last, beside a
//! poller already blocked, wakes the poller (`enter_idle`), and so does a thread leaving the
//! executor (`leave`). Both read the list and the thread count under the list's lock, so the
//! last of them to change either sees everybody asleep or is seen by the next to check.

use std::io;
use std::time::Duration;

use crate::executor::parker::Parker;
use crate::executor::shared::Shared;
use crate::executor::sleep::IdleList;
use crate::sync::seeded;

/// Whether every thread counted in `idle` is on it, none of them with a wake-up pending.
///
/// A listed thread can have been woken without being picked: a `block_on` thread whose future's
/// waker ran (an I/O event, a task it awaits completing) stays on the list until it is up and
/// takes itself off. It has work, so time must not move; the poller that ran the waker, or a
/// thread that ran it and then fell asleep under the list's lock, sees its pending wake-up here.
/// The poller's own wake-up does not count: `wait_idle` looks at it after moving time.
fn all_idle(idle: &IdleList) -> bool {
    idle.parkers.len() == idle.threads
        && (seeded!(WokenThreadCountedAsIdle)
            || !idle.parkers.iter().any(|listed| listed.is_notified() && !listed.is_current()))
}

impl Shared {
    /// Whether every thread of the executor is on the idle list, none of them with a wake-up
    /// pending.
    pub(super) fn all_idle(&self) -> bool {
        all_idle(&self.sleepers.idle.lock())
    }

    /// The poller's wait while every thread is idle: dispatch what is ready without blocking;
    /// if that was nothing, move paused time to the next deadline (the caller's next wait fires
    /// it), or, with no deadline pending, block as usual for `timeout`.
    ///
    /// The zero-timeout wait may consume a notify meant to end this very sleep (a thread that
    /// fell asleep last, or a producer that picked the poller): the poller's state then says
    /// so, and it must not block after all.
    pub(super) fn wait_idle(&self, parker: &Parker, timeout: Option<Duration>) -> io::Result<()> {
        if self.wait_source(Some(Duration::ZERO))? > 0 || self.has_work() {
            return Ok(());
        }
        // Checked and moved under the idle list's lock, which a thread joining the executor
        // takes too: otherwise a `block_on` starting between the check and the move could arm a
        // timer (a timeout around its first I/O) that time then jumps over before that thread
        // was ever idle.
        let advanced = if seeded!(IdleCheckApartFromAdvance) {
            // The bug: check, let go of the list, then move time on what was seen.
            if !self.all_idle() || !parker.is_driving() {
                return Ok(());
            }
            self.source.advance_idle_time()
        } else {
            let idle = self.sleepers.idle.lock();
            // Woken itself (picked for work, or a `block_on` poller whose own future's waker
            // ran): it has work, so time must not move. Looked at under the lock: a thread that
            // woke it (a task opening what its `block_on` awaits) and then fell asleep did so
            // before taking the lock, so its wake-up is seen here.
            if !all_idle(&idle) {
                return Ok(());
            }
            // The model build's seeded bugs that skip this look (an array, not `!a && !b`: both
            // are constant `false` in ordinary builds, which clippy would have simplified away).
            let skipped_by_seeded_bug = [seeded!(IdleWaitIgnoresItsWakeUp), seeded!(PollerCountsItselfIdle)];
            if !parker.is_driving() && skipped_by_seeded_bug == [false, false] {
                return Ok(());
            }
            self.source.advance_idle_time()
        };
        if advanced || (!parker.is_driving() && !seeded!(IdleWaitIgnoresItsWakeUp)) {
            return Ok(());
        }
        self.wait_source(timeout).map(drop)
    }

    /// Counts a thread that starts running tasks for the executor (a worker, or a `block_on`).
    /// Only with paused time: nothing else needs the count.
    pub(crate) fn thread_joins(&self) {
        if self.pauses_time {
            self.sleepers.idle.lock().threads += 1;
        }
    }

    /// Counts a thread that stops running tasks for the executor; if all that are left are
    /// idle beside a blocked poller, wakes the poller to move paused time.
    pub(crate) fn thread_leaves(&self) {
        if !self.pauses_time {
            return;
        }
        let poller = {
            let mut idle = self.sleepers.idle.lock();
            idle.threads -= 1;
            (!idle.parkers.is_empty() && idle.parkers.len() == idle.threads)
                .then(|| idle.parkers.iter().find(|listed| listed.is_driving()).cloned())
                .flatten()
        };
        if let Some(poller) = poller {
            poller.unpark(&*self.source);
        }
    }
}
