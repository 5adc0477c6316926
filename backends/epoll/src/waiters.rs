//! The tasks waiting in one direction of a registered fd: any number of them, all woken by the
//! next event in that direction.
//!
//! A waiter is one of two kinds:
//!
//! - **A future** ([`Async::readable`](crate::Async::readable), `read_with`, ...) holds a
//!   [`WaiterKey`]: a slot in `keyed`, taken the first time the future waits and freed by its
//!   drop (`withdraw`). The slot holds the future's waker while it waits and is emptied (but kept)
//!   when an event wakes it, so polling again costs no allocation and a dropped future takes its
//!   waker with it. A slab, as async-io's `Direction::wakers`: registering and withdrawing are
//!   O(1) however many futures wait.
//! - **An anonymous `poll_*` caller** (`AsyncRead`/`AsyncWrite` for `&Async`, shared by any
//!   number of tasks) has no drop to withdraw with. Its waker goes into `anonymous`, one entry
//!   per task (a task polling again is recognised with [`Waker::will_wake`] and not stored
//!   twice), until the next event in the direction takes and wakes it. A task that stops polling
//!   without an event leaves its entry behind; so that such entries cannot pile up on an idle fd,
//!   once the list reaches `anonymous_limit` entries a new one wakes them all and empties it (the
//!   tasks still waiting poll again and re-register, the gone ones are dropped), and the limit
//!   doubles past the number woken, so live waiters are never woken in a loop.
//!
//! An event takes every waker of its direction into a [`Wakeups`], which the caller wakes after
//! releasing its lock. Waking all is what tokio's `ScheduledIo` and async-io do: which of the
//! woken tasks gets the data is decided by the operation each one retries, and those that find
//! nothing wait again.

#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // public only for the loom models

use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

/// `anonymous_limit` to begin with and never below: a few tasks sharing one `&Async` through
/// `AsyncRead` never cause a pruning wake-up.
const MIN_ANONYMOUS_LIMIT: usize = 16;

/// A future's place among the waiters of one direction: none until the future first waits, then
/// a slot it keeps until it is dropped, when it must be given back with `IoState::withdraw`.
#[derive(Debug, Default)]
pub struct WaiterKey(Option<usize>);

impl WaiterKey {
    /// Whether the future ever waited, so has a slot to withdraw.
    pub(crate) fn has_slot(&self) -> bool {
        self.0.is_some()
    }
}

/// The waiters of one direction.
#[derive(Debug)]
pub(crate) struct Waiters {
    /// Futures' slots by key: the waker of a future that waits, `None` for one that was woken
    /// (or has not waited yet) and for a free slot.
    keyed: Vec<Option<Waker>>,
    /// Keys of free slots of `keyed`.
    free: Vec<usize>,
    /// How many slots of `keyed` hold a waker, so an event finds none without a scan.
    waiting: usize,
    /// Wakers of anonymous `poll_*` callers, one per task.
    anonymous: Vec<Waker>,
    /// The length at which the next new anonymous entry prunes the list first.
    anonymous_limit: usize,
}

impl Default for Waiters {
    fn default() -> Self {
        Self {
            keyed: Vec::new(),
            free: Vec::new(),
            waiting: 0,
            anonymous: Vec::new(),
            anonymous_limit: MIN_ANONYMOUS_LIMIT,
        }
    }
}

