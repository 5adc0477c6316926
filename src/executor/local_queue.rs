//! The per-worker run queue: bounded, one owner pushing and popping, any thread stealing half.
//!
//! Each worker owns a [`LocalQueue`] and hands out [`Stealer`]s to the others. The owner pushes
//! at the tail and pops at the head (FIFO); an idle worker steals half of a victim's tasks in one
//! go. A push to a full queue moves half of it, plus the new task, to the executor's injector
//! ([`Overflow`]) in a single batch, so a busy worker touches the shared injector once per
//! `CAPACITY / 2` tasks rather than once per task.
//!
//! The algorithm is the one of tokio's multi-thread scheduler queue
//! (`tokio/src/runtime/scheduler/multi_thread/queue.rs`), itself after Go's `runqsteal`: a ring
//! of `CAPACITY` slots, a `tail` that only the owner writes, and a packed head of two positions
//! that a single compare-and-swap moves (see [`Head`]). Pushing costs one load and one store, and
//! popping one load and one compare-and-swap.
//!
//! # Who owns a slot
//!
//! Positions are free-running `u32` counters; position `p` lives in slot `p % CAPACITY`. With
//! `steal` and `real` (the two halves of the head) and `tail`, in wrapping arithmetic always
//! `steal <= real <= tail <= steal + CAPACITY`, and:
//!
//! - `real..tail` holds the available tasks. The owner's pop and a stealer's claim take them from
//!   `real`, each by a compare-and-swap of the head, so a task is taken by exactly one thread.
//! - `steal..real` is the batch a stealer has claimed and is still moving out. It stays occupied
//!   until that stealer sets `steal = real`; only one steal runs at a time, so it is contiguous.
//! - the other slots (`tail..steal + CAPACITY`) are empty and belong to the owner, the only thread
//!   that writes tasks into this queue.
//!
//! # Memory orderings
//!
//! Every write to the head is a read-modify-write, so an `Acquire` load of the head synchronises
//! with every `Release` write before it in the head's modification order (a release sequence).
//! Three pairs carry the protocol:
//!
//! - **tail, Release → Acquire**: the owner writes a task, then stores `tail`; a stealer loads
//!   `tail` before reading the tasks below it.
//! - **head after a steal, Release → Acquire**: a stealer reads its batch, then sets `steal`; the
//!   owner loads the head before it writes into any slot, so it never overwrites a task that is
//!   still being read.
//! - **head, Release → Acquire, on every head write** (pop, overflow, claim, end of a steal):
//!   each thread that moves `real` has already seen `tail` at or past it, so a stealer that loads
//!   the head and then `tail` never sees `real` beyond `tail`.
//!
//! Between its claim and the end of its steal a stealer only moves tasks bit for bit: no user
//! code runs and nothing can panic, so a victim is never left marked as being stolen from.

// The items are `pub` so that `reactor::loom_internals` can re-export them for the loom models;
// in other builds the module is private, which makes them crate-private in effect.
#![cfg_attr(not(reactor_loom), allow(unreachable_pub))]
// Used by the executor, which lands on `main` separately; remove this once it is merged.

use std::cell::Cell;
use std::fmt;
use std::iter;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crate::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::sync::atomic::{AtomicU32, AtomicU64};
use crate::sync::{Arc, UnsafeCell};

#[cfg(reactor_loom)]
use crate::sync::seeded_bug::{self, Bug};

/// How many tasks a local queue holds before it overflows.
///
/// 4 in loom builds, so that the models reach wrap-around and overflow in few steps.
pub const CAPACITY: usize = if cfg!(reactor_loom) { 4 } else { 256 };

// Slot indexing masks positions, and distances between positions must fit in `u32` with room
// to tell "full" from "empty".
const _: () = assert!(CAPACITY.is_power_of_two() && CAPACITY <= 1 << 16);

/// `CAPACITY` as a distance between two positions.
const CAPACITY_U32: u32 = CAPACITY as u32;

/// Where a full local queue sends its overflow: the executor's injector.
pub trait Overflow<T> {
    /// Takes every task of `tasks`, oldest first.
    ///
    /// Tasks the implementation does not consume are dropped with the iterator.
    fn push_batch(&self, tasks: impl Iterator<Item = T>);
}

