//! The tasks waiting on a registered fd: any number of them in each direction, all woken by the
//! next event in that direction.
//!
//! A waiter is one of two kinds:
//!
//! - **A future** (`Async::readable`, `read_with`, ... of `reactor-net`) holds a
//!   [`WaiterKey`]: a slot taken the first time the future waits and freed by its drop
//!   (`withdraw`). The slot holds the future's waker while it waits and is emptied (but kept) when
//!   an event wakes it, so polling again costs no allocation and a dropped future takes its waker
//!   with it. Registering and withdrawing are O(1) however many futures wait.
//! - **An anonymous `poll_*` caller** (`AsyncRead`/`AsyncWrite` for `&Async`, shared by any
//!   number of tasks) has no drop to withdraw with. Its waker is kept, once per task (a task
//!   polling again is recognised with [`Waker::will_wake`] and not stored twice), until the next
//!   event in the direction takes and wakes it. A task that stops polling without an event leaves
//!   its entry behind; so that such entries cannot pile up on an idle fd, once there are
//!   `anonymous_limit` of them a new one wakes them all and drops them (the tasks still waiting
//!   poll again and re-register, the gone ones are dropped), and the limit doubles past the number
//!   woken, so live waiters are never woken in a loop.
//!
//! # Memory: one waiter per direction inline, the others spilled
//!
//! Every registered fd pays for its waiter sets, and nearly always at most one task waits in a
//! direction (a connection's reader, its writer). So the first waiter of each direction is held
//! inline, in a waker slot and a one-byte holder tag, with no allocation. Only when a second one
//! waits beside it are the sets of async-io's `Direction::wakers` (a slab of futures' slots, a
//! list of anonymous wakers) allocated, for both directions in one box (`Spilled`), which is kept
//! from then on, as a `Vec` keeps its capacity. Until then both directions cost 48 bytes, and the
//! tags share their padding with the readiness bits of `IoState`.
//!
//! The inline slot is taken by whichever waiter arrives while it is free, future or anonymous.
//! A future holds it until it is withdrawn, an anonymous caller until the next event: the key of
//! a future says which of the two places holds its waker, and nothing ever moves between them,
//! so a future's key stays valid whatever the others do. The spilled sets may hold waiters while
//! the inline slot is free (its holder left): an event always looks at both.
//!
//! An event takes every waker of its direction into a [`Wakeups`], which the caller wakes after
//! releasing its lock. Waking all is what tokio's `ScheduledIo` and async-io do: which of the
//! woken tasks gets the data is decided by the operation each one retries, and those that find
//! nothing wait again.

use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use super::Readiness;

/// `anonymous_limit` to begin with and never below: a few tasks sharing one `&Async` through
/// `AsyncRead` never cause a pruning wake-up.
const MIN_ANONYMOUS_LIMIT: usize = 16;

/// A future's place among the waiters of one direction: none until the future first waits, then
/// a slot it keeps until it is dropped, when it must be given back with
/// [`IoState::withdraw`](super::IoState::withdraw).
#[derive(Debug, Default)]
pub struct WaiterKey(Option<Slot>);

impl WaiterKey {
    /// Whether the future ever waited, so has a slot to withdraw.
    pub(crate) fn has_slot(&self) -> bool {
        self.0.is_some()
    }
}

/// Where a future's waker is kept, for as long as the future holds its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// The inline slot of its direction.
    Inline,
    /// `Spilled::keyed[index]` of its direction.
    Spilled(usize),
}

/// Who holds the inline slot of a direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Holder {
    /// Nobody: the next waiter takes it.
    #[default]
    Free,
    /// An anonymous caller, whose waker is there, until the next event.
    Anonymous,
    /// The future whose key is `Slot::Inline`, until it is withdrawn; its waker is there while it
    /// waits and not after an event took it.
    Future,
}

/// The waiters of both directions of one fd (index 0 reads, 1 writes).
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// The waker of the waiter holding each direction's inline slot (see `holders`).
    inline: [Option<Waker>; 2],
    /// Who holds each inline slot.
    holders: [Holder; 2],
    /// The waiters that found the inline slot of their direction taken: allocated when the first
    /// of them arrives, in either direction.
    spilled: Option<Box<[Spilled; 2]>>,
}

/// The waiters of a direction beyond the inline one.
#[derive(Debug)]
struct Spilled {
    /// Futures' slots by key: the waker of a future that waits, `None` for one that was woken
    /// and for a free slot.
    keyed: Vec<Option<Waker>>,
    /// Keys of free slots of `keyed`.
    free: Vec<usize>,
    /// How many slots of `keyed` hold a waker, so an event finds none without a scan.
    waiting: usize,
    /// Wakers of anonymous `poll_*` callers, one per task (the inline one aside).
    anonymous: Vec<Waker>,
    /// The number of anonymous entries (the inline one included) at which the next new one prunes
    /// them first.
    anonymous_limit: usize,
}

