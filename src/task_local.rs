//! Task-local values: a value bound to one future (one task) rather than to one thread.
//!
//! Declare a key with [`task_local!`](crate::task_local!), bind a value to a future with
//! [`LocalKey::scope`], and read it from anywhere that future's polls reach with
//! [`LocalKey::with`], [`LocalKey::try_with`] or [`LocalKey::get`]:
//!
//! ```
//! use reactor::{source::Parking, Builder};
//!
//! reactor::task_local! {
//!     static REQUEST_ID: u64;
//! }
//!
//! /// Deep inside the request's code, without an argument threaded through every call.
//! fn log(message: &str) -> String {
//!     format!("[request {}] {message}", REQUEST_ID.get())
//! }
//!
//! let executor = Builder::new().worker_threads(2).build(Parking::new())?;
//! let tasks: Vec<_> = (1..=3)
//!     .map(|id| {
//!         executor.spawn(REQUEST_ID.scope(id, async move {
//!             reactor::yield_now().await; // may resume on another worker: the value moves along
//!             log("done")
//!         }))
//!     })
//!     .collect();
//! for (id, task) in (1..=3).zip(tasks) {
//!     assert_eq!(executor.block_on(task)?, format!("[request {id}] done"));
//! }
//! assert!(REQUEST_ID.try_with(|id| *id).is_err()); // outside every scope
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works, and why work stealing cannot mix values up
//!
//! The value lives *in the future* that [`scope`](LocalKey::scope) returns
//! ([`TaskLocalFuture`]), not on a thread. Each poll of that future moves the value into a
//! thread-local slot of the key, polls the inner future, and moves it back out before the poll
//! returns, also when the inner poll panics (a guard's `Drop` does it). The inner future is
//! dropped the same way, inside the scope, so its `Drop` sees the value too. Between polls the
//! slot holds whatever it held before (usually nothing), so:
//!
//! - a task stolen by another worker carries its value with it: the value is in the task's
//!   future, and a poll runs on one thread from start to end;
//! - sibling tasks polled on the same thread in between never see it;
//! - nested scopes of the same key stack: the inner scope swaps its value in and the outer one
//!   back when it leaves.
//!
//! No state is shared between threads: the slot is a thread-local touched only by the thread
//! polling the future, and the value moves between threads only as part of the future, which
//! the executor hands over like any other (with the synchronisation of its queues). There is
//! therefore no protocol of its own for a loom model to check. In the model build
//! (`--cfg reactor_loom --cfg loom`) the slot is a *loom* thread-local all the same: loom runs
//! all its threads on one OS thread, where a std thread-local would be shared among them and a
//! preempted poll would leave its value to another thread's future. The workspace's loom models
//! run a scoped task beside a scoped `block_on` in the model build, with a seeded bug that puts
//! the slot back in a std thread-local, which they catch.
//!
//! # Scope, and what is not inherited
//!
//! - A task spawned from inside a scope does **not** inherit the value (it is another future);
//!   bind it again: `executor.spawn(KEY.scope(KEY.get(), child))`.
//! - [`sync_scope`](LocalKey::sync_scope) binds a value for a synchronous call. Around a
//!   `block_on` it is visible to everything that `block_on` polls on this thread, the pool tasks
//!   and `spawn_local` tasks it runs included, because they all run inside the call: use
//!   [`scope`](LocalKey::scope) on the future instead.
//! - [`with`](LocalKey::with) holds a shared borrow of the value while its closure runs; entering
//!   a scope of the *same* key from inside that closure panics (the slot cannot be swapped while
//!   borrowed). Other keys, and nested `with`/`get` of the same key, are fine.
//!
//! # Compared with tokio
//!
//! The API is tokio's `tokio::task_local!` and `tokio::task::LocalKey`, with the same semantics:
//! `scope` (returning a future, tokio's `tokio::task::futures::TaskLocalFuture`), `sync_scope`,
//! `with` (panics outside a scope), `try_with` (returns [`AccessError`]), `get` (for `Clone`
//! values) and `TaskLocalFuture::take_value`. Code written against tokio's keys ports by changing
//! the paths. The differences:
//!
//! - The types live in `reactor::task_local` (tokio: `tokio::task` and `tokio::task::futures`);
//!   the macro is `reactor::task_local!` in both.
//! - The keys work on any executor, tokio's included: nothing here depends on reactor's
//!   executor, only on each poll running on one thread.
//! - In reactor's loom model build (`--cfg reactor_loom --cfg loom`) the slot is a loom
//!   thread-local, so a key may only be used inside a loom model there.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys: each `static NAME: Type;` becomes a
/// [`LocalKey<Type>`](LocalKey) named `NAME`, with the visibility and attributes given.
///
/// # Examples
///
/// ```
/// reactor::task_local! {
///     /// The user a request runs for.
///     pub static USER: String;
///     static ATTEMPT: u32;
/// }
///
/// let greeting = USER.sync_scope("ada".to_owned(), || format!("hello, {}", USER.get()));
/// assert_eq!(greeting, "hello, ada");
/// assert!(ATTEMPT.try_with(|attempt| *attempt).is_err());
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_key!($(#[$attr])* $vis $name, $t);
    };
}

