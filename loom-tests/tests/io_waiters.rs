//! Loom models of the waiter set of the epoll backend's readiness cache (`IoState`): any number
//! of tasks wait in one direction, an edge fired from another thread wakes every one of them
//! (none is left asleep while the fd is ready), and a waiter that is dropped withdraws itself
//! without disturbing the others.
//!
//! Each waiter runs on its own loom thread and polls once: it either finds the fd ready or parks.
//! An edge fires from another thread, so loom interleaves the registrations with the edge. The
//! first waiter of a direction is held inline and the others spill into boxed sets, so the models
//! with two or three waiters also cover every order of filling, leaving and re-taking the inline
//! slot beside spilled waiters.
#![cfg(reactor_loom)]

use std::task::{Context, Wake, Waker};

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use reactor::io::{IoState, Readiness, WaiterKey};
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor_loom::{assert_loom_catches, model};

/// A task's waker: raises a loom flag, so loom sees the wake's ordering.
struct Flag(Arc<AtomicBool>);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// How a waiter polls: as a future with a key it withdraws on drop, or as an anonymous
/// `poll_*` caller (`AsyncRead` for `&Async`).
#[derive(Clone, Copy)]
enum Kind {
    Future,
    Anonymous,
}

/// One task waiting readable: `woken` is raised by its waker, `parked` records that its poll
/// returned `Pending`.
struct Task {
    woken: Arc<AtomicBool>,
    parked: Arc<AtomicBool>,
}

impl Task {
    /// Spawns a task that polls readable once on `state`, then, if `withdraw`, is dropped (its
    /// key withdrawn) as a cancelled `readable()` future would be. The returned closure joins it
    /// and returns its waker target, so the caller can count the wakers still stored.
    fn spawn(
        state: &Arc<IoState>,
        kind: Kind,
        withdraw: bool,
    ) -> (Self, impl FnOnce() -> std::sync::Arc<Flag>) {
        let (woken, parked) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let target = std::sync::Arc::new(Flag(woken.clone()));
        let handle = {
            let (state, parked, target) = (state.clone(), parked.clone(), target.clone());
            thread::spawn(move || {
                let waker = Waker::from(target);
                let mut cx = Context::from_waker(&waker);
                let mut key = WaiterKey::default();
                let as_kind = |key| match kind {
                    Kind::Future => Some(key),
                    Kind::Anonymous => None,
                };
                let pending = state.poll_ready(Readiness::READABLE, &mut cx, as_kind(&mut key)).is_pending();
                parked.store(pending, Ordering::Relaxed);
                if withdraw {
                    state.withdraw(Readiness::READABLE, &mut key);
                }
            })
        };
        let join = move || {
            handle.join().unwrap();
            target
        };
        (Self { woken, parked }, join)
    }

    /// Whether the task parked and was never woken: asleep with the fd ready.
    fn left_asleep(&self) -> bool {
        self.parked.load(Ordering::Relaxed) && !self.woken.load(Ordering::Acquire)
    }
}

/// Two tasks wait readable on one `IoState` while an edge fires from another thread: each finds
/// the fd ready or is woken by the edge.
fn two_waiters_and_an_edge(kinds: [Kind; 2]) {
    model(move || {
        let state = Arc::new(IoState::default());
        let (first, join_first) = Task::spawn(&state, kinds[0], false);
        let (second, join_second) = Task::spawn(&state, kinds[1], false);
        let kernel = {
            let state = state.clone();
            thread::spawn(move || state.on_event(Readiness::READABLE))
        };
        kernel.join().unwrap();
        join_first();
        join_second();
        assert!(!first.left_asleep() && !second.left_asleep(), "a waiter was left asleep with the fd ready");
    });
}

#[test]
fn two_futures_waiting_readable_are_both_woken_by_an_edge_from_another_thread() {
    two_waiters_and_an_edge([Kind::Future, Kind::Future]);
}

#[test]
fn two_anonymous_readers_are_both_woken_by_an_edge_from_another_thread() {
    two_waiters_and_an_edge([Kind::Anonymous, Kind::Anonymous]);
}

#[test]
fn a_future_and_an_anonymous_reader_are_both_woken_by_an_edge_from_another_thread() {
    two_waiters_and_an_edge([Kind::Future, Kind::Anonymous]);
}

