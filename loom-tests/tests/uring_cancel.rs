//! Loom models of the io_uring backend's deregistration protocol (`reactor_uring`'s `Polls`):
//! cancelling an in-flight multishot poll while the waiter re-arms it.
//!
//! The kernel half is a mock ring whose every step loom sees: a submission queue consumed in
//! order by `submit` (as `io_uring_enter` consumes it), the polls armed in the kernel by user
//! data, and a completion queue. `POLL_REMOVE` is executed at submission, as the kernel does: it
//! cancels the poll if one is armed under its key (a CQE of `-ECANCELED` without `F_MORE`) and
//! fails with `-ENOENT` otherwise. The real code under test is `Polls` (the table of live keys
//! and the re-arm decision) and the core's `Registry` (generation-checked keys, removal waiting
//! for a running callback), driven the way `Uring::wait` and `IoRegistration::deregister` drive
//! them:
//!
//! - the **waiter** reaps the completion queue, passes each CQE to `Polls::complete` (which
//!   re-arms an ended poll of a live key), dispatches the readiness through the registry, and
//!   submits what it queued with its next enter;
//! - the **deregistering thread** calls `Polls::delete` (the backend's `delete`), then removes
//!   the registry entry, which is `IoRegistration::deregister`; then it closes the fd.
//!
//! What must hold: no callback runs once the deregistration returned, and once everything
//! queued has been submitted no poll is armed on the fd of the deleted registration (a poll
//! left armed holds the file open, so a closed socket never sends its FIN, and watches a reused
//! fd number under a stale key for good). The kernel ends the poll before the models start (a
//! CQE without `F_MORE` in the queue): by readiness, or by cancellation when the thread that
//! submitted it exits.
#![cfg(reactor_loom)]
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::RawFd;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use reactor::io::{DispatchBuffer, Readiness, Registry};
use reactor::sync::seeded_bug;
use reactor_loom::{assert_loom_catches, model};
use reactor_uring::loom_internals::{Bug, Completion, Polls, Submission, INTERNAL_KEY};

/// The fd of the registration the models delete (a number only: the mock kernel never opens it).
const FD: RawFd = 7;
/// The fd of the registration that reuses the deleted one's registry slot.
const OTHER_FD: RawFd = 8;

#[derive(Clone, Copy, Debug)]
enum Sqe {
    Poll { fd: RawFd, key: u64 },
    Remove { key: u64 },
}

/// The kernel's side of the ring.
#[derive(Debug, Default)]
struct Kernel {
    /// Submission queue entries pushed and not consumed yet.
    sq: VecDeque<Sqe>,
    /// The polls armed, by user data.
    armed: BTreeMap<u64, RawFd>,
    /// The poll whose wake-up the kernel is processing: a `POLL_REMOVE` cannot take it from
    /// the wake-up's task work meanwhile and fails with `-EALREADY`, leaving it armed (the
    /// kernel's `io_poll_disarm` failing to get the request's ownership).
    waking: Option<u64>,
    /// Completions: (user data, result, `F_MORE`).
    cq: VecDeque<(u64, i32, bool)>,
}

impl Kernel {
    /// `io_uring_enter`'s submission: consumes the queue in order.
    fn submit(&mut self) {
        while let Some(sqe) = self.sq.pop_front() {
            match sqe {
                Sqe::Poll { fd, key } => {
                    let twice = self.armed.insert(key, fd).is_some();
                    assert!(!twice, "two polls armed under one key");
                }
                Sqe::Remove { key } if self.waking == Some(key) => {
                    self.cq.push_back((INTERNAL_KEY, -libc::EALREADY, false));
                }
                Sqe::Remove { key } => match self.armed.remove(&key) {
                    Some(_) => {
                        self.cq.push_back((key, -libc::ECANCELED, false));
                        self.cq.push_back((INTERNAL_KEY, 0, false));
                    }
                    None => self.cq.push_back((INTERNAL_KEY, -libc::ENOENT, false)),
                },
            }
        }
    }
}

/// The mock ring: the kernel under a loom lock.
#[derive(Clone, Default)]
struct MockRing {
    kernel: Arc<Mutex<Kernel>>,
}

/// The submission queue as `Polls` drives it.
struct MockQueue(MockRing);

