//! The write side of the runtime metrics: the counters each thread of an executor keeps, and how
//! it keeps them cheaply. The read side, and what each number means, is in `metrics.rs`.
//!
//! # Cost
//!
//! The metrics are always on, so the scheduling loop pays for them on every task. It pays one
//! add to a plain integer of its own per task polled; nothing shared is written per poll. A
//! thread *publishes* what it counted into its cache-padded slot only every
//! [`EVENT_INTERVAL`](super::worker::EVENT_INTERVAL) tasks (where it polls the source anyway),
//! when it parks, and when it leaves the loop. The clock is read only at the edges of a park,
//! twice per park, never per poll.
//!
//! # Orderings
//!
//! A worker's slot is written by its worker alone, and the spare queue's slot by the one thread
//! holding the spare queue (`block_on` or a host's turn): a publish is a `Relaxed` load and a
//! `Relaxed` store per counter, no read-modify-write. That is enough because:
//!
//! - there is one writer at a time, so no update is lost: the spare queue passes from one
//!   holder to the next through the `spare_queue` mutex, whose release/acquire orders the last
//!   store of one holder before the first load of the next;
//! - nothing is published *through* a counter: no thread reads one to decide anything, or to
//!   find data written before it. A reader gets some recent value of each counter (a value
//!   is never torn), and each counter on its own only grows; values of different counters may
//!   come from different moments (the snapshot is not atomic across counters, as the public
//!   docs say).
//!
//! Threads that own no queue (a second `block_on` running beside the first, with the spare
//! queue taken) share one more slot, [`Slot::shared`], and add to it with `Relaxed`
//! `fetch_add`: several may write it at once. They are rare, and publish as rarely as the others.
//!
//! # Not in the loom models
//!
//! The counters are std atomics even in the model build, on purpose: they are not a protocol
//! (see above: no thread acts on what it reads from them), so a model has nothing to check in
//! them, and as loom atomics every publish would add scheduling points to every model of the
//! executor without adding a single behaviour worth exploring. The only thing that could go
//! wrong, two writers on an owner-written slot, would lose counts, never corrupt memory.

use std::cell::Cell;
// Deliberately std's, not the shim's, in every build: see the module docs ("Not in the loom
// models").
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One counter of a slot.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// The counter's value as some recent moment saw it.
    pub(crate) fn get(&self) -> u64 {
        // Relaxed: a counter publishes nothing (module docs).
        self.0.load(Ordering::Relaxed)
    }

    /// Adds `n`: a load and a store if the slot has one writer at a time, else an atomic add.
    #[inline]
    fn add(&self, n: u64, shared: bool) {
        if shared {
            // Relaxed: several writers, nothing published (module docs).
            self.0.fetch_add(n, Ordering::Relaxed);
        } else {
            // Relaxed load and store: this thread is the slot's only writer (module docs).
            self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    /// Sets the counter (a gauge), for a slot with one writer at a time.
    fn set(&self, value: u64) {
        // Relaxed: as in `add`.
        self.0.store(value, Ordering::Relaxed);
    }
}

/// What one thread (or one set of threads) of an executor counted, on cache lines of its own.
///
/// 128 bytes: two lines, for CPUs that fetch lines in pairs, so that a worker publishing never
/// disturbs its neighbour's slot (as `ActiveShards` does for its shards).
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Tasks polled (`Runnable::run`).
    pub(crate) polls: Counter,
    /// Tasks taken from other threads' queues.
    pub(crate) steals: Counter,
    /// Successful steal operations (each moves one or more tasks).
    pub(crate) steal_operations: Counter,
    /// Times the thread ran out of tasks and went to sleep.
    pub(crate) parks: Counter,
    /// Nanoseconds spent outside a park.
    pub(crate) busy_nanos: Counter,
    /// Nanoseconds spent in a park.
    pub(crate) parked_nanos: Counter,
    /// The length of a plain (unstealable) queue as of the last publish; unused for the
    /// workers' queues, whose stealers tell their length at any time.
    pub(crate) plain_queue_depth: Counter,
    /// Whether several threads may write this slot at once (`fetch_add` instead of load+store).
    shared: bool,
}

impl Slot {
    /// A slot for threads that write it concurrently.
    pub(crate) fn shared() -> Self {
        Self { shared: true, ..Self::default() }
    }
}

