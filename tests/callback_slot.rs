//! `CallbackSlot`'s deregistration guarantee when callbacks nest: a callback may remove any
//! registration that is running on its own thread, not only the innermost one.

use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use reactor::source::CallbackSlot;

type Slot = CallbackSlot<dyn FnMut() + Send>;

/// Runs `run` on another thread and fails the test if it does not return within 10 s.
fn within_ten_seconds<T: Send + 'static>(what: &str, run: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(run()));
    receiver.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("deadlocked: {what}"))
}

#[test]
fn a_nested_callback_may_remove_the_outer_registration() {
    let ran = within_ten_seconds("removing the outer slot from the inner callback", || {
        // The inner callback removes the outer slot, which is running further up this thread.
        let outer_cell: Arc<Mutex<Option<Arc<Slot>>>> = Arc::default();
        let inner: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new({
            let outer_cell = outer_cell.clone();
            move || {
                if let Some(outer) = outer_cell.lock().unwrap().take() {
                    outer.remove();
                    assert!(outer.is_removed());
                }
            }
        })));
        let outer: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new({
            let inner = inner.clone();
            move || {
                assert_eq!(inner.call(|callback| callback()), Some(()));
            }
        })));
        *outer_cell.lock().unwrap() = Some(outer.clone());
        let first = outer.call(|callback| callback());
        let second = outer.call(|callback| callback());
        // The inner slot is untouched and still runs.
        (first, second, inner.call(|callback| callback()))
    });
    assert_eq!(ran, (Some(()), None, Some(())), "the outer callback ran once, then never again");
}

#[test]
fn a_callback_calling_its_own_slot_again_is_refused_instead_of_deadlocking() {
    let ran = within_ten_seconds("calling a slot from its own callback", || {
        let cell: Arc<Mutex<Option<Arc<Slot>>>> = Arc::default();
        let reentered = Arc::new(Mutex::new(None));
        let slot: Arc<Slot> = Arc::new(CallbackSlot::new(Box::new({
            let (cell, reentered) = (cell.clone(), reentered.clone());
            move || {
                if let Some(slot) = cell.lock().unwrap().take() {
                    *reentered.lock().unwrap() = Some(slot.call(|callback| callback()));
                }
            }
        })));
        *cell.lock().unwrap() = Some(slot.clone());
        let outer = slot.call(|callback| callback());
        let inner = reentered.lock().unwrap().take();
        (outer, inner)
    });
    assert_eq!(ran, (Some(()), Some(None)), "the re-entrant call is refused with None");
}