/// Creates an empty local queue and the [`Stealer`] through which other threads steal from it.
pub fn local_queue<T>() -> (LocalQueue<T>, Stealer<T>) {
    local_queue_from(0)
}

/// Creates an empty local queue whose positions start at `start`, so tests reach the point where
/// they wrap around `u32::MAX` without pushing four billion tasks first.
fn local_queue_from<T>(start: u32) -> (LocalQueue<T>, Stealer<T>) {
    let inner = Arc::new(Inner {
        head: AtomicU64::new(Head::settled(start).pack()),
        tail: AtomicU32::new(start),
        slots: Box::new(std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit()))),
    });
    let stealer = Stealer { inner: inner.clone() };
    (LocalQueue { inner, tail: start, not_sync: PhantomData }, stealer)
}

/// The owner's end of a local queue: pushes at the tail, pops at the head.
///
/// It is `Send` (a worker's queue may be created on one thread and used on another) but neither
/// `Sync` nor `Clone`: one thread at a time owns it. Dropping it drops the tasks still in it;
/// those that a stealer has already claimed go with that stealer.
pub struct LocalQueue<T> {
    inner: Arc<Inner<T>>,
    /// The owner's copy of `inner.tail`, which no other thread writes, so reading it needs no
    /// atomic load.
    tail: u32,
    /// Makes the queue `!Sync`: its methods assume a single owning thread.
    not_sync: PhantomData<Cell<()>>,
}

/// A handle through which any thread steals from a [`LocalQueue`].
///
/// `Clone`, `Send` and `Sync`; it keeps the queue's storage alive, not its owner.
pub struct Stealer<T> {
    inner: Arc<Inner<T>>,
}

/// The storage shared by a queue's owner and its stealers.
struct Inner<T> {
    /// A [`Head`] packed into one word, so that a single compare-and-swap moves both positions.
    head: AtomicU64,
    /// One past the newest task. Only the owner writes it, always with `Release` after writing
    /// the task it publishes.
    tail: AtomicU32,
    /// The ring; position `p` lives in `slots[p as usize % CAPACITY]`. Each slot is accessed only
    /// by the thread that owns it according to the module docs.
    slots: Box<[UnsafeCell<MaybeUninit<T>>; CAPACITY]>,
}

// SAFETY: a slot is only ever accessed by the one thread that owns it under the protocol in the
// module docs, and ownership passes between threads only through the head and tail atomics with
// the orderings documented there. Tasks move from thread to thread by value, hence `T: Send`; no
// thread ever gets a `&T` into a slot that another thread can also reach, so `T: Sync` is not
// needed.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: see the `Send` impl above; shared access goes through the same protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The head of a queue, packed into `Inner::head` as:
///
/// ```text
///  63             32 31              0
/// +-----------------+-----------------+
/// |      steal      |      real       |
/// +-----------------+-----------------+
/// ```
///
/// - `real` is the position of the oldest available task; a pop takes one from here and a
///   stealer claims a batch from here.
/// - `steal` is the position of the oldest occupied slot. It equals `real` when no steal is in
///   progress. A stealer claims a batch by moving `real` only, which leaves `steal..real` marked
///   as its own, and sets `steal = real` once it has read the batch out. The owner measures free
///   space from `steal`, so it never writes into a slot being read; a stealer starts only when
///   `steal == real`, so one steal runs at a time.
///
/// Both are wrapping `u32` positions, as wide as tokio's for the same reason (tokio#5041): a
/// compare-and-swap with a stale head could only succeed wrongly if a stealer stalled between
/// its load and its compare-and-swap while the head went round all 2^32 positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    steal: u32,
    real: u32,
}

impl Head {
    fn unpack(word: u64) -> Self {
        // Truncation is the unpacking: the low half is `real`, the high half `steal`.
        Self { steal: (word >> 32) as u32, real: word as u32 }
    }

    fn pack(self) -> u64 {
        (u64::from(self.steal) << 32) | u64::from(self.real)
    }

    /// Both positions at `position`: no steal in progress.
    fn settled(position: u32) -> Self {
        Self { steal: position, real: position }
    }
}

impl<T> Inner<T> {
    /// Writes `task` at `position`.
    ///
    /// # Safety
    ///
    /// The calling thread owns the empty slot of `position` (see the module docs).
    unsafe fn put(&self, position: u32, task: T) {
        self.slots[position as usize % CAPACITY].with_mut(|slot| {
            // SAFETY: the caller owns this slot, so no other thread accesses it now.
            unsafe { (*slot).write(task) };
        });
    }