impl Default for Spilled {
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
    /// Stores `waker` as the waiter `key` (a future) in `direction`, or as an anonymous waiter
    /// (`None`).
    ///
    /// Returns the waker it replaced (the future's previous one, polled from another context), to
    /// be dropped after the lock is released. Wakers of pruned anonymous entries go into
    /// `wakeups`.
    pub(crate) fn register(
        &mut self,
        direction: Readiness,
        waker: &Waker,
        key: Option<&mut WaiterKey>,
        wakeups: &mut Wakeups,
    ) -> Option<Waker> {
        let mut direction = self.direction(direction);
        #[cfg(reactor_loom)]
        if crate::sync::seeded!(OneWaiterPerDirection) {
            // The defect of issue 11: one slot per direction, the newest waiter displacing the
            // others without waking them.
            drop(direction.inline.take());
            if *direction.holder == Holder::Anonymous {
                *direction.holder = Holder::Free;
            }
            if let Some(spilled) = direction.spilled() {
                spilled.keyed.iter_mut().for_each(|slot| drop(slot.take()));
                spilled.waiting = 0;
                spilled.anonymous.clear();
            }
        }
        match key {
            Some(key) => direction.register_future(waker, key),
            None => {
                direction.register_anonymous(waker, wakeups);
                None
            }
        }
    }

    /// Takes the waker of every waiter in `direction` into `wakeups` (futures keep their keys).
    pub(crate) fn take_all(&mut self, direction: Readiness, wakeups: &mut Wakeups) {
        self.direction(direction).take_all(wakeups);
    }

    /// Frees the slot of `key` in `direction`, if it has one; returns its waker, if it was
    /// waiting, to be dropped after the lock is released.
    pub(crate) fn withdraw(&mut self, direction: Readiness, key: &mut WaiterKey) -> Option<Waker> {
        self.direction(direction).withdraw(key)
    }

    fn direction(&mut self, direction: Readiness) -> Direction<'_> {
        let index = usize::from(direction == Readiness::WRITABLE);
        Direction {
            inline: &mut self.inline[index],
            holder: &mut self.holders[index],
            spilled: &mut self.spilled,
            index,
        }
    }

    /// How many wakers `direction` holds (futures waiting plus anonymous entries).
    #[cfg(test)]
    pub(crate) fn len(&mut self, direction: Readiness) -> usize {
        let mut direction = self.direction(direction);
        let inline = usize::from(direction.inline.is_some());
        inline + direction.spilled().map_or(0, |spilled| spilled.waiting + spilled.anonymous.len())
    }
}

/// One direction of a [`Waiters`], borrowed.
struct Direction<'a> {
    inline: &'a mut Option<Waker>,
    holder: &'a mut Holder,
    /// The spilled sets of both directions; this one's is at `index`.
    spilled: &'a mut Option<Box<[Spilled; 2]>>,
    index: usize,
}

