//! The timer queue: a slab of timer slots ordered by a hierarchical timing wheel.
//!
//! This is a plain single-threaded data structure; [`Timer`](crate::Timer) keeps one behind a
//! mutex. Inserting, moving and cancelling a timer is O(1); firing one is amortised O(levels):
//!
//! - **slots** hold what a timer fires (a waker or a callback) and its deadline. A slot is
//!   addressed by a [`Key`]: its index plus a generation that changes each time the slot is
//!   freed, so a stale key held by a concurrent firing can never touch the slot's next occupant.
//!   Every slot is on exactly one doubly linked list threaded through the slots themselves (u32
//!   indices, no memory besides the slots): a wheel bucket, the due list, the free list, or none
//!   (registered, not queued). Linking and unlinking anywhere is O(1) and never moves a slot.
//! - **the wheel** has `LEVELS` levels of 64 buckets; a level-`l` bucket spans 2^(10+6l) ns
//!   (level 0: 1,024 ns; level 8 spans the whole 64-bit range, so no overflow list is needed). A
//!   timer is placed relative to `elapsed` (the time the queue last caught up with) at the level
//!   of the highest 6-bit digit in which its deadline differs from `elapsed`: so every level-`l`
//!   timer lies in the current level-`l+1` bucket and in a later level-`l` bucket than
//!   `elapsed`, all of level `l` comes before all of level `l+1`, and each level's buckets are in
//!   time order from bit 0 of its occupancy bitmap (no wrap-around). The earliest bucket is
//!   therefore the lowest set bit of the lowest non-empty level. A deadline at or before
//!   `elapsed` goes to the current level-0 bucket.
//! - **firing** (`pop_due`) takes the earliest bucket once it is due: a higher-level bucket is
//!   cascaded (each timer re-placed, now at a lower level, as `elapsed` moves to the bucket's
//!   start); a level-0 bucket's timers at or before `now` are moved, sorted by deadline, to the
//!   due list, from which they are popped. A timer is cascaded at most once per level.
//! - **the earliest deadline** (`earliest`) is a lower bound, kept in O(1): the exact earliest
//!   deadline when that is in level 0 (each bucket is scanned once when it becomes the
//!   earliest), else the start of the earliest bucket. Waking at it fires nothing early and
//!   cascades, so the next bound is later: a waiter converges on each deadline to the nanosecond
//!   in at most `LEVELS` wakes. A cancel leaves it where it was (still a lower bound: at worst one
//!   wake that fires nothing); `pop_due` makes it exact again (it is above `now` once nothing due
//!   is left), and it is [`NEVER`] exactly when nothing is queued.
//! - **memory** goes back once most of it is free (see `release_free_slots`): the slab, whose
//!   keys must stay valid, cuts off its free tail when under a quarter occupied and shrinks once
//!   under a quarter of its capacity. That stays amortised O(1) and never thrashes around a
//!   threshold. The wheel itself is a fixed 2.3 KiB per queue.
//!
//! Compared with a heap, firing and cancelling touch no other timer than the list neighbours
//! (a 4-ary heap's removal rewrites the position of one timer per level, each a cache miss in a
//! large queue).

use std::fmt;
use std::mem;

/// A deadline in nanoseconds since the clock's origin; [`NEVER`] for "never".
pub(crate) type Tick = u64;

/// The deadline of a timer that never fires. Such a timer is registered but never queued.
pub(crate) const NEVER: Tick = Tick::MAX;

/// End of a list. Not a slot index: `insert` never hands it out.
const NO_SLOT: u32 = u32::MAX;
/// `Slot::list` of an occupied slot that is not queued.
const NOT_QUEUED: u32 = u32::MAX;
/// `Slot::list` of a slot on the due list.
const DUE: u32 = u32::MAX - 1;
/// Bits of a deadline below level 0's bucket: 1,024 ns buckets.
const GRAIN_BITS: u32 = 10;
/// Buckets per level, as bits: 64, one occupancy bitmap word.
const LEVEL_BITS: u32 = 6;
const BUCKETS: usize = 1 << LEVEL_BITS;
/// Levels: `GRAIN_BITS + LEVELS * LEVEL_BITS >= 64` covers every tick.
const LEVELS: usize = 9;
const _: () = assert!(GRAIN_BITS as usize + LEVELS * LEVEL_BITS as usize >= 64);
/// Below this many slots (3 KiB) memory is not given back. Tiny in unit tests, so that the
/// property test's small queues trim too.
const FLOOR: usize = if cfg!(test) { 4 } else { 64 };
/// The sort buffer of `stage` is dropped after use when it grew beyond this.
const SCRATCH_KEPT: usize = 1024;

