//! Loom models of the epoll source's notification handshake (`EdgeNotifier`: a `pending` flag
//! plus an edge-triggered eventfd): a notify before, during or after a wait, from another thread,
//! is never lost, and no wait is left stuck.
//!
//! The kernel half is [`ModelEventfd`], a loom-visible stand-in for an eventfd registered
//! edge-triggered in an epoll set: every raise is a new edge, and a blocked wait returns when an
//! edge arrives after it started or one is pending. The waiter does what `Epoll::wait` and the
//! executor do: wait, answer the edge (`on_edge`, in `Epoll`'s dispatch), re-check what it waits
//! for, and wait again if it is not there.
#![cfg(reactor_loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use reactor_epoll::loom_internals::seeded_bug::{self, Bug};
use reactor_epoll::loom_internals::{Edge, EdgeNotifier};
use reactor_loom::{assert_loom_catches, model};

/// An eventfd registered edge-triggered, as the epoll wait sees it.
#[derive(Default)]
struct ModelEventfd {
    /// Whether an edge was raised that no wait has reported yet (the kernel's ready list).
    edge_pending: Mutex<bool>,
    raised: Condvar,
}

impl Edge for ModelEventfd {
    fn raise(&self) {
        *self.edge_pending.lock().unwrap() = true;
        self.raised.notify_one();
    }
}

impl ModelEventfd {
    /// Blocks until an edge is pending, and reports (consumes) it, as `epoll_wait` does.
    fn wait(&self) {
        let mut pending = self.edge_pending.lock().unwrap();
        while !*pending {
            pending = self.raised.wait(pending).unwrap();
        }
        *pending = false;
    }
}

type Notifier = Arc<EdgeNotifier<ModelEventfd>>;

fn notifier() -> Notifier {
    Arc::new(EdgeNotifier::new(ModelEventfd::default()))
}

/// The waiter: waits and answers the edge until `done` holds, re-checking after every wait.
fn wait_until(notifier: &Notifier, done: impl Fn() -> bool) {
    while !done() {
        notifier.edge().wait();
        notifier.on_edge();
    }
}

/// Spawns a thread that raises `published` (Relaxed: only the handshake orders it before the
/// waiter's re-check) and then notifies.
fn publish_and_notify(notifier: &Notifier, published: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let (notifier, published) = (notifier.clone(), published.clone());
    thread::spawn(move || {
        published.store(true, Ordering::Relaxed);
        notifier.notify();
    })
}

/// After everything settled: a fresh notify still ends a wait (no flag left stuck on with no
/// edge behind it).
fn a_later_notify_still_ends_a_wait(notifier: &Notifier) {
    notifier.notify();
    notifier.edge().wait();
    notifier.on_edge();
}

/// One notifier publishes and notifies while the waiter waits for what it publishes: the notify
/// lands before, during or after the wait, and the wait returns with the value visible.
#[test]
fn a_notify_before_during_or_after_a_wait_ends_it() {
    model(|| {
        let notifier = notifier();
        let published = Arc::new(AtomicBool::new(false));
        let thread = publish_and_notify(&notifier, &published);
        wait_until(&notifier, || published.load(Ordering::Relaxed));
        thread.join().unwrap();
        a_later_notify_still_ends_a_wait(&notifier);
    });
}

/// Two notifiers race with the wait, so the second notify can coalesce into the first's edge
/// while the waiter answers it: the waiter's re-check still sees both.
fn two_notifiers_and_a_rechecking_waiter() {
    model(|| {
        let notifier = notifier();
        let published: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let threads: Vec<_> = published.iter().map(|flag| publish_and_notify(&notifier, flag)).collect();
        wait_until(&notifier, || published.iter().all(|flag| flag.load(Ordering::Relaxed)));
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        a_later_notify_still_ends_a_wait(&notifier);
    });
}

#[test]
fn two_notifiers_racing_with_a_wait_leave_nothing_unseen() {
    two_notifiers_and_a_rechecking_waiter();
}

#[test]
fn negative_control_clearing_the_flag_with_a_store_loses_a_coalesced_notify() {
    assert_loom_catches("seeded_notify_clear_is_a_store", "deadlock");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_notify_clear_is_a_store() {
    seeded_bug::with(Bug::NotifyClearIsAStore, two_notifiers_and_a_rechecking_waiter);
}

/// Two notifies from one thread, each after publishing a step, and a waiter that waits twice,
/// once per step: the second notify raises a new edge or coalesces into one the waiter has yet
/// to answer, and neither wait is left stuck.
#[test]
fn two_notifies_and_two_waits_leave_no_wait_stuck() {
    model(|| {
        let notifier = notifier();
        let steps: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let thread = {
            let (notifier, steps) = (notifier.clone(), steps.clone());
            thread::spawn(move || {
                for step in &steps {
                    step.store(true, Ordering::Relaxed);
                    notifier.notify();
                }
            })
        };
        for step in &steps {
            wait_until(&notifier, || step.load(Ordering::Relaxed));
        }
        thread.join().unwrap();
        a_later_notify_still_ends_a_wait(&notifier);
    });
}