impl Submission for MockQueue {
    fn poll(&mut self, fd: RawFd, key: u64, _mask: u32) {
        self.0.kernel.lock().unwrap().sq.push_back(Sqe::Poll { fd, key });
    }

    fn remove(&mut self, key: u64) {
        self.0.kernel.lock().unwrap().sq.push_back(Sqe::Remove { key });
    }

    fn submit(&mut self) -> io::Result<()> {
        self.0.kernel.lock().unwrap().submit();
        Ok(())
    }

    fn publish(&mut self) -> u32 {
        self.0.kernel.lock().unwrap().sq.len() as u32
    }
}

impl MockRing {
    /// The kernel ends the poll under `key` with `result`: a CQE without `F_MORE`.
    fn end_poll(&self, key: u64, result: i32) {
        let mut kernel = self.kernel.lock().unwrap();
        if kernel.armed.remove(&key).is_some() {
            kernel.cq.push_back((key, result, false));
        }
    }

    /// A wake-up of the poll under `key` starts (its task work owns the request).
    fn begin_wake(&self, key: u64) {
        let mut kernel = self.kernel.lock().unwrap();
        if kernel.armed.contains_key(&key) {
            kernel.waking = Some(key);
        }
    }

    /// The wake-up's task work posts its CQE (the poll stays armed) and lets the request go.
    fn end_wake(&self, key: u64) {
        let mut kernel = self.kernel.lock().unwrap();
        if kernel.waking.take() == Some(key) {
            kernel.cq.push_back((key, libc::POLLIN as i32, true));
        }
    }

    /// The waiter's enter: submits what is queued (no wait: the CQEs are there already).
    fn enter(&self) {
        self.kernel.lock().unwrap().submit();
    }

    fn reap(&self) -> Vec<(u64, i32, bool)> {
        self.kernel.lock().unwrap().cq.drain(..).collect()
    }

    fn armed_on(&self, fd: RawFd) -> Vec<u64> {
        let kernel = self.kernel.lock().unwrap();
        kernel.armed.iter().filter(|(_, &armed)| armed == fd).map(|(&key, _)| key).collect()
    }
}

/// The waiter's turn, as `Uring::wait` takes it: enter, reap, complete, dispatch.
fn waiter_turn(ring: &MockRing, polls: &Polls<MockQueue>, registry: &Registry) {
    ring.enter();
    let ready: Vec<_> = ring
        .reap()
        .into_iter()
        .filter_map(|(key, result, more)| match polls.complete(key, result, more) {
            Completion::Ready(readiness) => Some((key as usize, readiness)),
            Completion::Nothing => None,
        })
        .collect();
    registry.dispatch(ready.into_iter(), &mut DispatchBuffer::default());
}

/// A registration whose poll the kernel ended with `result` (already in the completion queue)
/// is deregistered on one thread while the waiter reaps that CQE on another.
fn deregister_while_the_ended_poll_is_reaped(result: i32, reuse_slot: bool) {
    model(move || {
        let ring = MockRing::default();
        let polls = Arc::new(Polls::new(MockQueue(ring.clone())));
        let registry = Arc::new(Registry::default());
        let deregistered = Arc::new(AtomicBool::new(false));
        let flag = deregistered.clone();
        let key = registry
            .insert(Box::new(move |_| {
                assert!(!flag.load(Ordering::SeqCst), "a callback ran after its deregistration returned");
            }))
            .unwrap();
        polls.add(FD, key as u64, || {}).unwrap();
        ring.end_poll(key as u64, result);

        let other_runs = Arc::new(AtomicUsize::new(0));
        let deregistering = {
            let (polls, registry, deregistered) = (polls.clone(), registry.clone(), deregistered.clone());
            let other_runs = other_runs.clone();
            thread::spawn(move || {
                // `IoRegistration::deregister`: the backend's delete, then the registry.
                assert!(polls.delete(key as u64, || {}), "the key was live");
                registry.remove(key);
                deregistered.store(true, Ordering::SeqCst);
                if reuse_slot {
                    // A new registration takes the freed slot (a new generation) for another fd.
                    let runs = other_runs.clone();
                    let other = registry
                        .insert(Box::new(move |_| {
                            runs.fetch_add(1, Ordering::SeqCst);
                        }))
                        .unwrap();
                    polls.add(OTHER_FD, other as u64, || {}).unwrap();
                }
            })
        };
        waiter_turn(&ring, &polls, &registry);
        deregistering.join().unwrap();
        // The waiter's next turn submits what its first one queued, and reaps the cancellation.
        waiter_turn(&ring, &polls, &registry);
        assert!(
            ring.armed_on(FD).is_empty(),
            "a poll is left armed on the fd of a deleted registration (keys {:?})",
            ring.armed_on(FD)
        );
        assert_eq!(
            other_runs.load(Ordering::SeqCst),
            0,
            "a stale CQE reached the registration that reused the slot"
        );
        if reuse_slot {
            assert_eq!(ring.armed_on(OTHER_FD).len(), 1, "the new registration's poll is armed once");
        }
    });
}