impl Waiters {
    /// Stores `waker` as the waiter `key` (a future), or as an anonymous waiter (`None`).
    ///
    /// Returns the waker it replaced (the future's previous one, polled from another context), to
    /// be dropped after the lock is released. Wakers of a pruned anonymous list go into `wakeups`.
    pub(crate) fn register(
        &mut self,
        waker: &Waker,
        key: Option<&mut WaiterKey>,
        wakeups: &mut Wakeups,
    ) -> Option<Waker> {
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::OneWaiterPerDirection) {
            // The defect of issue 11: one slot per direction, the newest waiter displacing the
            // others without waking them.
            self.keyed.iter_mut().for_each(|slot| drop(slot.take()));
            self.waiting = 0;
            self.anonymous.clear();
        }
        let Some(key) = key else {
            if !self.anonymous.iter().any(|stored| stored.will_wake(waker)) {
                if self.anonymous.len() >= self.anonymous_limit {
                    self.anonymous_limit = (2 * (self.anonymous.len() + 1)).max(MIN_ANONYMOUS_LIMIT);
                    wakeups.extend(self.anonymous.drain(..));
                }
                self.anonymous.push(waker.clone());
            }
            return None;
        };
        let index = *key.0.get_or_insert_with(|| match self.free.pop() {
            Some(index) => index,
            None => {
                self.keyed.push(None);
                self.keyed.len() - 1
            }
        });
        let slot = &mut self.keyed[index];
        match slot {
            Some(stored) if stored.will_wake(waker) => None,
            Some(stored) => Some(mem::replace(stored, waker.clone())),
            None => {
                *slot = Some(waker.clone());
                self.waiting += 1;
                None
            }
        }
    }

    /// Takes every waiter's waker into `wakeups` (futures keep their keys).
    pub(crate) fn take_all(&mut self, wakeups: &mut Wakeups) {
        if self.waiting > 0 {
            let waiting = mem::take(&mut self.waiting);
            wakeups.extend(self.keyed.iter_mut().filter_map(Option::take).take(waiting));
        }
        wakeups.extend(self.anonymous.drain(..));
    }

    /// Frees the slot of `key`, if it has one; returns its waker, if it was waiting, to be dropped
    /// after the lock is released.
    pub(crate) fn withdraw(&mut self, key: &mut WaiterKey) -> Option<Waker> {
        let index = key.0.take()?;
        self.free.push(index);
        let waker = self.keyed[index].take();
        self.waiting -= usize::from(waker.is_some());
        waker
    }

    /// How many wakers are stored (futures waiting plus anonymous entries).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting + self.anonymous.len()
    }
}

/// Wakers taken out of waiter sets under their lock, to be woken once it is released.
///
/// Holds the first waker inline, so waking one task allocates nothing. Dropping it wakes what it
/// still holds: a waker that panics in [`wake`](Self::wake) does not leave the others asleep.
#[derive(Debug, Default)]
#[must_use = "the wakers must be woken"]
pub(crate) struct Wakeups {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakeups {
    fn push(&mut self, waker: Waker) {
        match &self.first {
            None => self.first = Some(waker),
            Some(_) => self.rest.push(waker),
        }
    }

    fn extend(&mut self, wakers: impl Iterator<Item = Waker>) {
        wakers.for_each(|waker| self.push(waker));
    }

    fn pop(&mut self) -> Option<Waker> {
        self.rest.pop().or_else(|| self.first.take())
    }

    /// Wakes every waker, each once. A panicking waker's panic propagates, after the others have
    /// been woken (by the drop).
    pub(crate) fn wake(mut self) {
        while let Some(waker) = self.pop() {
            waker.wake();
        }
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        // Non-empty only while unwinding from a panicking waker in `wake` (or if `wake` was never
        // called): the rest are still woken, each caught, since a second panic during the unwind
        // would abort.
        while let Some(waker) = self.pop() {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::{WaiterKey, Waiters, Wakeups, MIN_ANONYMOUS_LIMIT};

    /// A waker target counting its wakes; a panicking one panics on each.
    #[derive(Default)]
    struct Task {
        wakes: AtomicUsize,
        panics: bool,
    }

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            assert!(!self.panics, "a waker that panics");
        }
    }

    fn task() -> (Arc<Task>, Waker) {
        let task = Arc::new(Task::default());
        (task.clone(), Waker::from(task))
    }

    fn wakes(task: &Task) -> usize {
        task.wakes.load(Ordering::SeqCst)
    }

    fn register(waiters: &mut Waiters, waker: &Waker, key: Option<&mut WaiterKey>) -> Wakeups {
        let mut wakeups = Wakeups::default();
        drop(waiters.register(waker, key, &mut wakeups));
        wakeups
    }

    #[test]
    fn an_event_wakes_every_future_and_every_anonymous_task_once() {
        let mut waiters = Waiters::default();
        let tasks: Vec<_> = (0..4).map(|_| task()).collect();
        let mut keys = [WaiterKey::default(), WaiterKey::default()];
        for ((_, waker), key) in tasks[..2].iter().zip(&mut keys) {
            register(&mut waiters, waker, Some(key)).wake();
            register(&mut waiters, waker, Some(key)).wake(); // polled again: still one entry
        }
        for (_, waker) in &tasks[2..] {
            register(&mut waiters, waker, None).wake();
            register(&mut waiters, waker, None).wake();
        }
        assert_eq!(waiters.len(), 4);
        let mut wakeups = Wakeups::default();
        waiters.take_all(&mut wakeups);
        wakeups.wake();
        assert!(tasks.iter().all(|(task, _)| wakes(task) == 1), "each woken exactly once");
        assert_eq!(waiters.len(), 0);
        assert!(keys.iter().all(|key| key.0.is_some()), "futures keep their slots until dropped");
    }

