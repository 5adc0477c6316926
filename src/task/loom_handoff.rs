//! The model build's view of a task's completion waking its awaiter.
//!
//! Awaiting a task hands the awaiter's waker to the thread that completes the task through
//! async-task's state word, whose atomics loom cannot see; that thread's wake then touches the
//! awaiter's state (its `block_on` signal, say) with no happens-before loom knows of, which loom
//! reports as a causality violation that cannot happen. So in the model build the awaiter
//! registers a relay instead, while holding the task's hand-off lock, and the relay takes the
//! same lock before it wakes: a loom-visible release/acquire in the order the registration and
//! the wake really happen.

use std::cell::Cell;
use std::sync::Arc;
use std::task::Waker;

use crate::sync::{thread_local, Mutex, MutexGuard};

thread_local! {
    /// Whether this thread holds a hand-off lock: async-task may wake an older awaiter from
    /// inside the poll that registers a new one, and that wake is already ordered after the
    /// registration by program order.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// The hand-off lock, held while the relay is registered.
pub(crate) struct Held<'a> {
    _guard: MutexGuard<'a, ()>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        HOLDING.with(|holding| holding.set(false));
    }
}

struct Relay {
    handoff: Arc<Mutex<()>>,
    waker: Waker,
}

impl std::task::Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !HOLDING.with(Cell::get) {
            drop(self.handoff.lock());
        }
        self.waker.wake_by_ref();
    }
}

/// A relay of `waker`, and the hand-off lock to hold while it is registered.
pub(crate) fn relay<'a>(handoff: &'a Arc<Mutex<()>>, waker: &Waker) -> (Waker, Held<'a>) {
    let relay = Waker::from(Arc::new(Relay { handoff: handoff.clone(), waker: waker.clone() }));
    let guard = handoff.lock();
    HOLDING.with(|holding| holding.set(true));
    (relay, Held { _guard: guard })
}
