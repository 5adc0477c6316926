//! Loom models of the notify handshake of sources that block in the kernel,
//! `reactor::io::Handshake` (a `pending` flag plus an edge, an eventfd in the real sources): a
//! notify before, during or after a wait, from another thread, is never lost, no wait is left
//! stuck, and the eventfd is not left readable with nothing pending. `reactor_epoll::Epoll` and
//! `reactor_uring::Uring` answer it edge-triggered, `reactor_epoll::FdNotifier` level-triggered.
//!
//! Two kinds of waiter answer the handshake, and each is modelled with its own stand-in for the
//! kernel half:
//!
//! - [`EdgeEventfd`]: an eventfd registered edge-triggered in an epoll set (or under an io_uring
//!   multishot poll) and never read, as `Epoll` (`Uring`) uses it; the waiter answers with
//!   `on_edge`.
//! - [`LevelEventfd`]: an eventfd polled level-triggered (readable while its counter is not
//!   zero), next to the source's own fd, as a user's blocking source polls an `FdNotifier`; the
//!   waiter answers with `after_wait`, which reads the counter back.
//!
//! The waiter does what a source and the executor do: wait, answer, re-check what it waits for,
//! and wait again if it is not there.
#![cfg(reactor_loom)]

use std::io;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use reactor::io::{Edge, Handshake};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor_loom::{assert_loom_catches, model};

/// An eventfd registered edge-triggered, as the epoll wait sees it.
#[derive(Default)]
struct EdgeEventfd {
    /// Whether an edge was raised that no wait has reported yet (the kernel's ready list).
    edge_pending: Mutex<bool>,
    raised: Condvar,
}

impl Edge for EdgeEventfd {
    fn raise(&self) {
        *self.edge_pending.lock().unwrap() = true;
        self.raised.notify_one();
    }

    fn take(&self) -> io::Result<bool> {
        Ok(std::mem::take(&mut *self.edge_pending.lock().unwrap()))
    }
}

impl EdgeEventfd {
    /// Blocks until an edge is pending, and reports (consumes) it, as `epoll_wait` does.
    fn wait(&self) {
        let mut pending = self.edge_pending.lock().unwrap();
        while !*pending {
            pending = self.raised.wait(pending).unwrap();
        }
        *pending = false;
    }
}

type EdgeNotifier = Arc<Handshake<EdgeEventfd>>;

fn edge_notifier() -> EdgeNotifier {
    Arc::new(Handshake::new(EdgeEventfd::default()))
}

/// The edge-triggered waiter: waits and answers the edge until `done` holds, re-checking after
/// every wait.
fn wait_until(notifier: &EdgeNotifier, done: impl Fn() -> bool) {
    while !done() {
        notifier.edge().wait();
        notifier.on_edge();
    }
}

/// Spawns a thread that raises `published` (Relaxed: only the handshake orders it before the
/// waiter's re-check) and then notifies.
fn publish_and_notify<E: Edge + Send + Sync + 'static>(
    notifier: &Arc<Handshake<E>>,
    published: &Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    let (notifier, published) = (notifier.clone(), published.clone());
    thread::spawn(move || {
        published.store(true, Ordering::Relaxed);
        notifier.notify();
    })
}

/// After everything settled: a fresh notify still ends a wait (no flag left stuck on with no
/// edge behind it).
fn a_later_notify_still_ends_a_wait(notifier: &EdgeNotifier) {
    notifier.notify();
    notifier.edge().wait();
    notifier.on_edge();
}