    #[test]
    fn a_withdrawn_future_releases_its_waker_and_its_slot_is_reused() {
        let mut waiters = Waiters::default();
        let (gone, gone_waker) = task();
        let (stays, stays_waker) = task();
        let (mut first, mut second) = (WaiterKey::default(), WaiterKey::default());
        register(&mut waiters, &gone_waker, Some(&mut first)).wake();
        register(&mut waiters, &stays_waker, Some(&mut second)).wake();
        assert!(waiters.withdraw(&mut first).is_some());
        assert_eq!(Arc::strong_count(&gone), 2, "only the test's waker is left");
        let mut third = WaiterKey::default();
        register(&mut waiters, &gone_waker, Some(&mut third)).wake();
        assert_eq!(third.0, Some(0), "the freed slot is reused");
        assert!(waiters.withdraw(&mut third).is_some());
        let mut wakeups = Wakeups::default();
        waiters.take_all(&mut wakeups);
        wakeups.wake();
        assert_eq!((wakes(&gone), wakes(&stays)), (0, 1));
    }

    #[test]
    fn waiters_that_only_poll_again_never_wake_each_other() {
        let mut waiters = Waiters::default();
        let tasks: Vec<_> = (0..3 * MIN_ANONYMOUS_LIMIT).map(|_| task()).collect();
        let mut keys: Vec<_> = tasks.iter().map(|_| WaiterKey::default()).collect();
        for _ in 0..3 {
            for ((_, waker), key) in tasks.iter().zip(&mut keys) {
                register(&mut waiters, waker, Some(key)).wake();
            }
        }
        assert!(tasks.iter().all(|(task, _)| wakes(task) == 0));
    }

    #[test]
    fn anonymous_entries_left_behind_are_pruned_without_waking_live_tasks_in_a_loop() {
        let mut waiters = Waiters::default();
        // Tasks that poll once and go away, with no event in between.
        let gone: Vec<_> = (0..=MIN_ANONYMOUS_LIMIT).map(|_| task()).collect();
        for (_, waker) in &gone {
            register(&mut waiters, waker, None).wake();
        }
        assert!(gone[..MIN_ANONYMOUS_LIMIT].iter().all(|(task, _)| wakes(task) == 1), "pruned");
        assert_eq!(waiters.len(), 1, "only the newest entry is left");
        drop(gone);
        // Many live tasks, each polling again whenever it is woken: every pruning doubles the
        // limit past the list, so they settle after a few prunings.
        let live: Vec<_> = (0..4 * MIN_ANONYMOUS_LIMIT).map(|_| task()).collect();
        let mut polls = vec![0; live.len()];
        for round in 0.. {
            assert!(round < 100, "live anonymous waiters keep waking each other");
            let mut polled = false;
            for ((task, waker), polls) in live.iter().zip(&mut polls) {
                if *polls <= wakes(task) {
                    register(&mut waiters, waker, None).wake();
                    *polls += 1;
                    polled = true;
                }
            }
            if !polled {
                break;
            }
        }
        let woken: usize = live.iter().map(|(task, _)| wakes(task)).sum();
        assert!(woken <= 2 * live.len(), "pruning woke live tasks {woken} times");
    }

    #[test]
    fn a_panicking_waker_does_not_leave_the_others_asleep() {
        let panicking = Arc::new(Task { panics: true, ..Task::default() });
        let others: Vec<_> = (0..3).map(|_| task()).collect();
        let mut wakeups = Wakeups::default();
        wakeups.push(others[0].1.clone());
        wakeups.push(Waker::from(panicking.clone()));
        wakeups.extend(others[1..].iter().map(|(_, waker)| waker.clone()));
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wakeups.wake())).is_err());
        assert!(others.iter().all(|(task, _)| wakes(task) == 1));
    }
}