impl Direction<'_> {
    /// The spilled waiters of the direction, if it was ever allocated.
    fn spilled(&mut self) -> Option<&mut Spilled> {
        Some(&mut self.spilled.as_mut()?[self.index])
    }

    /// The spilled waiters of the direction, allocated by the first call.
    fn spilled_or_new(&mut self) -> &mut Spilled {
        &mut self.spilled.get_or_insert_with(Box::default)[self.index]
    }

    fn register_future(&mut self, waker: &Waker, key: &mut WaiterKey) -> Option<Waker> {
        let slot = *key.0.get_or_insert_with(|| {
            if *self.holder == Holder::Free {
                *self.holder = Holder::Future;
                Slot::Inline
            } else {
                Slot::Spilled(self.spilled_or_new().take_slot())
            }
        });
        let (stored, waiting) = match slot {
            Slot::Inline => (&mut *self.inline, None),
            Slot::Spilled(index) => {
                let spilled = self.spilled_or_new();
                (&mut spilled.keyed[index], Some(&mut spilled.waiting))
            }
        };
        match stored {
            Some(stored) if stored.will_wake(waker) => None,
            Some(stored) => Some(mem::replace(stored, waker.clone())),
            None => {
                *stored = Some(waker.clone());
                if let Some(waiting) = waiting {
                    *waiting += 1;
                }
                None
            }
        }
    }

    fn register_anonymous(&mut self, waker: &Waker, wakeups: &mut Wakeups) {
        let inline_is_anonymous = *self.holder == Holder::Anonymous;
        let inline = self.inline.as_ref().filter(|_| inline_is_anonymous);
        let spilled = self.spilled.as_deref().map_or(&[][..], |spilled| &spilled[self.index].anonymous[..]);
        if inline.into_iter().chain(spilled).any(|stored| stored.will_wake(waker)) {
            return; // the same task, polling again
        }
        let index = self.index;
        if let Some(spilled) = self.spilled.as_deref_mut().map(|spilled| &mut spilled[index]) {
            let entries = spilled.anonymous.len() + usize::from(inline_is_anonymous);
            if entries >= spilled.anonymous_limit {
                spilled.anonymous_limit = (2 * (entries + 1)).max(MIN_ANONYMOUS_LIMIT);
                wakeups.extend(spilled.anonymous.drain(..));
                if inline_is_anonymous {
                    wakeups.extend(self.inline.take().into_iter());
                    *self.holder = Holder::Free;
                }
            }
        }
        if *self.holder == Holder::Free {
            *self.holder = Holder::Anonymous;
            *self.inline = Some(waker.clone());
        } else {
            self.spilled_or_new().anonymous.push(waker.clone());
        }
    }

    fn take_all(&mut self, wakeups: &mut Wakeups) {
        let inline = self.inline.take();
        #[cfg(reactor_loom)]
        let inline_waited = inline.is_some();
        wakeups.extend(inline.into_iter());
        if *self.holder == Holder::Anonymous {
            *self.holder = Holder::Free;
        }
        #[cfg(reactor_loom)]
        if !inline_waited && crate::sync::seeded!(EventSkipsSpilledWaiters) {
            // As if waiters spilled only beside a waiting inline one: wrong once that one has
            // been withdrawn (or woken) and the spilled ones still wait.
            return;
        }
        if let Some(spilled) = self.spilled() {
            if spilled.waiting > 0 {
                let waiting = mem::take(&mut spilled.waiting);
                wakeups.extend(spilled.keyed.iter_mut().filter_map(Option::take).take(waiting));
            }
            wakeups.extend(spilled.anonymous.drain(..));
        }
    }

    fn withdraw(&mut self, key: &mut WaiterKey) -> Option<Waker> {
        match key.0.take()? {
            Slot::Inline => {
                debug_assert_eq!(*self.holder, Holder::Future, "a key of an inline slot it does not hold");
                *self.holder = Holder::Free;
                self.inline.take()
            }
            Slot::Spilled(index) => {
                let spilled = self.spilled_or_new();
                spilled.free.push(index);
                let waker = spilled.keyed[index].take();
                spilled.waiting -= usize::from(waker.is_some());
                waker
            }
        }
    }
}