/// Identifies one occupant of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

struct Slot<T> {
    /// Occupied: the deadline (meaningful while queued).
    deadline: Tick,
    /// Incremented when the slot is freed, so keys to the previous occupant stop matching.
    generation: u32,
    /// Neighbours on the slot's list (a bucket, the due list or the free list), or `NO_SLOT`.
    next: u32,
    prev: u32,
    /// Occupied: the bucket (`level * BUCKETS + bucket`), `DUE` or `NOT_QUEUED`.
    list: u32,
    /// `None` for a free slot.
    target: Option<T>,
}

/// Timers ordered by deadline, each holding a `T` (what firing it wakes or runs).
pub(crate) struct TimerQueue<T> {
    slots: Vec<Slot<T>>,
    /// Head of the free-slot list: the most recently freed slot.
    free: u32,
    /// Occupied slots.
    occupied: u32,
    /// The generation a new slot starts at: above every generation a slot cut off the end of
    /// `slots` ever had, so that a stale key to a cut-off slot never matches its successor.
    epoch: u32,
    /// `quarter(slots.len())`, kept with the length so that a removal checks one number.
    trim_below: usize,
    /// Queued timers (in buckets or due).
    queued: usize,
    /// The time the wheel is placed relative to (see the module docs). Never above a `now` the
    /// queue was given, or a time it was told the clock reached.
    elapsed: Tick,
    /// A lower bound of every queued deadline (see the module docs); `NEVER` iff none is queued.
    bound: Tick,
    /// First slot of each bucket's list, level by level.
    heads: [u32; LEVELS * BUCKETS],
    /// Per level, which buckets are non-empty.
    nonempty: [u64; LEVELS],
    /// Timers found due, in deadline order, to be popped.
    due_head: u32,
    due_tail: u32,
    /// The earliest deadline on the due list when it was filled.
    due_min: Tick,
    /// Sort buffer of `stage`.
    scratch: Vec<(Tick, u32)>,
}