    /// Moves the task at `position` out, leaving its slot logically empty.
    ///
    /// Taking counts as a write (`with_mut`), so that loom reports two threads taking the same
    /// task as a race.
    ///
    /// # Safety
    ///
    /// The calling thread owns the slot of `position`, which holds a task (see the module docs),
    /// and takes that task only once.
    unsafe fn take(&self, position: u32) -> T {
        self.slots[position as usize % CAPACITY].with_mut(|slot| {
            // SAFETY: the caller owns this slot, which holds an initialised task that nobody
            // else will read again.
            unsafe { (*slot).assume_init_read() }
        })
    }

    /// The head as a stealer sees it, with `tail` loaded after it.
    ///
    /// `Acquire` on the head pairs with the `Release` of whichever write produced it (and, by
    /// the release sequence, of every earlier head write). Each of those writers had already
    /// seen `tail` at or past the `real` it wrote, so the `tail` loaded next is too: `real <=
    /// tail`.
    fn load_head(&self) -> u64 {
        self.head.load(Acquire)
    }

    /// `tail` as a stealer about to read the tasks below it loads it: `Acquire`, pairing with the
    /// owner's `Release` store, so those tasks are visible.
    fn load_tail_to_steal(&self) -> u32 {
        #[cfg(reactor_loom)]
        if seeded_bug::is_active(Bug::LocalQueueRelaxedTail) {
            return self.tail.load(Relaxed);
        }
        self.tail.load(Acquire)
    }

    /// A stealer's claim: replaces `current` by `claimed` if the head still is `current`.
    ///
    /// `Release` on success: the claimer has seen `tail` at or past `claimed.real`, and a thread
    /// that loads this head and then `tail` must too (see [`load_head`](Self::load_head)). Other
    /// stealers back off from a claimed head before loading `tail`, and the owner knows its own
    /// `tail`, so only [`Stealer::len`] relies on this (the `len_vs_steal` loom model checks it).
    /// `Acquire` on failure: the caller loads `tail` after this head, as after `load_head`.
    fn claim(&self, current: u64, claimed: Head) -> Result<u64, u64> {
        #[cfg(reactor_loom)]
        if seeded_bug::is_active(Bug::LocalQueueUnreservedSteal) {
            self.head.store(claimed.pack(), Release);
            return Ok(current);
        }
        self.head.compare_exchange(current, claimed.pack(), Release, Acquire)
    }

    /// How many tasks are available, from `head` and a `tail` loaded after it, capped at
    /// `CAPACITY` in case `head` was a stale value.
    fn available(head: u64, tail: u32) -> u32 {
        tail.wrapping_sub(Head::unpack(head).real).min(CAPACITY_U32)
    }
}

// The owner never asks its own queue whether it is empty (idle checks go through the
// stealers), so `len` has no `is_empty` twin; the lint only fires in loom builds, where the type is
// re-exported for the models.
#[allow(clippy::len_without_is_empty)]
impl<T> LocalQueue<T> {
    /// Pushes `task` at the tail; if the queue is full, moves its older half and `task` to
    /// `overflow` in one batch instead.
    ///
    /// If the queue is full because a stealer is still moving its batch out, those slots are
    /// about to be freed, so only `task` goes to `overflow`.
    #[inline]
    pub fn push_back(&mut self, task: T, overflow: &impl Overflow<T>) {
        // Only the fast path is inlined into the callers (every spawn and wake): inlined, the
        // overflow loop cost the hot path about nine instructions per push.
        if let Err(task) = self.try_push_back(task) {
            self.push_back_overflowing(task, overflow);
        }
    }