/// What a thread counted since it last published, and where it publishes: part of its
/// scheduling state (`Ticks`), so the loop reaches it without a thread-local lookup.
pub(crate) struct Recorder<'a> {
    slot: &'a Slot,
    polls: u64,
    /// In `Cell`s: stealing borrows the scheduling state shared.
    steals: Cell<u64>,
    steal_operations: Cell<u64>,
    /// Since when the thread has been busy (its last unpark, or its start).
    busy_since: Instant,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(slot: &'a Slot) -> Self {
        Self {
            slot,
            polls: 0,
            steals: Cell::new(0),
            steal_operations: Cell::new(0),
            busy_since: Instant::now(),
        }
    }

    /// Counts one task polled.
    #[inline(always)]
    pub(crate) fn polled(&mut self) {
        self.polls += 1;
    }

    /// Counts a steal that took `tasks` tasks.
    pub(crate) fn stole(&self, tasks: usize) {
        self.steals.set(self.steals.get() + tasks as u64);
        self.steal_operations.set(self.steal_operations.get() + 1);
    }

    /// Publishes what was counted since the last publish into the slot.
    pub(crate) fn publish(&mut self) {
        let shared = self.slot.shared;
        if self.polls != 0 {
            self.slot.polls.add(std::mem::take(&mut self.polls), shared);
        }
        if self.steal_operations.get() != 0 {
            self.slot.steals.add(self.steals.take(), shared);
            self.slot.steal_operations.add(self.steal_operations.take(), shared);
        }
    }

    /// Publishes the length of the plain queue this thread owns (spare slot only).
    pub(crate) fn publish_plain_depth(&self, depth: usize) {
        if !self.slot.shared {
            self.slot.plain_queue_depth.set(depth as u64);
        }
    }

    /// The thread is about to park: publishes, counts the park and the time busy since the last
    /// one. Returns when the park began, for [`unparked`](Self::unparked).
    pub(crate) fn parking(&mut self) -> Instant {
        self.publish();
        let now = Instant::now();
        let shared = self.slot.shared;
        self.slot.parks.add(1, shared);
        if !shared {
            // A thread parks only with its own queue empty.
            self.slot.plain_queue_depth.set(0);
        }
        self.slot.busy_nanos.add(nanos(now.saturating_duration_since(self.busy_since)), shared);
        now
    }

    /// The thread is back from the park that began at `parked_at`: counts the time parked.
    pub(crate) fn unparked(&mut self, parked_at: Instant) {
        let now = Instant::now();
        self.slot.parked_nanos.add(nanos(now.saturating_duration_since(parked_at)), self.slot.shared);
        self.busy_since = now;
    }
}

impl Drop for Recorder<'_> {
    /// The thread leaves its loop (a worker at shutdown, a `block_on` that returns): what it
    /// counted since its last publish, and its busy time, are not lost.
    fn drop(&mut self) {
        self.publish();
        if !self.slot.shared {
            // The thread gives its queue back (to the injector, which has its own gauge).
            self.slot.plain_queue_depth.set(0);
        }
        let busy = Instant::now().saturating_duration_since(self.busy_since);
        self.slot.busy_nanos.add(nanos(busy), self.slot.shared);
    }
}

/// `duration` in nanoseconds, saturating (584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The counters of the source's waits, written by whichever thread waits (one at a time: the
/// poll token's holder) and read by anyone.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct SourceCounters {
    /// Calls of `EventSource::wait`, blocking or not.
    pub(crate) waits: Counter,
    /// Waits that ran no callback (timed out, were notified, or found nothing ready).
    pub(crate) empty_waits: Counter,
    /// Callbacks run by waits (the counts `wait` returned, summed).
    pub(crate) events: Counter,
}

impl SourceCounters {
    /// Counts a wait that dispatched `events` callbacks (0 for a failed one).
    pub(crate) fn record(&self, events: usize) {
        // A read-modify-write, though waits are serialised by the poll token: a wait costs a
        // system call, so the atomic add is lost in it, and the counts stay right even where a
        // host's own dispatch runs beside the token. Relaxed: nothing is published (module
        // docs).
        self.waits.0.fetch_add(1, Ordering::Relaxed);
        if events == 0 {
            self.empty_waits.0.fetch_add(1, Ordering::Relaxed);
        } else {
            self.events.0.fetch_add(events as u64, Ordering::Relaxed);
        }
    }
}

/// Every counter of an executor.
#[derive(Debug)]
pub(crate) struct Counters {
    /// One slot per worker thread, then one for the thread holding the spare queue (a
    /// `block_on` or a host's turn).
    pub(crate) slots: Box<[Slot]>,
    /// The threads that run tasks without owning a queue (module docs).
    pub(crate) unowned: Slot,
    pub(crate) source: SourceCounters,
}

impl Counters {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            slots: (0..=workers).map(|_| Slot::default()).collect(),
            unowned: Slot::shared(),
            source: SourceCounters::default(),
        }
    }

    /// Worker `index`'s slot.
    pub(crate) fn worker(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    /// The slot of a thread that runs tasks outside the workers: the spare queue's if it holds
    /// the spare queue, else the shared one.
    pub(crate) fn outside(&self, holds_spare: bool) -> &Slot {
        match (holds_spare, self.slots.last()) {
            (true, Some(spare)) => spare,
            _ => &self.unowned,
        }
    }
}
