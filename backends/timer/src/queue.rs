//! The timer queue: a slab of timer slots ordered by a hierarchical timing wheel.
//!
//! This is a plain single-threaded data structure; [`Timer`](crate::Timer) keeps one behind a
//! mutex. Inserting, moving and cancelling a timer is O(1); firing one is amortised O(levels):
//!
//! - **slots** hold what a timer fires (a waker or a callback) and its deadline. A slot is
//!   addressed by a [`Key`]: its index plus a generation that changes each time the slot is
//!   freed, so a stale key held by a concurrent firing can never touch the slot's next occupant.
//!   Free slots form a doubly linked list through the slots themselves, so allocation, release
//!   and unlinking any free slot are O(1) and never move a slot.
//! - **buckets** are arrays of slot indices in no order; a queued slot records its bucket and
//!   its place in it, so it leaves in O(1) (the last member takes its place). Arrays rather than
//!   linked lists: moving a bucket's timers reads their slots at addresses known in advance,
//!   which the processor fetches in parallel, where a list walk waits for each slot in turn.
//! - **the wheel** has `LEVELS` levels of 64 buckets; a level-`l` bucket spans 2^(10+6l) ns
//!   (level 0: 1,024 ns; level 8 spans the whole 64-bit range, so no overflow list is needed). A
//!   timer is placed relative to `elapsed` (the time the queue last caught up with) at the level
//!   of the highest 6-bit digit in which its deadline differs from `elapsed`: so every level-`l`
//!   timer lies in the current level-`l+1` bucket and in a later level-`l` bucket than
//!   `elapsed`, all of level `l` comes before all of level `l+1`, and each level's buckets are in
//!   time order from bit 0 of its occupancy bitmap (no wrap-around). The earliest bucket is
//!   therefore the lowest set bit of the lowest non-empty level. A deadline at or before
//!   `elapsed` goes to the current level-0 bucket.
//! - **firing** (`pop_due`) takes the earliest bucket once it is due: its timers at or before
//!   `now` go, sorted by deadline, to the due list, from which they are popped (a cancelled one
//!   leaves a hole there); the others are cascaded, placed again at a finer level as `elapsed`
//!   moves to the bucket's start. A timer moves at most once per level.
//! - **the earliest deadline** (`earliest`) is kept in O(1) as a lower bound of every queued
//!   deadline that is exact unless the earliest timer was cancelled or moved since it was last
//!   made exact (it then stays where it was: at worst one wake that fires nothing). Each bucket
//!   tracks the earliest deadline queued in it since it was last empty, so `pop_due` makes the
//!   bound exact again from the earliest bucket (scanning it in level 0, where buckets hold a
//!   microsecond of timers): once it returns `None`, the bound is above `now`. A waiter
//!   sleeping until the bound therefore wakes at the earliest deadline itself, and a coarse
//!   bucket is cascaded then, when its first timer is due, not at its start. `elapsed` only
//!   moves to a time before both the bound and the earliest bucket's start (or to that start,
//!   cascading it), so no timer ever has to change level without being taken out.
//! - **memory** goes back once most of it is free (see `release_free_slots`): the slab, whose
//!   keys must stay valid, cuts off its free tail when under a quarter occupied and shrinks once
//!   under a quarter of its capacity; a bucket's array halves once under a quarter full. That
//!   stays amortised O(1) and never thrashes around a threshold.
//!
//! Compared with a heap, cancelling touches at most one other timer (the one taking its place)
//! where a 4-ary heap's removal rewrites the position of one timer per level, each a cache miss
//! in a large queue.

use std::fmt;
use std::mem;

/// A deadline in nanoseconds since the clock's origin; [`NEVER`] for "never".
pub(crate) type Tick = u64;

/// The deadline of a timer that never fires. Such a timer is registered but never queued.
pub(crate) const NEVER: Tick = Tick::MAX;

/// End of the free list, a hole in `due`. Not a slot index: `insert` never hands it out.
const NO_SLOT: u32 = u32::MAX;
/// `Slot::list` of an occupied slot that is not queued.
const NOT_QUEUED: u32 = u32::MAX;
/// `Slot::list` of a slot in `due`.
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
/// A bucket's array, the due list or the sort buffer, emptied, keeps at most this capacity;
/// a bucket's shrinks once under a quarter full above it.
const KEPT: usize = if cfg!(test) { 4 } else { 1024 };

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
    /// Occupied and queued: the slot's place in its bucket's array, or in `due`. Free: the next
    /// free slot, or `NO_SLOT`.
    place: u32,
    /// Occupied: the bucket (`level * BUCKETS + bucket`), `DUE` or `NOT_QUEUED`. Free: the
    /// previous free slot (meaningless for the head of the free list).
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
    /// The slots in each bucket, level by level, in no order (`LEVELS * BUCKETS` of them; on
    /// the heap, as a loom thread's small stack cannot hold a queue).
    buckets: Box<[Vec<u32>]>,
    /// Per bucket, the earliest deadline queued in it since it was last empty: exact unless
    /// that timer left, and never before the bucket's start (`LEVELS * BUCKETS` of them).
    bucket_min: Box<[Tick]>,
    /// Per level, which buckets are non-empty.
    nonempty: [u64; LEVELS],
    /// Timers found due, in deadline order, from `due_next` on; `NO_SLOT` for one cancelled.
    due: Vec<u32>,
    due_next: usize,
    /// The earliest deadline in `due` when it was filled.
    due_min: Tick,
    /// Sort buffer of `stage` and `cascade`.
    scratch: Vec<(Tick, u32)>,
}

