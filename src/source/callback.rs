//! A callback shared between the source that runs it and the handle that removes it.

use std::cell::Cell;
use std::fmt;
use std::ptr;

use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{thread_local, Mutex};

thread_local! {
    /// The slot whose callback is running on this thread, so that a callback removing its own
    /// registration does not wait for itself.
    static RUNNING: Cell<*const ()> = const { Cell::new(ptr::null()) };
}

/// A registered callback with the deregistration guarantee of [`EventSource`] contract 5: once
/// [`remove`](Self::remove) has returned, the callback never runs again.
///
/// A source keeps one slot per registration (typically in an `Arc` shared with the registration
/// handle), runs it with [`call`](Self::call) when the event fires, and the handle's `Drop` calls
/// [`remove`](Self::remove). `remove` on another thread waits for a call in progress to finish;
/// `remove` from inside the callback itself returns at once and the callback is dropped as soon as
/// it returns, so a callback may deregister itself without deadlocking.
///
/// [`EventSource`]: crate::EventSource
///
/// # Examples
///
/// ```
/// use reactor::source::CallbackSlot;
///
/// let slot: CallbackSlot<dyn FnMut(u32) -> u32 + Send> = CallbackSlot::new(Box::new(|x| x + 1));
/// assert_eq!(slot.call(|callback| callback(1)), Some(2));
/// slot.remove();
/// assert_eq!(slot.call(|callback| callback(1)), None);
/// ```
pub struct CallbackSlot<F: ?Sized> {
    /// `None` once removed. Held locked for the whole time the callback runs: that is what makes
    /// `remove` on another thread wait for a call in progress.
    callback: Mutex<Option<Box<F>>>,
    /// Set by `remove` before it takes the lock. It lets `call` skip the lock for a removed slot.
    removed: AtomicBool,
    /// Set by a `remove` called from inside the callback (on the thread running it, which holds
    /// the lock): the call drops the callback once it returns. A `remove` on another thread
    /// leaves this unset and drops the callback itself, so that it returns only after the
    /// callback and everything it owns are gone.
    removed_by_callback: AtomicBool,
}

impl<F: ?Sized> CallbackSlot<F> {
    /// Stores `callback`.
    pub fn new(callback: Box<F>) -> Self {
        Self {
            callback: Mutex::new(Some(callback)),
            removed: AtomicBool::new(false),
            removed_by_callback: AtomicBool::new(false),
        }
    }

    /// Runs `f` with the callback, unless the slot was removed; returns what `f` returned.
    ///
    /// Calls on one slot are serialised. If `f` panics, the panic propagates and the slot stays
    /// usable.
    pub fn call<R>(&self, f: impl FnOnce(&mut F) -> R) -> Option<R> {
        // Relaxed: only a fast path. The mutex below is what orders a call against `remove`.
        if self.removed.load(Ordering::Relaxed) {
            return None;
        }
        let mut callback = self.callback.lock();
        let result = {
            let running = RunningGuard::enter(self.id());
            let result = f(callback.as_mut()?);
            drop(running);
            result
        };
        // Relaxed: only this thread, inside `f`, sets the flag; program order orders it. A
        // `remove` on another thread is blocked on the lock we hold and drops the callback itself.
        if self.removed_by_callback.load(Ordering::Relaxed) {
            let removed = callback.take();
            drop(callback);
            drop(removed);
        }
        Some(result)
    }

    /// Removes the callback. After this returns the callback never runs again.
    ///
    /// Waits for a call in progress on another thread, then drops the callback: when it returns,
    /// the callback and everything it owns are gone. From inside the callback itself it returns
    /// at once, and the callback is dropped right after it returns.
    pub fn remove(&self) {
        // Relaxed: a call that misses the flag still meets the mutex, which `remove` takes below.
        self.removed.store(true, Ordering::Relaxed);
        if RUNNING.with(Cell::get) == self.id() {
            // Relaxed: read by the `call` up this thread's stack, after `f` returns.
            self.removed_by_callback.store(true, Ordering::Relaxed);
            return;
        }
        #[cfg(reactor_loom)]
        if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::CallbackRemoveSkipsLock) {
            return;
        }
        let removed = self.callback.lock().take();
        drop(removed);
    }

    /// Whether [`remove`](Self::remove) has been called.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }

    fn id(&self) -> *const () {
        ptr::from_ref(self).cast()
    }
}

impl<F: ?Sized> fmt::Debug for CallbackSlot<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSlot").field("removed", &self.is_removed()).finish()
    }
}

/// Marks a slot as running on this thread for as long as it lives, restoring the previous mark
/// (a callback may run another slot's callback) even when the callback panics.
struct RunningGuard {
    previous: *const (),
}

impl RunningGuard {
    fn enter(slot: *const ()) -> Self {
        Self { previous: RUNNING.with(|running| running.replace(slot)) }
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|running| running.set(self.previous));
    }
}