    /// The slow path of [`push_back`](Self::push_back): the queue was full at the last look.
    #[cold]
    #[inline(never)]
    fn push_back_overflowing(&mut self, mut task: T, overflow: &impl Overflow<T>) {
        loop {
            // Acquire: as in `try_push_back`.
            let word = self.inner.head.load(Acquire);
            let head = Head::unpack(word);
            if self.tail.wrapping_sub(head.steal) < CAPACITY_U32 {
                // A stealer finished in between: there is room now.
                task = match self.try_push_back(task) {
                    Ok(()) => return,
                    Err(task) => task,
                };
                continue;
            }
            if head.steal != head.real {
                overflow.push_batch(iter::once(task));
                return;
            }
            let half = CAPACITY_U32 / 2;
            let rest = Head::settled(head.real.wrapping_add(half));
            // Release: a stealer that loads this head and then `tail` must see `tail` at or past
            // the new `real`; this thread stored that `tail` earlier. Relaxed on failure: the
            // loop loads the head again with `Acquire`.
            if self.inner.head.compare_exchange(word, rest.pack(), Release, Relaxed).is_ok() {
                let older_half = Batch { inner: &self.inner, next: head.real, end: rest.real };
                overflow.push_batch(older_half.chain(iter::once(task)));
                return;
            }
        }
    }

    /// Pushes `task` at the tail if the queue has room; hands it back if the queue is full.
    pub fn try_push_back(&mut self, task: T) -> Result<(), T> {
        // Acquire: pairs with the `Release` by which the last stealer set `steal`, so its reads
        // of the slots it freed happen before this thread writes into them.
        let head = Head::unpack(self.inner.head.load(Acquire));
        if self.tail.wrapping_sub(head.steal) >= CAPACITY_U32 {
            return Err(task);
        }
        // SAFETY: `tail - steal < CAPACITY`, so the slot of `tail` is empty and this thread, the
        // owner, is the only one that writes empty slots.
        unsafe { self.inner.put(self.tail, task) };
        self.tail = self.tail.wrapping_add(1);
        // Release: the task written above is visible to a stealer that loads this tail with
        // `Acquire`.
        self.inner.tail.store(self.tail, Release);
        Ok(())
    }

    /// Pops the oldest task, or `None` if the queue is empty (or every task left is being
    /// stolen).
    pub fn pop(&mut self) -> Option<T> {
        // Relaxed: the owner reads only slots it wrote itself, so it needs nothing from other
        // threads here; the compare-and-swap below decides the race for the slot.
        let mut word = self.inner.head.load(Relaxed);
        loop {
            let head = Head::unpack(word);
            if head.real == self.tail {
                return None;
            }
            let real = head.real.wrapping_add(1);
            // While a steal is in progress its batch stays marked: move `real` only.
            let steal = if head.steal == head.real { real } else { head.steal };
            // Release: a stealer that loads this head and then `tail` must see `tail` at or past
            // the new `real`. Relaxed on failure: the retry needs only the new value.
            match self.inner.head.compare_exchange(word, Head { steal, real }.pack(), Release, Relaxed) {
                // SAFETY: the compare-and-swap moved `real` past `head.real`, handing its task
                // to this thread alone.
                Ok(_) => return Some(unsafe { self.inner.take(head.real) }),
                Err(actual) => word = actual,
            }
        }
    }

    /// How many tasks the queue holds, not counting a batch that a stealer is moving out.
    pub fn len(&self) -> usize {
        // Relaxed: every thread that moves `real` had seen a `tail` no later than this owner's
        // own, so `real <= self.tail` whatever head value this load returns.
        Inner::<T>::available(self.inner.head.load(Relaxed), self.tail) as usize
    }

    /// How many more tasks fit before the queue overflows.
    fn free_slots(&self) -> u32 {
        // Acquire, as in `push_back`: the caller writes into the free slots.
        let steal = Head::unpack(self.inner.head.load(Acquire)).steal;
        CAPACITY_U32 - self.tail.wrapping_sub(steal)
    }
}

impl<T> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        // Popping leaves a stealer's claimed batch alone, so each task is dropped exactly once:
        // here, or by the stealer that claimed it.
        while self.pop().is_some() {}
    }
}