impl<T> TimerQueue<T> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NO_SLOT,
            occupied: 0,
            epoch: 0,
            trim_below: 0,
            queued: 0,
            elapsed: 0,
            bound: NEVER,
            heads: [NO_SLOT; LEVELS * BUCKETS],
            nonempty: [0; LEVELS],
            due_head: NO_SLOT,
            due_tail: NO_SLOT,
            due_min: NEVER,
            scratch: Vec::new(),
        }
    }

    /// Occupies a slot with `target`, queued at `deadline` unless that is [`NEVER`].
    ///
    /// # Panics
    ///
    /// With more than 4,294,967,294 timers registered at once (about 200 GB of timers), like
    /// `Vec` panics on capacity overflow.
    pub(crate) fn insert(&mut self, deadline: Tick, target: T) -> Key {
        let index = if self.free == NO_SLOT {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&index| index < DUE)
                .expect("timer queue capacity overflow: more than u32::MAX - 1 timers");
            self.slots.push(Slot {
                deadline,
                generation: self.epoch,
                next: NO_SLOT,
                prev: NO_SLOT,
                list: NOT_QUEUED,
                target: Some(target),
            });
            self.trim_below = quarter(self.slots.len());
            index
        } else {
            // The new head's back link goes stale: a head's is never read.
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            self.free = slot.next;
            slot.list = NOT_QUEUED;
            slot.target = Some(target);
            index
        };
        self.occupied += 1;
        let key = Key { index, generation: self.slots[index as usize].generation };
        if deadline != NEVER {
            self.enqueue(index, deadline);
        }
        key
    }

    /// Frees the slot of `key` (unqueuing it) and returns its target, or `None` for a stale key.
    #[inline(always)]
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        if self.slot(key)?.list != NOT_QUEUED {
            self.unqueue(key.index);
        }
        let head = self.free;
        let slot = &mut self.slots[key.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.next = head;
        let target = slot.target.take();
        if let Some(head) = self.slots.get_mut(head as usize) {
            head.prev = key.index;
        }
        self.free = key.index;
        self.occupied -= 1;
        self.release_free_slots();
        target
    }

    /// Queues `key` at `deadline`, moving it if it is queued already; [`NEVER`] unqueues it.
    /// Returns `false` for a stale key.
    pub(crate) fn schedule(&mut self, key: Key, deadline: Tick) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        if slot.list != NOT_QUEUED {
            self.unqueue(key.index);
        }
        if deadline != NEVER {
            self.enqueue(key.index, deadline);
        }
        true
    }

    /// The target of `key`, or `None` for a stale key.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slot(key)?;
        self.slots[key.index as usize].target.as_mut()
    }

    /// Whether `key` is queued (registered with a deadline that has not fired).
    pub(crate) fn is_queued(&self, key: Key) -> bool {
        self.slot(key).is_some_and(|slot| slot.list != NOT_QUEUED)
    }

    /// A lower bound of every queued deadline, [`NEVER`] iff none is queued: exact when the
    /// earliest is in the finest wheel level, and above any `now` that `pop_due` last returned
    /// `None` for, unless a timer was queued at or before that since (see the module docs).
    pub(crate) fn earliest(&self) -> Tick {
        self.bound
    }

    /// Number of queued timers.
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// Tells the queue that the clock reached `now`: while nothing is due by then, later
    /// registrations are placed relative to it (a wheel left behind by an idle shard would put
    /// them in coarse buckets, costing wakes and cascades). O(1).
    pub(crate) fn catch_up(&mut self, now: Tick) {
        if self.bound > now && self.due_head == NO_SLOT && now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// Unqueues a timer whose deadline is at or before `now`, leaving its slot occupied; returns
    /// its key, deadline and target. Timers come in deadline order, and once this returns
    /// `None`, [`earliest`](Self::earliest) is above `now`.
    pub(crate) fn pop_due(&mut self, now: Tick) -> Option<(Key, Tick, &mut T)> {
        while self.due_head == NO_SLOT {
            if self.bound > now {
                if now > self.elapsed {
                    self.elapsed = now;
                }
                return None;
            }
            self.advance(now);
        }
        let index = self.due_head;
        self.unqueue(index);
        let slot = &mut self.slots[index as usize];
        let key = Key { index, generation: slot.generation };
        Some((key, slot.deadline, slot.target.as_mut()?))
    }

    /// One step of catching up with `now` (at or after `bound`): takes the earliest bucket if it
    /// is due, cascading it or moving its due timers to the due list; then makes `bound` exact.
    fn advance(&mut self, now: Tick) {
        let Some(level) = self.nonempty.iter().position(|&bits| bits != 0) else {
            self.bound = NEVER; // Only reached with nothing queued.
            return;
        };
        let bucket = self.nonempty[level].trailing_zeros() as usize;
        let start = bucket_start(self.elapsed, level, bucket);
        if level == 0 {
            self.stage(bucket, now);
        } else if start <= now {
            // Everything in it is at or after `start`, which is after `elapsed`.
            self.elapsed = start;
            let mut next = self.take_bucket(level * BUCKETS + bucket);
            while next != NO_SLOT {
                let index = next;
                next = self.slots[index as usize].next;
                let deadline = self.slots[index as usize].deadline;
                self.link(index, deadline);
            }
        }
        self.refresh();
    }

    /// Moves the timers of level-0 bucket `bucket` due at `now` to the due list, in deadline
    /// order.
    fn stage(&mut self, bucket: usize, now: Tick) {
        let mut next = self.heads[bucket];
        while next != NO_SLOT {
            let index = next;
            let slot = &self.slots[index as usize];
            next = slot.next;
            if slot.deadline <= now {
                self.scratch.push((slot.deadline, index));
            }
        }
        if self.scratch.len() > 1 {
            self.scratch.sort_unstable();
        }
        let mut scratch = mem::take(&mut self.scratch);
        for &(deadline, index) in &scratch {
            self.unlink(index);
            self.due_min = self.due_min.min(deadline);
            let slot = &mut self.slots[index as usize];
            slot.list = DUE;
            slot.next = NO_SLOT;
            slot.prev = self.due_tail;
            match self.slots.get_mut(self.due_tail as usize) {
                Some(tail) => tail.next = index,
                None => self.due_head = index,
            }
            self.due_tail = index;
        }
        scratch.clear();
        if scratch.capacity() <= SCRATCH_KEPT {
            self.scratch = scratch;
        }
    }

    /// Sets `bound` to its exact value: the due list's, the earliest level-0 bucket's earliest
    /// deadline, or the start of the earliest bucket.
    fn refresh(&mut self) {
        if self.due_head != NO_SLOT {
            self.bound = self.due_min;
            return;
        }
        let Some(level) = self.nonempty.iter().position(|&bits| bits != 0) else {
            self.bound = NEVER;
            return;
        };
        let bucket = self.nonempty[level].trailing_zeros() as usize;
        self.bound = if level == 0 {
            let mut earliest = NEVER;
            let mut next = self.heads[bucket];
            while let Some(slot) = self.slots.get(next as usize) {
                earliest = earliest.min(slot.deadline);
                next = slot.next;
            }
            earliest
        } else {
            bucket_start(self.elapsed, level, bucket)
        };
    }

    fn slot(&self, key: Key) -> Option<&Slot<T>> {
        self.slots
            .get(key.index as usize)
            .filter(|slot| slot.generation == key.generation && slot.target.is_some())
    }

    /// Queues the unqueued slot `index` at `deadline` (not `NEVER`).
    #[inline]
    fn enqueue(&mut self, index: u32, deadline: Tick) {
        self.queued += 1;
        self.link(index, deadline);
    }

    /// Puts slot `index` in its bucket for `deadline`, lowering `bound` to what it contributes.
    #[inline]
    fn link(&mut self, index: u32, deadline: Tick) {
        let elapsed = self.elapsed;
        let (level, bucket) = if deadline <= elapsed {
            (0, bucket_of(elapsed, 0))
        } else {
            let differing = (elapsed ^ deadline) >> GRAIN_BITS;
            let level = if differing == 0 { 0 } else { (differing.ilog2() / LEVEL_BITS) as usize };
            (level, bucket_of(deadline, level))
        };
        let list = level * BUCKETS + bucket;
        let head = mem::replace(&mut self.heads[list], index);
        let slot = &mut self.slots[index as usize];
        slot.deadline = deadline;
        // `list < LEVELS * BUCKETS`.
        slot.list = list as u32;
        slot.next = head;
        slot.prev = NO_SLOT;
        if let Some(head) = self.slots.get_mut(head as usize) {
            head.prev = index;
        }
        self.nonempty[level] |= 1 << bucket;
        let contributes = if level == 0 { deadline } else { bucket_start(elapsed, level, bucket) };
        self.bound = self.bound.min(contributes);
    }

    /// Takes queued slot `index` off its list. `bound` stays (a lower bound still) unless
    /// nothing is left queued.
    #[inline]
    fn unqueue(&mut self, index: u32) {
        self.unlink(index);
        self.slots[index as usize].list = NOT_QUEUED;
        self.queued -= 1;
        if self.queued == 0 {
            self.bound = NEVER;
        }
    }

    /// Unlinks queued slot `index` from its bucket or the due list.
    #[inline]
    fn unlink(&mut self, index: u32) {
        let Slot { next, prev, list, .. } = self.slots[index as usize];
        if let Some(next) = self.slots.get_mut(next as usize) {
            next.prev = prev;
        }
        if let Some(prev) = self.slots.get_mut(prev as usize) {
            prev.next = next;
        } else if list == DUE {
            self.due_head = next;
        } else {
            self.heads[list as usize] = next;
            if next == NO_SLOT {
                self.nonempty[list as usize / BUCKETS] &= !(1 << (list as usize % BUCKETS));
            }
        }
        if list == DUE {
            if next == NO_SLOT {
                self.due_tail = prev;
            }
            if self.due_head == NO_SLOT {
                self.due_min = NEVER;
            }
        }
    }

    /// Empties bucket `list`, returning its first slot (the rest follow through `next`).
    fn take_bucket(&mut self, list: usize) -> u32 {
        self.nonempty[list / BUCKETS] &= !(1 << (list % BUCKETS));
        mem::replace(&mut self.heads[list], NO_SLOT)
    }
}

/// The bucket of `tick` at `level`.
#[inline]
fn bucket_of(tick: Tick, level: usize) -> usize {
    ((tick >> (GRAIN_BITS + LEVEL_BITS * level as u32)) & (BUCKETS as u64 - 1)) as usize
}

/// The first tick of bucket `bucket` at `level` in the level-`level + 1` bucket of `elapsed`.
#[inline]
fn bucket_start(elapsed: Tick, level: usize, bucket: usize) -> Tick {
    let shift = GRAIN_BITS + LEVEL_BITS * level as u32;
    let above = elapsed.checked_shr(shift + LEVEL_BITS).unwrap_or(0);
    let base = above.checked_shl(shift + LEVEL_BITS).unwrap_or(0);
    base | (bucket as u64) << shift
}

mod memory;

/// A quarter of `n`, or 0 (never reached) while `n` is at most `FLOOR`: the threshold below
/// which memory is given back.
fn quarter(n: usize) -> usize {
    if n > FLOOR {
        n / 4
    } else {
        0
    }
}

impl<T> fmt::Debug for TimerQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerQueue")
            .field("queued", &self.queued)
            .field("slots", &self.slots.len())
            .field("earliest", &self.bound)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
