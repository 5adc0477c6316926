//! The loom shim: the only place in the crate that names std's sync types.
//!
//! Everything concurrent in `reactor` imports `Arc`, `Mutex`, atomics, `UnsafeCell`, thread
//! parking and thread-locals from here. Built with `--cfg reactor_loom`, the same paths resolve to
//! [loom](https://docs.rs/loom)'s models, so `loom-tests/` checks the real code, not a copy.
//!
//! Both halves expose one API. Where std and loom differ, the std half takes loom's shape:
//! `UnsafeCell` has `with`/`with_mut`, and `Mutex::lock` returns the guard directly (a poisoned
//! lock only means a callback panicked; the data it guards stays consistent in this crate, so
//! poisoning is cleared rather than propagated).
//!
//! The `Mutex` and `UnsafeCell` wrappers are re-exported as `reactor::shim` (hidden from the docs)
//! for the workspace's backends, whose own shims take them from there.
//!
//! Loom cannot park with a timeout, so under loom [`thread::park_timeout`] returns at once after a
//! yield. Callers already treat a timed park as one that may return early.

#[cfg(not(reactor_loom))]
pub(crate) mod imp {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
        };
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, park_timeout, Builder, JoinHandle, Thread};
    }

    pub(crate) use std::thread_local;

    /// A mutex whose `lock` ignores poisoning (see the module docs).
    #[derive(Debug, Default)]
    pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        pub fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
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

    /// `std::cell::UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a raw pointer to the value.
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(reactor_loom)]
pub(crate) mod imp {
    pub use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::Arc;

    /// loom's `thread_local!` taking std's `const { .. }` initialiser form, which its
    /// `$init:expr` fragment does not match under edition 2021.
    macro_rules! loom_thread_local {
        ($(#[$attr:meta])* static $name:ident: $t:ty = const { $init:expr };) => {
            loom::thread_local!($(#[$attr])* static $name: $t = $init);
        };
    }
    pub(crate) use loom_thread_local as thread_local;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
        };
    }

    pub(crate) mod thread {
        pub(crate) use loom::thread::{current, park, Builder, JoinHandle, Thread};

        /// Loom has no timed park: yield, then report an early return (which callers allow).
        pub(crate) fn park_timeout(_timeout: std::time::Duration) {
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

    /// loom's mutex with the poison-free `lock` of the std half.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        pub fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
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

pub(crate) use imp::*;

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

/// `seeded!(Name)`: whether the seeded bug [`seeded_bug::Bug`]`::Name` is switched on for this
/// thread; always `false` outside `reactor_loom` builds, so call sites need no `cfg`.
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

/// Seeded bugs for the negative controls in `loom-tests/`: each model family has one test that
/// switches a bug on and asserts that loom catches it.
///
/// The switch exists only in `reactor_loom` builds and is a std thread-local of the test's own OS
/// thread (loom runs a whole model on the thread that calls `loom::model`), so a negative control
/// never affects the models running beside it.
#[cfg(reactor_loom)]
pub mod seeded_bug {
    use std::any::Any;
    use std::cell::RefCell;

    /// A bug that the code under test can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// `Parking::notify` skips the unpark: a notify racing with a wait is lost.
        ParkingLostUnpark,
        /// Work arriving for an idle pool wakes a listener if there is one, but forgets to notify
        /// the source when the only sleeper is the poller blocked in it.
        NotifyIdleForgetsPoller,
        /// A thread woken for new work does not clear the executor's wake-in-flight flag, so the
        /// next task pushed for a sleeping pool wakes nobody.
        WokenThreadKeepsWakeFlag,
        /// Unparking a thread blocked in the source as the poller skips the source's notify.
        UnparkSkipsSourceNotify,
        /// Unparking a thread parked without the poll token skips its thread unpark.
        UnparkSkipsThreadUnpark,
        /// `CallbackSlot::remove` marks the slot removed without waiting for a call in progress.
        CallbackRemoveSkipsLock,
        /// `Ping::ping` queues its entry but does not notify the blocking source.
        PingSkipsNotify,
        /// A stealer loads a local queue's `tail` with `Relaxed` instead of `Acquire`: it may read
        /// a task before the owner's write of it is visible.
        LocalQueueRelaxedTail,
        /// A stealer claims its batch with a plain store instead of a compare-and-swap: a
        /// concurrent pop (or steal) takes the same task too.
        LocalQueueUnreservedSteal,
        /// Unparking a thread blocked in the source skips the source's notify whenever the waking
        /// thread is dispatching some source, not checking that it is the sleeper itself.
        UnparkTrustsAnyDispatcher,
        /// A `block_on` thread sleeps without entering the idle list, so pool work never wakes it.
        BlockOnSleepsUnlisted,
        /// A `block_on` that returns does not hand the poll role to a thread sleeping without it.
        BlockOnExitSkipsHandOff,
        /// A thread that was picked for new work while it cancelled its own sleep (it had found
        /// work) does not release the wake-in-flight flag.
        CancelledParkKeepsWakeFlag,
        /// A returning `block_on` cancels its `!Send` tasks without waiting for the wake-ups that
        /// other threads have in flight, leaving those tasks' futures undropped.
        LocalExitSkipsInFlightWakes,
        /// Shutdown cancels queued tasks but does not wake the idle ones, whose futures then live
        /// on in the wakers that sources hold.
        ShutdownSkipsIdleTasks,
        /// With paused time, the last thread to fall asleep beside a blocked poller does not wake
        /// it, so the clock never moves.
        LastSleeperLeavesPollerBlocked,
        /// With paused time, the poller blocks after its zero-timeout wait although that wait
        /// consumed the notify meant to end its sleep.
        IdleWaitIgnoresItsWakeUp,
        /// `CallbackSlot::remove` recognises only the innermost slot running on its thread, so a
        /// nested callback removing an outer slot waits for the call up its own stack.
        CallbackRemoveSeesOnlyInnermost,
        /// `NotifierSlot::attach` stores a second notifier over the first instead of refusing it.
        NotifierSlotOverwrites,
    }

    std::thread_local! {
        /// The bug switched on for this OS thread, of whichever crate's `Bug` type.
        static ACTIVE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `bug` switched on for this OS thread.
    pub fn with<R>(bug: Bug, f: impl FnOnce() -> R) -> R {
        with_any(bug, f)
    }

    /// Whether `bug` is switched on for this OS thread.
    pub(crate) fn is_active(bug: Bug) -> bool {
        is_active_any(&bug)
    }

    /// Runs `f` with `bug`, a seeded bug of any crate's own type, switched on for this OS thread.
    /// The backends' seeded-bug switches are thin wrappers over this one.
    pub fn with_any<B: Any, R>(bug: B, f: impl FnOnce() -> R) -> R {
        struct Reset(Option<Box<dyn Any>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                ACTIVE.with(|active| *active.borrow_mut() = self.0.take());
            }
        }
        let _reset = Reset(ACTIVE.with(|active| active.borrow_mut().replace(Box::new(bug))));
        f()
    }

    /// Whether `bug` (of any crate's own type) is switched on for this OS thread.
    pub fn is_active_any<B: Any + PartialEq>(bug: &B) -> bool {
        ACTIVE.with(|active| {
            active.borrow().as_ref().and_then(|active| active.downcast_ref::<B>()) == Some(bug)
        })
    }
}
