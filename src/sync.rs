//! Synchronization primitives that [loom](https://docs.rs/loom) can model-check: the ones
//! `reactor` itself is built on, public so that an event source written on them is checked
//! together with the real [`Executor`](crate::Executor).
//!
//! In an ordinary build every item here is std's, or a thin wrapper over std's. Built with
//! **`--cfg reactor_loom --cfg loom`** (the *model build*), the same paths resolve to loom's
//! models, and so does everything concurrent inside `reactor` and its backends: executor, sleep
//! and wake-up protocol, [`Parking`](crate::source::Parking),
//! [`NotifierSlot`](crate::source::NotifierSlot), [`CallbackSlot`](crate::source::CallbackSlot).
//! A source that takes its `Arc`, locks, atomics, cells and threads from here can then be run by
//! a real `Executor` inside `loom::model`, and loom explores every interleaving of the source,
//! its publishers and the executor's threads, reporting a lost wake-up as a deadlock.
//!
//! ```
//! use reactor::sync::atomic::{AtomicBool, Ordering};
//! use reactor::sync::{Arc, Mutex};
//!
//! // The same code runs on std here and on loom in the model build.
//! let pending = Arc::new(AtomicBool::new(false));
//! let queue = Arc::new(Mutex::new(Vec::new()));
//! queue.lock().push(1); // no poisoning: `lock` returns the guard
//! pending.store(true, Ordering::Release);
//! assert!(pending.swap(false, Ordering::Acquire));
//! assert_eq!(queue.lock().len(), 1);
//! ```
//!
//! # The model build
//!
//! - **Both cfgs, always together.** `reactor_loom` switches this module (and every crate of the
//!   reactor workspace); `loom` switches `concurrent-queue` and `event-listener`, which the
//!   executor uses and which must not block a real thread inside a model. `reactor` refuses to
//!   build with `reactor_loom` alone, saying so.
//! - **`concurrent-queue` and `event-listener` need their `loom` features** under `--cfg loom`.
//!   `reactor` turns them on itself in the model build, and so does the `reactor-loom` kit crate
//!   (the helpers a model needs: `model`, a negative-control runner, a scripted mock source).
//! - Set the cfgs for the whole build (`build.rustflags`), not per crate, in a target directory
//!   of its own so the ordinary build is not invalidated; `--release`, as loom is slow in debug.
//!   The `reactor-loom` crate's documentation gives a `cargo` alias that does all of this.
//! - Everything here must then be created and used inside a loom model (loom panics otherwise),
//!   so ordinary tests stay out of the model build: keep the models in a test file of their own
//!   marked `#![cfg(reactor_loom)]`, and run only that file.
//! - The model build shrinks the executor for the models (local queues of 4 tasks, fewer
//!   shards), and a timed park returns at once (loom has no time): a timed wait that returns
//!   early is allowed by [`EventSource::wait`](crate::EventSource::wait) anyway.
//!
//! # Where the two builds differ
//!
//! The std half takes loom's shape wherever they differ, so code written for one compiles for
//! both:
//!
//! - [`Mutex::lock`] returns the guard itself. A poisoned lock only means a callback panicked,
//!   and the data stays consistent, so poisoning is cleared rather than reported.
//! - [`UnsafeCell`] is reached through [`with`](UnsafeCell::with) and
//!   [`with_mut`](UnsafeCell::with_mut) closures (loom checks every access), not `get`.
//! - Atomics have no `const fn new` under loom: no atomics in `static`s.
//! - loom's [`Arc`] has no `Weak` and no unsized coercion (`Arc<dyn Trait>`); use std's `Arc`
//!   where a value must be shared as a trait object and loom need not see its count.
//! - [`thread::park_timeout`] returns at once under loom, after a yield.
//! - `thread_local!` and `Condvar` are not provided; a blocking source blocks in a
//!   [`Parking`](crate::source::Parking), which is loom-aware.
//!
//! # Seeded bugs
//!
//! [`seeded_bug`] lets your own source contain a bug on demand in the model build, so that a
//! negative control proves your model can fail, and fails for the reason you state.