impl<T> fmt::Debug for LocalQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalQueue").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl<T> Stealer<T> {
    /// Steals half of the victim's tasks (rounded up) into `dst` and returns the oldest of them.
    ///
    /// Returns `None` when the victim has no task, or when another thread is stealing from it at
    /// this moment (try another victim). A nearly full `dst` takes only as many as fit. Stealing
    /// from a queue into itself is a [`pop`](LocalQueue::pop).
    pub fn steal_into(&self, dst: &mut LocalQueue<T>) -> Option<T> {
        if ptr::eq(&*self.inner, &*dst.inner) {
            return dst.pop();
        }
        let fits = dst.free_slots() + 1;
        let mut word = self.inner.load_head();
        let claimed = loop {
            let head = Head::unpack(word);
            if head.steal != head.real {
                return None;
            }
            let available = Inner::<T>::available(word, self.inner.load_tail_to_steal());
            let count = (available - available / 2).min(fits);
            if count == 0 {
                return None;
            }
            let claimed = Head { steal: head.steal, real: head.real.wrapping_add(count) };
            match self.inner.claim(word, claimed) {
                Ok(_) => break claimed,
                Err(actual) => word = actual,
            }
        };
        let (first, count) = (claimed.steal, claimed.real.wrapping_sub(claimed.steal));

        // SAFETY: the claim made `first..first + count` this thread's batch (`steal..real`).
        let oldest = unsafe { self.inner.take(first) };
        for i in 1..count {
            // SAFETY: as above, and each position of the batch is taken once.
            let task = unsafe { self.inner.take(first.wrapping_add(i)) };
            // SAFETY: `count - 1 <= free_slots`, so these positions of `dst` are empty, and this
            // thread owns `dst` (`&mut`).
            unsafe { dst.inner.put(dst.tail.wrapping_add(i - 1), task) };
        }
        self.release_batch(claimed);

        if count > 1 {
            dst.tail = dst.tail.wrapping_add(count - 1);
            // Release: the tasks written into `dst` are visible to `dst`'s stealers.
            dst.inner.tail.store(dst.tail, Release);
        }
        Some(oldest)
    }

    /// Ends the steal that installed `claimed`: sets `steal` to `real`, freeing the batch's slots
    /// for the owner.
    fn release_batch(&self, claimed: Head) {
        let mut current = claimed;
        loop {
            // Release: the reads of the batch happen before the owner, loading this head with
            // `Acquire`, writes into its slots. Relaxed on failure: only the owner's pops move
            // `real` meanwhile, and the retry needs only the new value.
            match self.inner.head.compare_exchange(
                current.pack(),
                Head::settled(current.real).pack(),
                Release,
                Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = Head::unpack(actual),
            }
        }
    }

    /// How many tasks the victim holds right now, not counting a batch being stolen; a snapshot
    /// that may already be stale.
    pub fn len(&self) -> usize {
        let head = self.inner.load_head();
        // Relaxed: no slot is read, and `load_head` already guarantees `real <= tail`.
        Inner::<T>::available(head, self.inner.tail.load(Relaxed)) as usize
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<T> fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// The older half of a full queue on its way to the overflow, claimed by the owner.
///
/// Tasks that the overflow leaves unconsumed are dropped with the batch, never leaked.
struct Batch<'a, T> {
    inner: &'a Inner<T>,
    next: u32,
    end: u32,
}

impl<T> Iterator for Batch<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: the owner's compare-and-swap in `push_back` moved both `steal` and `real` past
        // `next..end` while the owner holds `&mut LocalQueue`: nobody else reaches these slots,
        // and each position is taken once.
        let task = unsafe { self.inner.take(self.next) };
        self.next = self.next.wrapping_add(1);
        Some(task)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.end.wrapping_sub(self.next) as usize;
        (len, Some(len))
    }
}

impl<T> ExactSizeIterator for Batch<'_, T> {}