/// One notifier publishes and notifies while the waiter waits for what it publishes: the notify
/// lands before, during or after the wait, and the wait returns with the value visible.
#[test]
fn a_notify_before_during_or_after_a_wait_ends_it() {
    model(|| {
        let notifier = edge_notifier();
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
        let notifier = edge_notifier();
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
        let notifier = edge_notifier();
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

// The level-triggered waiter: `FdNotifier::after_wait`.

/// A source's poll set as `poll(2)` sees it: the eventfd, readable while its counter is not zero
/// (level-triggered, so a wait does not consume it: only `take`, the read, does), and the
/// source's own fd.
#[derive(Default)]
struct LevelEventfd {
    state: Mutex<PollSet>,
    changed: Condvar,
}

#[derive(Default)]
struct PollSet {
    /// The eventfd's counter.
    counter: u64,
    /// Whether the source's own fd has an event the source has not read yet.
    own_event: bool,
}

impl Edge for LevelEventfd {
    fn raise(&self) {
        self.state.lock().unwrap().counter += 1;
        self.changed.notify_one();
    }

    fn take(&self) -> io::Result<bool> {
        Ok(std::mem::take(&mut self.state.lock().unwrap().counter) > 0)
    }
}

impl LevelEventfd {
    /// Blocks until the eventfd or the source's own fd is readable; reads the source's own
    /// event, if any (the source dispatching it), and returns whether there was one.
    fn poll(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        while state.counter == 0 && !state.own_event {
            state = self.changed.wait(state).unwrap();
        }
        std::mem::take(&mut state.own_event)
    }

    /// An event arrives on the source's own fd.
    fn own_event(&self) {
        self.state.lock().unwrap().own_event = true;
        self.changed.notify_one();
    }

    fn is_readable(&self) -> bool {
        self.state.lock().unwrap().counter > 0
    }
}

type LevelNotifier = Arc<Handshake<LevelEventfd>>;

fn level_notifier() -> LevelNotifier {
    Arc::new(Handshake::new(LevelEventfd::default()))
}

/// The level-triggered waiter: polls and answers with `after_wait` until `done` holds,
/// re-checking after every wait; returns whether one of its waits read an own event.
fn poll_until(notifier: &LevelNotifier, done: impl Fn(bool) -> bool) -> bool {
    let mut own_event = false;
    while !done(own_event) {
        own_event |= notifier.edge().poll();
        notifier.after_wait().unwrap();
    }
    own_event
}

/// After everything settled: the eventfd is not left readable once the waiter's next wait has
/// answered it (which would make every poll return at once, a busy loop), and a fresh notify
/// still ends a wait.
fn settled_and_still_notifiable(notifier: &LevelNotifier) {
    if notifier.edge().is_readable() {
        // The waiter's next poll returns at once, and it answers.
        notifier.edge().poll();
        notifier.after_wait().unwrap();
    }
    assert!(
        !notifier.edge().is_readable(),
        "the eventfd is left readable with no notification pending: every poll returns at once"
    );
    notifier.notify();
    notifier.edge().poll();
    assert!(notifier.after_wait().unwrap(), "the notify was not answered");
    assert!(!notifier.edge().is_readable(), "the eventfd is left readable after the answer");
}

/// Two notifiers race with a level-triggered waiter: the second notify can coalesce into the
/// first's write while the waiter answers it, or land between the waiter's read and its clear.
fn two_notifiers_and_a_polling_waiter() {
    model(|| {
        let notifier = level_notifier();
        let published: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let threads: Vec<_> = published.iter().map(|flag| publish_and_notify(&notifier, flag)).collect();
        poll_until(&notifier, |_| published.iter().all(|flag| flag.load(Ordering::Relaxed)));
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        settled_and_still_notifiable(&notifier);
    });
}

#[test]
fn fd_notifier_two_notifiers_racing_with_a_poll_leave_nothing_unseen() {
    two_notifiers_and_a_polling_waiter();
}

#[test]
fn negative_control_clearing_the_flag_before_reading_the_eventfd_loses_every_later_notify() {
    assert_loom_catches("seeded_notifier_clears_before_taking", "deadlock");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_notifier_clears_before_taking() {
    seeded_bug::with(Bug::NotifierClearsBeforeTaking, two_notifiers_and_a_polling_waiter);
}

/// A wait ended by the source's own fd while a notify is in flight (its flag raised, its write
/// not done yet): `after_wait` finds the flag up and nothing to read. The notify is still not
/// lost, and its write does not leave the eventfd readable forever.
fn a_wait_ended_by_the_own_fd_during_a_notify() {
    model(|| {
        let notifier = level_notifier();
        let published = Arc::new(AtomicBool::new(false));
        let notifying = publish_and_notify(&notifier, &published);
        let event = {
            let notifier = notifier.clone();
            thread::spawn(move || notifier.edge().own_event())
        };
        poll_until(&notifier, |own_event| own_event && published.load(Ordering::Relaxed));
        notifying.join().unwrap();
        event.join().unwrap();
        settled_and_still_notifiable(&notifier);
    });
}

#[test]
fn fd_notifier_a_wait_ended_by_the_sources_own_fd_during_a_notify_loses_nothing() {
    a_wait_ended_by_the_own_fd_during_a_notify();
}

#[test]
fn negative_control_clearing_the_flag_when_nothing_was_read_leaves_the_eventfd_readable() {
    assert_loom_catches("seeded_notifier_clears_with_nothing_taken", "the eventfd is left readable");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_notifier_clears_with_nothing_taken() {
    seeded_bug::with(Bug::NotifierClearsWithNothingTaken, a_wait_ended_by_the_own_fd_during_a_notify);
}