#[cfg(not(reactor_loom))]
mod imp {
    pub use std::sync::{Arc, MutexGuard};

    /// Atomic types and fences: std's, or loom's in the model build.
    pub mod atomic {
        pub use std::sync::atomic::{
            fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicPtr, AtomicU16,
            AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
        };
    }

    /// Threads: std's, or loom's in the model build (where `park_timeout` returns at once).
    pub mod thread {
        pub use std::thread::{current, park, park_timeout, spawn, yield_now, Builder, JoinHandle, Thread};
    }

    pub(crate) use std::thread_local;

    /// A mutex whose [`lock`](Self::lock) returns the guard itself, ignoring poisoning: std's
    /// `Mutex`, or loom's in the model build (see the [module docs](crate::sync)).
    #[derive(Debug, Default)]
    pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        pub fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        /// The value, ignoring poisoning.
        pub fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    impl<T: ?Sized> Mutex<T> {
        /// Locks the mutex, ignoring poisoning.
        pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// Locks the mutex if it is free, ignoring poisoning.
        pub fn try_lock(&self) -> Option<std::sync::MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(guard) => Some(guard),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        }
    }

    /// A one-permit wake-up for one owner thread: std's thread park and unpark.
    #[derive(Debug)]
    pub(crate) struct ThreadPark(std::thread::Thread);

    impl ThreadPark {
        /// A wake-up for the calling thread.
        pub(crate) fn for_current_thread() -> Self {
            Self(std::thread::current())
        }

        /// Blocks the owner until [`unpark`](Self::unpark) (or spuriously).
        pub(crate) fn park(&self) {
            std::thread::park();
        }

        /// Blocks the owner until `unpark`, `timeout`, or spuriously.
        pub(crate) fn park_timeout(&self, timeout: std::time::Duration) {
            std::thread::park_timeout(timeout);
        }

        /// Wakes the owner, or makes its next park return at once.
        pub(crate) fn unpark(&self) {
            self.0.unpark();
        }
    }

    /// `std::cell::UnsafeCell` with loom's closure-based access API (loom's `UnsafeCell` in the
    /// model build, which checks that no access overlaps a conflicting one).
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a raw pointer through which it may read the value.
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a raw pointer through which it may read or write the value.
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// The value.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}

#[cfg(reactor_loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::{Arc, MutexGuard};

    /// loom's `thread_local!` taking std's `const { .. }` initialiser form, which its
    /// `$init:expr` fragment does not match under edition 2021.
    macro_rules! loom_thread_local {
        ($(#[$attr:meta])* static $name:ident: $t:ty = const { $init:expr };) => {
            loom::thread_local!($(#[$attr])* static $name: $t = $init);
        };
    }
    pub(crate) use loom_thread_local as thread_local;

    /// Atomic types and fences: loom's (std's outside the model build).
    pub mod atomic {
        pub use loom::sync::atomic::{
            fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicPtr, AtomicU16,
            AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
        };
    }

    /// Threads: loom's (std's outside the model build).
    pub mod thread {
        pub use loom::thread::{current, park, spawn, yield_now, Builder, JoinHandle, Thread};

        /// Loom has no timed park: yield, then report an early return (which callers allow).
        pub fn park_timeout(_timeout: std::time::Duration) {
            loom::thread::yield_now();
        }
    }

    /// The loom half of the thread wake-up: a `Notify` owned by the parker rather than the
    /// thread's own park token, because loom 0.7 takes an unpark that arrives while the thread
    /// is blocked on a loom mutex for the mutex's own wake-up and fails an internal assertion,
    /// where std ignores it. A timed park returns at once (see the module docs).
    #[derive(Debug)]
    pub(crate) struct ThreadPark(loom::sync::Notify);

    impl ThreadPark {
        pub(crate) fn for_current_thread() -> Self {
            Self(loom::sync::Notify::new())
        }

        pub(crate) fn park(&self) {
            self.0.wait();
        }

        pub(crate) fn park_timeout(&self, _timeout: std::time::Duration) {
            loom::thread::yield_now();
        }

        pub(crate) fn unpark(&self) {
            self.0.notify();
        }
    }

    /// loom's mutex with the poison-free `lock` of the std half (see the module docs).
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        pub fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        /// The value, ignoring poisoning.
        pub fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// Locks the mutex, ignoring poisoning.
        pub fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// Locks the mutex if it is free, ignoring poisoning.
        pub fn try_lock(&self) -> Option<loom::sync::MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(guard) => Some(guard),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }
}

pub use imp::{atomic, thread, Arc, Mutex, MutexGuard, UnsafeCell};
pub(crate) use imp::{thread_local, ThreadPark};

pub mod seeded_bug;

/// A wake-up target shared through the shim's [`Arc`]; [`waker`] turns one into a [`Waker`].
///
/// std's `Waker::from(std::sync::Arc<impl Wake>)` would hide the reference count from loom,
/// which then reports the target's drop as racing with the last wake; this builds the waker on
/// the shim's `Arc` instead, so both halves of the shim use one checked code path.
///
/// [`Waker`]: std::task::Waker
pub(crate) trait Wake: Send + Sync + 'static {
    /// Wakes the target; the waker keeps its reference.
    fn wake(&self);
}