impl<T> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use super::*;

    /// An overflow that keeps what it receives, in order.
    #[derive(Default)]
    struct Injector<T>(RefCell<Vec<T>>);

    impl<T> Overflow<T> for Injector<T> {
        fn push_batch(&self, tasks: impl Iterator<Item = T>) {
            self.0.borrow_mut().extend(tasks);
        }
    }

    /// An overflow that must never be used.
    struct NoOverflow;

    impl<T> Overflow<T> for NoOverflow {
        fn push_batch(&self, _: impl Iterator<Item = T>) {
            panic!("the queue overflowed");
        }
    }

    fn drain<T>(queue: &mut LocalQueue<T>) -> Vec<T> {
        iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn pops_in_push_order() {
        let (mut queue, _) = local_queue();
        for i in 0..CAPACITY {
            queue.push_back(i, &NoOverflow);
        }
        assert_eq!(queue.len(), CAPACITY);
        assert_eq!(queue.pop(), Some(0));
        queue.push_back(CAPACITY, &NoOverflow);
        assert_eq!(drain(&mut queue), (1..=CAPACITY).collect::<Vec<_>>());
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn full_queue_moves_older_half_and_new_task_to_overflow() {
        let (mut queue, _) = local_queue();
        let injector = Injector::default();
        for i in 0..=CAPACITY {
            queue.push_back(i, &injector);
        }
        let mut expected: Vec<_> = (0..CAPACITY / 2).collect();
        expected.push(CAPACITY);
        assert_eq!(injector.0.take(), expected);
        assert_eq!(drain(&mut queue), (CAPACITY / 2..CAPACITY).collect::<Vec<_>>());
    }

    #[test]
    fn overflow_that_consumes_nothing_drops_the_batch() {
        struct Refuse;
        impl<T> Overflow<T> for Refuse {
            fn push_batch(&self, _: impl Iterator<Item = T>) {}
        }
        let drops = Cell::new(0);
        let (mut queue, _) = local_queue();
        for i in 0..=CAPACITY {
            queue.push_back(Counted { id: i, drops: &drops }, &Refuse);
        }
        assert_eq!(drops.get(), CAPACITY / 2 + 1);
        assert_eq!(queue.len(), CAPACITY / 2);
    }

    #[test]
    fn steal_takes_half_rounded_up_and_returns_the_oldest() {
        let (mut victim, stealer) = local_queue();
        let (mut thief, _) = local_queue();
        assert_eq!(stealer.steal_into(&mut thief), None);
        for i in 0..5 {
            victim.push_back(i, &NoOverflow);
        }
        assert_eq!(stealer.len(), 5);
        assert_eq!(stealer.steal_into(&mut thief), Some(0));
        assert_eq!(drain(&mut thief), [1, 2]);
        assert_eq!(stealer.steal_into(&mut thief), Some(3));
        assert_eq!(thief.len(), 0);
        assert_eq!(stealer.steal_into(&mut thief), Some(4));
        assert!(stealer.is_empty());
        assert_eq!(victim.len(), 0);
    }

    #[test]
    fn steal_into_a_nearly_full_queue_takes_only_what_fits() {
        let (mut victim, stealer) = local_queue();
        let (mut thief, _) = local_queue();
        for i in 0..CAPACITY {
            victim.push_back(i, &NoOverflow);
        }
        for i in 0..CAPACITY - 2 {
            thief.push_back(1000 + i, &NoOverflow);
        }
        assert_eq!(stealer.steal_into(&mut thief), Some(0));
        assert_eq!(thief.len(), CAPACITY);
        assert_eq!(victim.len(), CAPACITY - 3);
        assert_eq!(stealer.steal_into(&mut thief), Some(3), "a full thief still takes one to run");
        assert_eq!(thief.len(), CAPACITY);
    }

    #[test]
    fn steal_from_own_queue_pops() {
        let (mut queue, stealer) = local_queue();
        queue.push_back(7, &NoOverflow);
        queue.push_back(8, &NoOverflow);
        assert_eq!(stealer.steal_into(&mut queue), Some(7));
        assert_eq!(drain(&mut queue), [8]);
    }

    /// What `steal_into` does, on `VecDeque`s: moves half of `victim` (rounded up, at most what
    /// fits in `dst` plus one) and returns the oldest.
    fn model_steal(victim: &mut VecDeque<usize>, dst: &mut VecDeque<usize>) -> Option<usize> {
        let count = (victim.len() - victim.len() / 2).min(CAPACITY - dst.len() + 1);
        let mut batch = victim.drain(..count);
        let oldest = batch.next();
        dst.extend(batch);
        oldest
    }

    /// A random mix of every operation, starting just below `u32::MAX` so positions wrap, checked
    /// against a `VecDeque` model.
    #[test]
    fn positions_wrap_around_u32() {
        let start = u32::MAX - 3 * CAPACITY_U32;
        let (mut victim, victim_stealer) = local_queue_from(start);
        let (mut thief, thief_stealer) = local_queue_from(start - 7);
        let (mut model_victim, mut model_thief) = (VecDeque::new(), VecDeque::new());
        let injector = Injector::default();
        let mut model_injector = Vec::new();
        let mut random = 0x2545_f491_u32;
        for id in 0..20 * CAPACITY {
            random ^= random << 13;
            random ^= random >> 17;
            random ^= random << 5;
            match random % 8 {
                0..=3 => {
                    victim.push_back(id, &injector);
                    if model_victim.len() == CAPACITY {
                        model_injector.extend(model_victim.drain(..CAPACITY / 2));
                        model_injector.push(id);
                    } else {
                        model_victim.push_back(id);
                    }
                }
                4 => assert_eq!(victim.pop(), model_victim.pop_front()),
                5 => assert_eq!(thief.pop(), model_thief.pop_front()),
                6 => assert_eq!(
                    victim_stealer.steal_into(&mut thief),
                    model_steal(&mut model_victim, &mut model_thief)
                ),
                _ => assert_eq!(
                    thief_stealer.steal_into(&mut victim),
                    model_steal(&mut model_thief, &mut model_victim)
                ),
            }
            assert_eq!((victim.len(), thief.len()), (model_victim.len(), model_thief.len()));
        }
        let passed = Head::unpack(victim.inner.head.load(Relaxed)).real;
        assert!(passed < start, "the test must take the positions past u32::MAX");
        assert_eq!(injector.0.take(), model_injector);
        assert_eq!(drain(&mut victim), Vec::from(model_victim));
        assert_eq!(drain(&mut thief), Vec::from(model_thief));
    }

    /// A task that counts its drops.
    struct Counted<'a> {
        id: usize,
        drops: &'a Cell<usize>,
    }

    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    #[test]
    fn dropping_the_queue_drops_each_remaining_task_once() {
        let drops = Cell::new(0);
        let (mut queue, stealer) = local_queue();
        let (mut thief, _) = local_queue();
        for id in 0..5 {
            queue.push_back(Counted { id, drops: &drops }, &NoOverflow);
        }
        let stolen = stealer.steal_into(&mut thief).map(|task| task.id);
        assert_eq!(stolen, Some(0));
        drop(queue);
        assert_eq!(drops.get(), 3, "the stolen task 0, then the queue's tasks 3 and 4");
        assert!(stealer.is_empty(), "the stealer outlives the queue");
        drop(thief);
        assert_eq!(drops.get(), 5);
    }

    #[test]
    fn handles_are_send_and_stealer_is_sync() {
        fn send<T: Send>() {}
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        send::<LocalQueue<Box<u8>>>();
        send_sync_clone::<Stealer<Box<u8>>>();
    }

    /// One owner pushing and popping, two stealers stealing from it and from each other: every
    /// task ends up exactly once in a pop, a steal or the overflow.
    #[test]
    fn concurrent_owner_and_stealers_deliver_every_task_once() {
        // Under Miri (interpreted, about a thousand times slower) fewer tasks still wrap the ring.
        const TASKS: usize = if cfg!(miri) { 1_000 } else { 100_000 };
        let (mut owner, owner_stealer) = local_queue();
        let thieves = [local_queue(), local_queue()];
        let thief_stealers = [thieves[0].1.clone(), thieves[1].1.clone()];
        let done = AtomicBool::new(false);

        let mut delivered = thread::scope(|scope| {
            let stealers: Vec<_> = thieves
                .into_iter()
                .enumerate()
                .map(|(index, (mut mine, _))| {
                    let (owner_stealer, other, done) = (&owner_stealer, &thief_stealers[1 - index], &done);
                    scope.spawn(move || {
                        let mut seen = Vec::new();
                        loop {
                            // Read `done` first: once it is set the owner has stopped pushing.
                            let finished = done.load(Ordering::Acquire);
                            let stolen =
                                owner_stealer.steal_into(&mut mine).or_else(|| other.steal_into(&mut mine));
                            match stolen {
                                Some(task) => {
                                    seen.push(task);
                                    seen.extend(iter::from_fn(|| mine.pop()));
                                }
                                None if finished && owner_stealer.is_empty() => return seen,
                                None => thread::yield_now(),
                            }
                        }
                    })
                })
                .collect();

            let injector = Injector::default();
            let mut seen = Vec::new();
            for task in 0..TASKS {
                owner.push_back(task, &injector);
                if task % 3 == 0 {
                    seen.extend(owner.pop());
                }
            }
            seen.extend(drain(&mut owner));
            done.store(true, Ordering::Release);
            seen.extend(injector.0.take());
            for stealer in stealers {
                seen.extend(stealer.join().unwrap());
            }
            seen
        });
        delivered.sort_unstable();
        assert_eq!(delivered, (0..TASKS).collect::<Vec<_>>());
    }
}