/// One key of [`task_local!`](crate::task_local!): a std thread-local slot (loom's in the model
/// build, where loom's threads share one OS thread).
#[doc(hidden)]
#[cfg(not(reactor_loom))]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task_local::LocalKey<$t> = {
            ::std::thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task_local::LocalKey::__new(&SLOT)
        };
    };
}

/// One key of [`task_local!`](crate::task_local!), model build: the slot is loom's thread-local.
#[doc(hidden)]
#[cfg(reactor_loom)]
#[macro_export]
macro_rules! __task_local_key {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task_local::LocalKey<$t> = {
            $crate::task_local::__loom_thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    ::std::cell::RefCell::new(::std::option::Option::None);
            }
            $crate::task_local::LocalKey::__new(&SLOT)
        };
    };
}

#[cfg(reactor_loom)]
#[doc(hidden)]
pub use loom::thread_local as __loom_thread_local;

/// The thread-local slot behind a key: the value of the scope being polled on this thread.
#[cfg(not(reactor_loom))]
type Slot<T> = std::thread::LocalKey<RefCell<Option<T>>>;
#[cfg(reactor_loom)]
type Slot<T> = loom::thread::LocalKey<RefCell<Option<T>>>;

/// A key for task-local values of type `T`, declared with [`task_local!`](crate::task_local!).
///
/// A value is bound with [`scope`](Self::scope) (for a future) or
/// [`sync_scope`](Self::sync_scope) (for a closure) and read inside it with
/// [`with`](Self::with), [`try_with`](Self::try_with) or [`get`](Self::get). See the
/// [module docs](self) for how the value follows its task across threads.
pub struct LocalKey<T: 'static> {
    slot: &'static Slot<T>,
}

