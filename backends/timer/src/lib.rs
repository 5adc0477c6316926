//! Timers for reactor: `sleep`, `timeout`, `Interval` and deadline callbacks, from one passive
//! event source that is precise to the nanosecond and scales to millions of pending timers.
//!
//! ```
//! use std::time::Duration;
//! use reactor::Executor;
//! use reactor_timer::{sleep, timeout, Timer};
//!
//! // The timer is a passive source: the executor gives it a parking thread to block in.
//! let executor = Executor::new(Timer::new())?;
//! executor.block_on(async {
//!     sleep(Duration::from_micros(500)).await; // precise to well under a millisecond
//!     let never = std::future::pending::<()>();
//!     assert!(timeout(Duration::from_millis(1), never).await.is_err());
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Tests of timing logic run on a [manual clock](Timer::with_manual_clock): deterministic, and
//! an hour passes in no time, on any number of worker threads.
//!
//! ```
//! use std::time::Duration;
//! use reactor_timer::Timer;
//!
//! let (timer, clock) = Timer::with_manual_clock();
//! let executor = reactor::Builder::new().worker_threads(4).build(timer.clone())?;
//! let task = executor.spawn(timer.timeout(Duration::from_secs(3600), std::future::pending::<()>()));
//! clock.advance(Duration::from_secs(3600));
//! assert!(executor.block_on(task)?.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The source
//!
//! [`Timer`] implements [`reactor::EventSource`] like any user source. It never blocks itself:
//! composed with a blocking source (epoll, [`Parking`](reactor::source::Parking)), it reports
//! its earliest deadline to the nanosecond, so the blocking source sleeps exactly until then, and
//! it wakes that source from any thread when a newly registered deadline is earlier than every
//! other (a later one causes no wake-up). Its `wait` fires every timer that is due, outside the
//! lock that registration takes, and never one that is not due: a timer never fires early.
//!
//! # API
//!
//! - Ambient functions: [`sleep`], [`sleep_until`], [`timeout`], [`timeout_at`], [`interval`] and
//!   [`interval_at`] use the timer of the executor they run on (found with
//!   [`reactor::current_source`]); they panic outside one, and [`Timer::try_current`] is the
//!   non-panicking way to ask. Every one of them is also a method of [`Timer`], which works
//!   without any executor.
//! - Futures: [`Timer::sleep`], [`Timer::sleep_until`] ([`Sleep`], with [`Sleep::reset`]),
//!   [`Timer::timeout`] ([`Timeout`], failing with [`Elapsed`]), [`Timer::interval`]
//!   ([`Interval`], a [`futures_core::Stream`] with a [`MissedTickBehavior`]).
//! - Callbacks: [`Timer::register`] runs a callback on the loop at a deadline; it returns a
//!   [`TimerAction`] to stop or fire again. Dropping the [`TimerRegistration`] cancels it.
//! - Virtual time: [`Timer::with_manual_clock`] gives a timer whose clock moves only by
//!   [`ManualClock::advance`], for deterministic, instant tests of timing logic on any executor.
//!
//! # Bad input
//!
//! `Duration::MAX`, or an instant too far in the future to represent (over 584 years from the
//! timer's creation), means "never": such a sleep never completes, and nothing overflows or
//! panics. An instant in the past means "now": it fires on the first poll or the next wait.
//!
//! # Data structure and costs
//!
//! Timers live in one shard per core; a thread registers in its own shard. Each shard is a slab
//! of timer slots ordered by a hierarchical timing wheel (9 levels of 64 buckets, the finest
//! 1,024 ns wide, the coarsest spanning every representable deadline), behind its own mutex.
//! Insert, cancel and reset cost O(1) (adding the slot to its bucket's array, or taking it out);
//! firing one costs amortised O(1) too, as a timer moves to a finer bucket at most once per
//! level on its way to firing (when its bucket's first timer is due). Timers still fire in
//! deadline order, to the nanosecond: buckets only decide where a timer waits, never whether
//! one is due. Cancel takes the
//! timer out at once (no tombstones, no O(n) search), drops its waker or callback at once, and
//! returns its slot to a free list that the next registration reuses. Firing a [`Sleep`] frees
//! its slot too, under the lock the firing holds anyway, so the sleep completes without taking
//! it.
//!
//! **Memory per pending timer: 52 bytes** inside the timer (a 48-byte slot holding the waker,
//! the deadline and the slot's place in its wheel bucket, and its 4-byte index in that bucket's
//! array, which may have as much again spare), plus the 48-byte [`Sleep`] future itself in the
//! task that awaits it (no allocation). A deadline callback adds one allocation for its shared,
//! boxed closure. Free slots cost nothing besides their 48 bytes (the free list runs through
//! them); the wheel's empty buckets take 18 KiB per shard. Limits: at most `u32::MAX - 2` timers
//! registered at once per shard.
//!
//! **Memory is given back** once most of it is free, so a burst does not pin its peak: a
//! bucket's array halves once under a quarter full, and once under a quarter of the slots are
//! occupied, the free slots at the end of the slot array are cut off and the array shrinks to
//! twice what is left (amortised O(1) per cancel; a queue hovering at a threshold does not
//! reallocate back and forth). After a million timers are armed and all cancelled, under 1 MiB
//! stays resident. An occupied slot never moves (its key must stay valid), so a long-lived timer
//! in a high slot keeps the free slots below it until it goes. Each array is one allocation,
//! which the allocator returns to the system whole.
//!
//! Contention: worker threads registering and cancelling at once take different shard locks. The
//! one lock they share (the waiter's "view" of the earliest deadline) is taken only by a
//! registration that makes its shard's earliest deadline earlier, and by the waiter. A [`Sleep`]
//! polled again and again by the same task takes a lock on its first two polls only, and a
//! `wait` with nothing due locks no shard; the first poll of a `sleep(d)` reads no clock, nor
//! does the poll that completes a sleep the timer woke (each `wait` remembers the time it read). No lock is
//! held while a waker or callback runs; timers are taken off a shard 256 at a time.

#![doc(test(attr(deny(warnings))))]

mod ambient;
mod clock;
mod dispatch;
mod interval;
mod manual_clock;
mod queue;
mod registration;
mod shard;
mod sleep;
mod sync;
mod timeout;
mod timer;

pub use ambient::{interval, interval_at, sleep, sleep_until, timeout, timeout_at};
pub use interval::{Interval, MissedTickBehavior};
pub use manual_clock::ManualClock;
pub use registration::{TimerAction, TimerRegistration};
pub use sleep::Sleep;
pub use timeout::{Elapsed, Timeout};
pub use timer::Timer;

/// Internals that the loom models in `loom-tests/` drive directly; only in `reactor_loom` builds.
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::sync::seeded_bug;
}