#[test]
fn negative_control_one_waiter_slot_per_direction_leaves_a_waiter_asleep() {
    assert_loom_catches("seeded_one_waiter_per_direction", "a waiter was left asleep with the fd ready");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_one_waiter_per_direction() {
    seeded_bug::with(Bug::OneWaiterPerDirection, || two_waiters_and_an_edge([Kind::Future, Kind::Future]));
}

/// One future waits and is then dropped (withdrawn) while a second one waits and an edge fires:
/// the dropped one's waker is released, whether the edge took it first or the withdrawal did,
/// and the second waiter is still woken.
#[test]
fn a_dropped_waiter_withdraws_itself_and_the_others_are_still_woken() {
    model(|| {
        let state = Arc::new(IoState::default());
        let (_dropped, join_dropped) = Task::spawn(&state, Kind::Future, true);
        let (stays, join_stays) = Task::spawn(&state, Kind::Future, false);
        let kernel = {
            let state = state.clone();
            thread::spawn(move || state.on_event(Readiness::READABLE))
        };
        kernel.join().unwrap();
        let dropped_target = join_dropped();
        join_stays();
        assert!(!stays.left_asleep(), "a waiter was left asleep with the fd ready");
        assert_eq!(std::sync::Arc::strong_count(&dropped_target), 1, "the withdrawn waker is still stored");
    });
}

/// Three tasks wait readable while an edge fires from another thread: a future dropped (withdrawn)
/// right after its poll, a future that stays and an anonymous reader. Whichever waits first takes
/// the direction's inline slot and the next ones spill into the boxed sets; the dropped one may
/// leave the inline slot before, between or after the others arrive, a newcomer then taking it
/// while spilled waiters remain, or leave spilled waiters behind a free inline slot. Every waiter
/// that stays is still woken, and no waker is left stored once the edge has fired.
fn waiters_spilled_beside_an_inline_one_that_leaves() {
    model(|| {
        let state = Arc::new(IoState::default());
        let (_dropped, join_dropped) = Task::spawn(&state, Kind::Future, true);
        let (future, join_future) = Task::spawn(&state, Kind::Future, false);
        let (reader, join_reader) = Task::spawn(&state, Kind::Anonymous, false);
        let kernel = {
            let state = state.clone();
            thread::spawn(move || state.on_event(Readiness::READABLE))
        };
        kernel.join().unwrap();
        let targets = [join_dropped(), join_future(), join_reader()];
        assert!(!future.left_asleep() && !reader.left_asleep(), "a waiter was left asleep with the fd ready");
        assert!(
            targets.iter().all(|target| std::sync::Arc::strong_count(target) == 1),
            "a waker stayed stored after the edge"
        );
    });
}

#[test]
fn waiters_spilled_beside_an_inline_one_that_leaves_are_still_woken_by_an_edge() {
    waiters_spilled_beside_an_inline_one_that_leaves();
}

#[test]
fn negative_control_an_edge_that_skips_the_spilled_waiters_leaves_one_asleep() {
    assert_loom_catches("seeded_event_skips_spilled_waiters", "a waiter was left asleep with the fd ready");
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_event_skips_spilled_waiters() {
    seeded_bug::with(Bug::EventSkipsSpilledWaiters, waiters_spilled_beside_an_inline_one_that_leaves);
}

/// Two futures wait readable on an idle fd, from two threads, each polling twice (as a task woken
/// for another reason would): nobody is woken, so an idle fd costs its waiters nothing. (With one
/// waiter slot per direction, each registration woke the waiter it displaced, and two waiting
/// tasks woke each other in a loop.)
#[test]
fn waiters_on_an_idle_fd_never_wake_each_other() {
    model(|| {
        let state = Arc::new(IoState::default());
        let woken: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let threads: Vec<_> = woken
            .iter()
            .map(|woken| {
                let (state, woken) = (state.clone(), woken.clone());
                thread::spawn(move || {
                    let waker = Waker::from(std::sync::Arc::new(Flag(woken)));
                    let mut cx = Context::from_waker(&waker);
                    let mut key = WaiterKey::default();
                    for _ in 0..2 {
                        assert!(state.poll_ready(Readiness::READABLE, &mut cx, Some(&mut key)).is_pending());
                    }
                    state.withdraw(Readiness::READABLE, &mut key);
                })
            })
            .collect();
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        assert!(
            woken.iter().all(|woken| !woken.load(Ordering::Acquire)),
            "a waiter was woken with no edge: waiters on an idle fd spin"
        );
    });
}
