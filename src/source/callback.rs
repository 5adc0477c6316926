//! A callback shared between the source that runs it and the handle that removes it.

use std::cell::RefCell;
use std::fmt;
use std::ptr;

use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{thread_local, Mutex};

thread_local! {
    /// The slots whose callbacks are running on this thread, innermost last. A callback may run
    /// another slot's callback (a dispatch inside a dispatch), so this is a stack, not one slot:
    /// a callback that removes *any* registration running further up its own thread's stack must
    /// not wait for it (it would wait for itself), whether it is the innermost or an outer one.
    static RUNNING: RefCell<Vec<*const ()>> = const { RefCell::new(Vec::new()) };
}

/// Whether `slot`'s callback is running on this thread (anywhere up its stack).
fn is_running_here(slot: *const ()) -> bool {
    #[cfg(reactor_loom)]
    if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::CallbackRemoveSeesOnlyInnermost) {
        return RUNNING.with(|running| running.borrow().last() == Some(&slot));
    }
    // Innermost first: a callback removing itself is the common case. The stack is as deep as
    // the nesting of callbacks, almost always one.
    RUNNING.with(|running| running.borrow().iter().rev().any(|&running| running == slot))
}

/// A registered callback with the deregistration guarantee of [`EventSource`] contract 5: once
/// [`remove`](Self::remove) has returned, the callback never runs again.
///
/// A source keeps one slot per registration (typically in an `Arc` shared with the registration
/// handle), runs it with [`call`](Self::call) when the event fires, and the handle's `Drop` calls
/// [`remove`](Self::remove). `remove` on another thread waits for a call in progress to finish;
/// `remove` on the thread running the callback (from inside the callback itself, or from a
/// callback of another slot that it runs in turn, however deeply nested) returns at once and the
/// callback is dropped as soon as it returns, so a callback may deregister itself, or an outer
/// registration, without deadlocking.
///
/// Because `remove` on another thread waits for a running callback, never call it (nor drop a
/// registration handle built on it) while holding a lock that the callback takes: the callback
/// would wait for the lock and `remove` for the callback.
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
    /// Calls on one slot are serialised. A call from inside the slot's own callback (on the
    /// thread running it) returns `None` at once: the callback is busy, and waiting for it would
    /// be waiting for itself. If `f` panics, the panic propagates and the slot stays usable.
    pub fn call<R>(&self, f: impl FnOnce(&mut F) -> R) -> Option<R> {
        // Relaxed: only a fast path. The mutex below is what orders a call against `remove`.
        if self.removed.load(Ordering::Relaxed) || is_running_here(self.id()) {
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
    /// the callback and everything it owns are gone. On the thread running the callback (from
    /// inside it, or from any callback it runs in turn) it returns at once, and the callback is
    /// dropped right after it returns.
    ///
    /// Never call it while holding a lock that the callback takes: on another thread it waits
    /// for the callback, which would wait for the lock.
    pub fn remove(&self) {
        // Relaxed: a call that misses the flag still meets the mutex, which `remove` takes below.
        self.removed.store(true, Ordering::Relaxed);
        if is_running_here(self.id()) {
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

/// Marks a slot as running on this thread for as long as it lives: pushes it on `RUNNING`, and
/// pops it again even when the callback panics. Guards nest like the calls that create them, so
/// the one dropping is always the top of the stack.
struct RunningGuard;

impl RunningGuard {
    fn enter(slot: *const ()) -> Self {
        RUNNING.with(|running| running.borrow_mut().push(slot));
        Self
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|running| running.borrow_mut().pop());
    }
}