impl<T: 'static> LocalKey<T> {
    /// Used by [`task_local!`](crate::task_local!) only.
    #[doc(hidden)]
    pub const fn __new(slot: &'static Slot<T>) -> Self {
        Self { slot }
    }

    /// Binds `value` to `future`: every poll of the returned future (and its drop) sees `value`
    /// through this key, on whichever thread it runs.
    ///
    /// The value is dropped with the returned future, unless taken back with
    /// [`TaskLocalFuture::take_value`].
    ///
    /// # Panics
    ///
    /// A poll of the returned future panics if it runs inside a [`with`](Self::with) closure of
    /// this same key (the slot is borrowed), or while the thread's thread-locals are being
    /// destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// reactor::task_local! {
    ///     static DEPTH: u32;
    /// }
    ///
    /// let executor = reactor::Executor::new(reactor::source::Parking::new())?;
    /// let depths = executor.block_on(DEPTH.scope(1, async {
    ///     let inner = DEPTH.scope(2, async { DEPTH.get() }).await;
    ///     (inner, DEPTH.get()) // the outer value is back
    /// }));
    /// assert_eq!(depths, (2, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture { key: self, value: Some(value), future: Some(future) }
    }

    /// Runs `f` with `value` bound to this key, and returns its result; the previous value (if
    /// any) is back when this returns or unwinds, and `value` is dropped.
    ///
    /// # Panics
    ///
    /// Panics if called inside a [`with`](Self::with) closure of this same key, or while the
    /// thread's thread-locals are being destroyed. A panic of `f` propagates, after the slot is
    /// restored.
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut value = Some(value);
        match self.scope_inner(&mut value, f) {
            Ok(output) => output,
            Err(error) => error.panic(),
        }
    }

    /// Runs `f` with a reference to the value bound to this key.
    ///
    /// # Panics
    ///
    /// Panics with "cannot access a task-local value outside of its scope" if no scope of
    /// this key is being polled on this thread (as tokio's `with` does); use
    /// [`try_with`](Self::try_with) to get an error instead.
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(output) => output,
            Err(AccessError { .. }) => panic!("cannot access a task-local value outside of its scope"),
        }
    }

    /// Runs `f` with a reference to the value bound to this key, if any.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if no scope of this key is being polled on this thread, or the thread's
    /// thread-locals are being destroyed; `f` is not called then.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        let read = self.with_slot(|slot| {
            // A shared borrow: `with` may nest. Only a scope swaps the slot (a mutable borrow).
            let value = slot.try_borrow().map_err(|_| AccessError { _private: () })?;
            value.as_ref().map(f).ok_or(AccessError { _private: () })
        });
        read.unwrap_or(Err(AccessError { _private: () }))
    }

    /// Runs `f` on this thread's slot; `Err` while the thread's thread-locals are destroyed.
    fn with_slot<R>(&'static self, f: impl FnOnce(&RefCell<Option<T>>) -> R) -> Result<R, AccessError> {
        #[cfg(reactor_loom)]
        if crate::sync::seeded!(TaskLocalStdSlot) {
            return Ok(seeded_std_slot::with(self, f));
        }
        self.slot.try_with(f).map_err(|_| AccessError { _private: () })
    }

    /// Swaps `value` into the slot, runs `f`, and swaps it back out, also when `f` unwinds.
    fn scope_inner<F: FnOnce() -> R, R>(&'static self, value: &mut Option<T>, f: F) -> Result<R, ScopeError> {
        /// Swaps the value back out of the slot (and the previous one back in) on drop.
        struct Guard<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
        }

        impl<T: 'static> Drop for Guard<'_, T> {
            fn drop(&mut self) {
                // Entering borrowed and accessed the slot, and no borrow of it outlives a
                // `with` call, so neither fails here; if one did, the value stays in the slot
                // (to be dropped with the thread) rather than be swapped into a wrong place.
                let _ = self.key.with_slot(|slot| {
                    if let Ok(mut slot) = slot.try_borrow_mut() {
                        mem::swap(self.value, &mut *slot);
                    }
                });
            }
        }

        self.with_slot(|slot| slot.try_borrow_mut().map(|mut slot| mem::swap(value, &mut *slot)))
            .map_err(|_| ScopeError::Destroyed)?
            .map_err(|_| ScopeError::Borrowed)?;
        let _guard = Guard { key: self, value };
        Ok(f())
    }
}

/// The seeded bug `TaskLocalStdSlot`: each key's slot in a std thread-local, which loom's
/// threads (all on one OS thread) share.
#[cfg(reactor_loom)]
mod seeded_std_slot {
    use std::any::Any;
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::LocalKey;

    std::thread_local! {
        /// Each key's slot, by the key's address; leaked, as a thread-local would live on.
        static SLOTS: RefCell<HashMap<usize, &'static dyn Any>> = RefCell::new(HashMap::new());
    }