/// A registration is deleted while the kernel processes a wake-up of its poll: the
/// `POLL_REMOVE` fails with `-EALREADY` and the poll stays armed (seen as a hang of
/// `reactor-process`'s cat test: the stdin pipe's poll kept the write end open, so cat never
/// saw EOF). Once the waiter has drained the ring, no poll may be left on the fd.
#[test]
fn a_removal_refused_while_the_poll_wakes_is_retried_until_the_poll_is_gone() {
    model(|| {
        let ring = MockRing::default();
        let polls = Arc::new(Polls::new(MockQueue(ring.clone())));
        let registry = Arc::new(Registry::default());
        let key = registry.insert(Box::new(|_| {})).unwrap();
        polls.add(FD, key as u64, || {}).unwrap();
        let waking = {
            let ring = ring.clone();
            thread::spawn(move || {
                ring.begin_wake(key as u64);
                ring.end_wake(key as u64);
            })
        };
        let deregistering = {
            let (polls, registry) = (polls.clone(), registry.clone());
            thread::spawn(move || {
                assert!(polls.delete(key as u64, || {}), "the key was live");
                registry.remove(key);
            })
        };
        waiter_turn(&ring, &polls, &registry);
        waking.join().unwrap();
        deregistering.join().unwrap();
        for _ in 0..3 {
            waiter_turn(&ring, &polls, &registry);
        }
        assert!(
            ring.armed_on(FD).is_empty(),
            "a poll is left armed on the fd of a deleted registration (keys {:?})",
            ring.armed_on(FD)
        );
    });
}

#[test]
fn negative_control_a_refused_removal_not_retried_is_caught() {
    assert_loom_catches(
        "seeded_remove_not_retried",
        "a poll is left armed on the fd of a deleted registration",
    );
}

#[test]
#[ignore = "seeded bug: run by its negative control"]
fn seeded_remove_not_retried() {
    seeded_bug::with(
        Bug::RemoveNotRetried,
        a_removal_refused_while_the_poll_wakes_is_retried_until_the_poll_is_gone,
    );
}

#[test]
fn a_poll_ended_by_readiness_while_its_registration_is_deleted_is_never_armed_again() {
    deregister_while_the_ended_poll_is_reaped(libc::POLLIN as i32, false);
}

#[test]
fn a_poll_cancelled_by_a_thread_exit_while_its_registration_is_deleted_is_never_armed_again() {
    deregister_while_the_ended_poll_is_reaped(-libc::ECANCELED, false);
}

#[test]
fn a_stale_completion_never_reaches_the_registration_that_reused_the_slot() {
    deregister_while_the_ended_poll_is_reaped(libc::POLLIN as i32, true);
}

#[test]
fn negative_control_a_re_arm_checked_outside_the_lock_is_caught() {
    assert_loom_catches(
        "seeded_rearm_checks_outside_lock",
        "a poll is left armed on the fd of a deleted registration",
    );
}

#[test]
#[ignore = "seeded bug: run by its negative control"]
fn seeded_rearm_checks_outside_lock() {
    seeded_bug::with(Bug::RearmChecksOutsideLock, || {
        deregister_while_the_ended_poll_is_reaped(libc::POLLIN as i32, false);
    });
}

/// The readiness the waiter dispatches for a mask: what `Polls::complete` hands on.
#[test]
fn a_poll_mask_maps_to_the_readiness_of_both_directions_and_the_hang_up() {
    let readiness = reactor_uring::loom_internals::readiness_of((libc::POLLIN | libc::POLLRDHUP) as u32);
    assert_eq!(readiness, Readiness::READABLE | Readiness::READ_CLOSED);
}