impl<T> TimerQueue<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NO_SLOT,
            occupied: 0,
            epoch: 0,
            trim_below: 0,
            queued: 0,
            elapsed: 0,
            bound: NEVER,
            buckets: (0..LEVELS * BUCKETS).map(|_| Vec::new()).collect(),
            bucket_min: vec![NEVER; LEVELS * BUCKETS].into_boxed_slice(),
            nonempty: [0; LEVELS],
            due: Vec::new(),
            due_next: 0,
            due_min: NEVER,
            scratch: Vec::new(),
        }
    }

    /// Occupies a slot with `target`, queued at `deadline` unless that is [`NEVER`].
    ///
    /// # Panics
    ///
    /// With more than 4,294,967,293 timers registered at once (about 200 GB of timers), like
    /// `Vec` panics on capacity overflow.
    pub(crate) fn insert(&mut self, deadline: Tick, target: T) -> Key {
        let index = if self.free == NO_SLOT {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&index| index < DUE)
                .expect("timer queue capacity overflow: more than u32::MAX - 2 timers");
            self.slots.push(Slot {
                deadline,
                generation: self.epoch,
                place: NO_SLOT,
                list: NOT_QUEUED,
                target: Some(target),
            });
            self.trim_below = quarter(self.slots.len());
            index
        } else {
            // The new head's back link goes stale: a head's is never read.
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            self.free = slot.place;
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
        slot.place = head;
        let target = slot.target.take();
        if let Some(head) = self.slots.get_mut(head as usize) {
            head.list = key.index;
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

    /// A lower bound of every queued deadline, [`NEVER`] iff none is queued: exact unless the
    /// earliest timer was cancelled or moved since `pop_due` last ran, and above the `now` that
    /// `pop_due` last returned `None` for, unless a timer was queued at or before that since.
    pub(crate) fn earliest(&self) -> Tick {
        self.bound
    }

    /// Number of queued timers.
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// Tells the queue that the clock reached `now`: while nothing is queued, later
    /// registrations are placed relative to it (a wheel left behind by an idle shard would put
    /// them in coarse buckets, costing cascades). O(1); callers check `len() == 0` first, to
    /// skip reading the clock.
    pub(crate) fn catch_up(&mut self, now: Tick) {
        if self.queued == 0 && now > self.elapsed {
            self.elapsed = now;
        }
    }

    /// Unqueues a timer whose deadline is at or before `now`, leaving its slot occupied; returns
    /// its key, deadline and target. Timers come in deadline order, and once this returns
    /// `None`, [`earliest`](Self::earliest) is above `now`.
    pub(crate) fn pop_due(&mut self, now: Tick) -> Option<(Key, Tick, &mut T)> {
        let index = loop {
            if let Some(&index) = self.due.get(self.due_next) {
                self.due_next += 1;
                if index != NO_SLOT {
                    break index;
                }
                continue;
            }
            if !self.due.is_empty() {
                self.clear_due();
            }
            if self.bound > now && self.horizon() > now {
                if now > self.elapsed {
                    self.elapsed = now;
                }
                return None;
            }
            self.advance(now);
        };
        let slot = &mut self.slots[index as usize];
        slot.list = NOT_QUEUED;
        self.queued -= 1;
        if self.queued == 0 {
            self.bound = NEVER;
        }
        let slot = &mut self.slots[index as usize];
        let key = Key { index, generation: slot.generation };
        Some((key, slot.deadline, slot.target.as_mut()?))
    }

    /// The start of the earliest bucket if that is above level 0, else `NEVER`: `elapsed` may
    /// move to a time before it (and before `bound`) without a timer changing level.
    fn horizon(&self) -> Tick {
        match self.nonempty.iter().position(|&bits| bits != 0) {
            Some(level) if level > 0 => {
                bucket_start(self.elapsed, level, self.nonempty[level].trailing_zeros() as usize)
            }
            _ => NEVER,
        }
    }

    /// One step of catching up with `now` (at or after `bound` or the earliest bucket's start,
    /// nothing due): takes the earliest bucket if it has begun, cascading it or moving its due
    /// timers to `due`; then makes `bound` exact (unless the earliest timer of its new earliest
    /// bucket was cancelled since that bucket was last empty).
    fn advance(&mut self, now: Tick) {
        let Some(level) = self.nonempty.iter().position(|&bits| bits != 0) else {
            self.bound = NEVER; // Only reached with nothing queued.
            return;
        };
        let bucket = self.nonempty[level].trailing_zeros() as usize;
        let start = bucket_start(self.elapsed, level, bucket);
        if level == 0 || start <= now {
            if level > 0 {
                // Everything in it is at or after `start`, which is after `elapsed`.
                self.elapsed = start;
            }
            self.take_due(level * BUCKETS + bucket, now);
        }
        self.refresh();
    }

    /// Empties bucket `list` (the earliest), moving its timers due at `now` to `due` in deadline
    /// order and placing the others again (in a finer level, unless `list` is in level 0).
    fn take_due(&mut self, list: usize, now: Tick) {
        let mut bucket = mem::take(&mut self.buckets[list]);
        self.nonempty[list / BUCKETS] &= !(1 << (list % BUCKETS));
        self.bucket_min[list] = NEVER;
        let mut scratch = mem::take(&mut self.scratch);
        for &index in &bucket {
            let deadline = self.slots[index as usize].deadline;
            if deadline <= now {
                scratch.push((deadline, index));
            } else {
                self.link(index, deadline);
            }
        }
        bucket.clear();
        if self.buckets[list].is_empty() && bucket.capacity() <= KEPT {
            self.buckets[list] = bucket;
        }
        if scratch.len() > 1 {
            scratch.sort_unstable();
        }
        for &(deadline, index) in &scratch {
            self.due_min = self.due_min.min(deadline);
            let slot = &mut self.slots[index as usize];
            slot.list = DUE;
            // `due.len() < slots.len() < u32::MAX` (see `insert`).
            slot.place = self.due.len() as u32;
            self.due.push(index);
        }
        scratch.clear();
        if scratch.capacity() <= KEPT {
            self.scratch = scratch;
        }
    }

    /// Sets `bound` to its exact value: the due timers', the earliest level-0 bucket's earliest
    /// deadline, or the earliest bucket's `bucket_min`.
    fn refresh(&mut self) {
        if self.due_next < self.due.len() {
            self.bound = self.due_min;
            return;
        }
        let Some(level) = self.nonempty.iter().position(|&bits| bits != 0) else {
            self.bound = NEVER;
            return;
        };
        let bucket = self.nonempty[level].trailing_zeros() as usize;
        self.bound = if level == 0 {
            let slots = &self.slots;
            self.buckets[bucket].iter().map(|&index| slots[index as usize].deadline).min().unwrap_or(NEVER)
        } else {
            self.bucket_min[level * BUCKETS + bucket]
        };
    }

    fn clear_due(&mut self) {
        self.due.clear();
        self.due_next = 0;
        self.due_min = NEVER;
        if self.due.capacity() > KEPT {
            self.due = Vec::new();
        }
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
    /// Inlined: a call's register saves cost a quarter of it.
    #[inline(always)]
    fn link(&mut self, index: u32, deadline: Tick) {
        let elapsed = self.elapsed;
        // The level of the highest 6-bit digit (above the grain) in which the deadline differs
        // from `elapsed`.
        let (level, bucket) = if deadline <= elapsed {
            (0, bucket_of(elapsed, 0))
        } else {
            let level = (((elapsed ^ deadline) >> GRAIN_BITS) | 1).ilog2() / LEVEL_BITS;
            (level as usize, bucket_of(deadline, level as usize))
        };
        let list = level * BUCKETS + bucket;
        let members = &mut self.buckets[list];
        // `members.len() < slots.len() < u32::MAX` (see `insert`).
        let place = members.len() as u32;
        members.push(index);
        let slot = &mut self.slots[index as usize];
        slot.deadline = deadline;
        // `list < LEVELS * BUCKETS`.
        slot.list = list as u32;
        slot.place = place;
        self.nonempty[level] |= 1 << bucket;
        let earliest = &mut self.bucket_min[list];
        *earliest = (*earliest).min(deadline);
        self.bound = self.bound.min(deadline);
    }

    /// Takes queued slot `index` out of its bucket or `due`. `bound` stays (a lower bound still)
    /// unless nothing is left queued.
    #[inline]
    fn unqueue(&mut self, index: u32) {
        let Slot { place, list, .. } = self.slots[index as usize];
        self.slots[index as usize].list = NOT_QUEUED;
        if list == DUE {
            self.due[place as usize] = NO_SLOT;
        } else {
            let members = &mut self.buckets[list as usize];
            members.swap_remove(place as usize);
            if let Some(&moved) = members.get(place as usize) {
                self.slots[moved as usize].place = place;
            } else if members.is_empty() {
                self.nonempty[list as usize / BUCKETS] &= !(1 << (list as usize % BUCKETS));
                self.bucket_min[list as usize] = NEVER;
            }
            if members.capacity() > KEPT && members.len() < members.capacity() / 4 {
                members.shrink_to(members.len() * 2);
            }
        }
        self.queued -= 1;
        if self.queued == 0 {
            self.bound = NEVER;
        }
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