impl Spilled {
    /// A free slot of `keyed`, reused or added.
    fn take_slot(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.keyed.push(None);
            self.keyed.len() - 1
        })
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

    use super::Readiness;
    use super::{Slot, WaiterKey, Waiters, Wakeups, MIN_ANONYMOUS_LIMIT};

    /// The direction the tests wait in, unless they say otherwise.
    const READ: Readiness = Readiness::READABLE;

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
        drop(waiters.register(READ, waker, key, &mut wakeups));
        wakeups
    }

    /// Wakes what `waiters` holds, as an event does.
    fn event(waiters: &mut Waiters) {
        let mut wakeups = Wakeups::default();
        waiters.take_all(READ, &mut wakeups);
        wakeups.wake();
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
        assert_eq!(waiters.len(READ), 4);
        event(&mut waiters);
        assert!(tasks.iter().all(|(task, _)| wakes(task) == 1), "each woken exactly once");
        assert_eq!(waiters.len(READ), 0);
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
        assert!(waiters.withdraw(READ, &mut first).is_some());
        assert_eq!(Arc::strong_count(&gone), 2, "only the test's waker is left");
        let mut third = WaiterKey::default();
        register(&mut waiters, &gone_waker, Some(&mut third)).wake();
        assert_eq!(third.0, Some(Slot::Inline), "the freed inline slot is reused");
        assert!(waiters.withdraw(READ, &mut third).is_some());
        event(&mut waiters);
        assert_eq!((wakes(&gone), wakes(&stays)), (0, 1));
    }

    #[test]
    fn one_waiter_at_a_time_never_allocates_a_spilled_set() {
        let mut waiters = Waiters::default();
        let (reader, reader_waker) = task();
        let mut key = WaiterKey::default();
        for _ in 0..3 {
            // A reader through `AsyncRead` (anonymous), polling twice before the event.
            register(&mut waiters, &reader_waker, None).wake();
            register(&mut waiters, &reader_waker, None).wake();
            event(&mut waiters);
            // A `read_with` future, woken, polled again, woken, then done (dropped).
            for _ in 0..2 {
                register(&mut waiters, &reader_waker, Some(&mut key)).wake();
                event(&mut waiters);
            }
            assert!(waiters.withdraw(READ, &mut key).is_none(), "woken, so no waker left");
            // One dropped before any event.
            register(&mut waiters, &reader_waker, Some(&mut key)).wake();
            assert!(waiters.withdraw(READ, &mut key).is_some());
        }
        assert_eq!(wakes(&reader), 9);
        assert!(waiters.spilled.is_none(), "one waiter at a time stays inline");
        let mut second = WaiterKey::default();
        register(&mut waiters, &reader_waker, Some(&mut key)).wake();
        register(&mut waiters, &reader_waker, Some(&mut second)).wake();
        assert!(waiters.spilled.is_some(), "two futures at once spill");
    }

    #[test]
    fn spilled_waiters_are_woken_after_the_inline_one_left_and_a_newcomer_took_its_place() {
        let mut waiters = Waiters::default();
        let tasks: Vec<_> = (0..4).map(|_| task()).collect();
        let (mut inline, mut spilled, mut newcomer) = Default::default();
        register(&mut waiters, &tasks[0].1, Some(&mut inline)).wake();
        register(&mut waiters, &tasks[1].1, Some(&mut spilled)).wake();
        register(&mut waiters, &tasks[2].1, None).wake(); // anonymous, spilled
        assert!(waiters.withdraw(READ, &mut inline).is_some());
        event(&mut waiters);
        assert_eq!(tasks.iter().map(|(task, _)| wakes(task)).collect::<Vec<_>>(), [0, 1, 1, 0]);
        // Both wait again; a newcomer takes the free inline slot, then the inline one leaves.
        register(&mut waiters, &tasks[1].1, Some(&mut spilled)).wake();
        register(&mut waiters, &tasks[3].1, Some(&mut newcomer)).wake();
        assert_eq!(newcomer.0, Some(Slot::Inline));
        register(&mut waiters, &tasks[2].1, None).wake();
        event(&mut waiters);
        assert_eq!(tasks.iter().map(|(task, _)| wakes(task)).collect::<Vec<_>>(), [0, 2, 2, 1]);
        assert!(
            waiters.withdraw(READ, &mut newcomer).is_none() && waiters.withdraw(READ, &mut spilled).is_none()
        );
        assert_eq!(waiters.len(READ), 0);
    }

    #[test]
    fn an_anonymous_caller_does_not_take_the_inline_slot_of_a_woken_future() {
        let mut waiters = Waiters::default();
        let (future, future_waker) = task();
        let (reader, reader_waker) = task();
        let mut key = WaiterKey::default();
        register(&mut waiters, &future_waker, Some(&mut key)).wake();
        event(&mut waiters); // the future is woken but not yet polled: it keeps its slot
        register(&mut waiters, &reader_waker, None).wake();
        register(&mut waiters, &future_waker, Some(&mut key)).wake();
        assert!(waiters.withdraw(READ, &mut key).is_some(), "the future's own waker");
        event(&mut waiters);
        assert_eq!((wakes(&future), wakes(&reader)), (1, 1), "the anonymous waker was kept");
    }

    #[test]
    fn a_reader_and_a_writer_wait_inline_and_each_event_wakes_its_own_direction() {
        let mut waiters = Waiters::default();
        let (reader, reader_waker) = task();
        let (writers, writer_wakers): (Vec<_>, Vec<_>) = (0..2).map(|_| task()).unzip();
        let mut wakeups = Wakeups::default();
        drop(waiters.register(READ, &reader_waker, None, &mut wakeups));
        drop(waiters.register(Readiness::WRITABLE, &writer_wakers[0], None, &mut wakeups));
        assert!(waiters.spilled.is_none(), "one waiter per direction stays inline");
        // A second writer spills the write direction; the read direction is left as it was.
        drop(waiters.register(Readiness::WRITABLE, &writer_wakers[1], None, &mut wakeups));
        assert_eq!((waiters.len(READ), waiters.len(Readiness::WRITABLE)), (1, 2));
        waiters.take_all(Readiness::WRITABLE, &mut wakeups);
        wakeups.wake();
        assert_eq!(wakes(&reader), 0);
        assert!(writers.iter().all(|writer| wakes(writer) == 1));
        event(&mut waiters);
        assert_eq!(wakes(&reader), 1);
    }

    #[test]
    fn both_directions_hold_one_waiter_each_inline_in_48_bytes() {
        // 16 for each waker, 8 for the spilled box, the two holder tags in the padding.
        #[cfg(target_pointer_width = "64")]
        assert!(std::mem::size_of::<Waiters>() <= 48, "{} bytes", std::mem::size_of::<Waiters>());
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
        assert_eq!(waiters.len(READ), 1, "only the newest entry is left");
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