/// A waker that calls [`Wake::wake`] on `target`, holding one reference to it per clone.
pub(crate) fn waker<W: Wake>(target: Arc<W>) -> std::task::Waker {
    let data = Arc::into_raw(target).cast::<()>();
    // SAFETY: `data` comes from `Arc::<W>::into_raw`, and the vtable's functions treat it as
    // exactly that: `clone` adds a reference, `wake` and `drop` give one back, `wake_by_ref`
    // borrows. `W: Send + Sync`, so the waker may move and be shared across threads.
    unsafe { std::task::Waker::from_raw(std::task::RawWaker::new(data, &WakerVtable::<W>::VTABLE)) }
}

struct WakerVtable<W>(std::marker::PhantomData<W>);

impl<W: Wake> WakerVtable<W> {
    const VTABLE: std::task::RawWakerVTable =
        std::task::RawWakerVTable::new(Self::clone, Self::wake, Self::wake_by_ref, Self::drop);

    unsafe fn clone(data: *const ()) -> std::task::RawWaker {
        // SAFETY: `data` is a live `Arc<W>` pointer (see `waker`); the new waker owns the added
        // reference.
        unsafe { Arc::increment_strong_count(data.cast::<W>()) };
        std::task::RawWaker::new(data, &Self::VTABLE)
    }

    unsafe fn wake(data: *const ()) {
        // SAFETY: `data` is a live `Arc<W>` pointer whose reference this consuming wake owns.
        let target = unsafe { Arc::from_raw(data.cast::<W>()) };
        target.wake();
    }

    unsafe fn wake_by_ref(data: *const ()) {
        // SAFETY: `data` is a live `Arc<W>` pointer, borrowed for the duration of the call.
        unsafe { &*data.cast::<W>() }.wake();
    }

    unsafe fn drop(data: *const ()) {
        // SAFETY: `data` is a live `Arc<W>` pointer whose reference the dropped waker owned.
        drop(unsafe { Arc::from_raw(data.cast::<W>()) });
    }
}

/// `seeded!(Name)`: whether the core's seeded bug `seeded_bug::Bug::Name` is switched on for
/// this thread; always `false` outside `reactor_loom` builds, so call sites need no `cfg`.
macro_rules! seeded {
    ($bug:ident) => {{
        #[cfg(reactor_loom)]
        let active = crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::$bug);
        #[cfg(not(reactor_loom))]
        let active = false;
        active
    }};
}
pub(crate) use seeded;