    pub(super) fn with<T: 'static, R>(
        key: &'static LocalKey<T>,
        f: impl FnOnce(&RefCell<Option<T>>) -> R,
    ) -> R {
        let slot = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let slot = slots.entry(key as *const LocalKey<T> as usize).or_insert_with(|| {
                let slot: &'static RefCell<Option<T>> = Box::leak(Box::new(RefCell::new(None)));
                slot
            });
            *slot
        });
        f(slot.downcast_ref().expect("one slot type per key"))
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the value bound to this key.
    ///
    /// # Panics
    ///
    /// Panics outside a scope of this key, like [`with`](Self::with).
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// Why a scope could not be entered.
enum ScopeError {
    /// A `with` closure of the same key is running on this thread.
    Borrowed,
    /// The thread's thread-locals are being destroyed.
    Destroyed,
}

impl ScopeError {
    #[track_caller]
    fn panic(self) -> ! {
        match self {
            Self::Borrowed => {
                panic!("cannot enter a task-local scope inside a `with` closure of the same key")
            }
            Self::Destroyed => {
                panic!("cannot enter a task-local scope while the thread's thread-locals are destroyed")
            }
        }
    }
}

/// The error of [`LocalKey::try_with`] outside a scope of the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set: not inside a scope of its key")
    }
}

impl Error for AccessError {}

/// A future with a task-local value bound to it, returned by [`LocalKey::scope`].
///
/// It owns the value between polls and swaps it into the key's thread-local slot for each poll
/// of the inner future, and for the inner future's drop.
#[must_use = "futures do nothing unless polled"]
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    /// The bound value, except during a poll of `future` (then it is in the slot).
    value: Option<T>,
    /// Structurally pinned; `None` once it completed (dropped inside the scope).
    future: Option<F>,
}

// `value` is never pinned (it moves in and out of the slot), so only `F` decides.
impl<T: 'static, F: Unpin> Unpin for TaskLocalFuture<T, F> {}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the bound value out of this future, typically after it completed; `None` if it was
    /// taken already. Taken before the future completes, the key is unset for its remaining
    /// polls (as in tokio).
    ///
    /// # Examples
    ///
    /// ```
    /// reactor::task_local! {
    ///     static LOG: Vec<&'static str>;
    /// }
    ///
    /// let executor = reactor::Executor::new(reactor::source::Parking::new())?;
    /// let mut scoped = std::pin::pin!(LOG.scope(vec!["start"], async {}));
    /// executor.block_on(scoped.as_mut());
    /// assert_eq!(scoped.take_value(), Some(vec!["start"]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        // SAFETY: `value` is not structurally pinned (see the `Unpin` impl); `future` is
        // not moved.
        unsafe { self.get_unchecked_mut() }.value.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned and only reached through `Pin::new_unchecked`
        // below (and dropped in place); `value` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let key = this.key;
        // SAFETY: `this` is pinned, and so is its `future` field (see above).
        let mut future = unsafe { Pin::new_unchecked(&mut this.future) };
        let polled = key.scope_inner(&mut this.value, || {
            let poll = future.as_mut().as_pin_mut()?.poll(cx);
            if poll.is_ready() {
                // Dropped here, inside the scope, like a future dropped before completion.
                future.set(None);
            }
            Some(poll)
        });
        match polled {
            Ok(Some(poll)) => poll,
            Ok(None) => panic!("`TaskLocalFuture` polled after completion"),
            Err(error) => error.panic(),
        }
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if mem::needs_drop::<F>() && self.future.is_some() {
            // SAFETY: dropped in place (`set`), never moved: the pinning guarantee holds.
            let mut future = unsafe { Pin::new_unchecked(&mut self.future) };
            // If the scope cannot be entered (inside a `with` of this key, or during thread-local
            // destruction), the future is dropped outside it with the fields, rather than panic
            // in a drop.
            let _ = self.key.scope_inner(&mut self.value, || future.set(None));
        }
    }
}

impl<T: fmt::Debug + 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").field("value", &self.value).finish_non_exhaustive()
    }
}
