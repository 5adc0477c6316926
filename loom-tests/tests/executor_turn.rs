//! Loom models of an executor embedded in a host's event loop (`Executor::host`, `Host::turn`).
//!
//! The host sleeps in a poll of its own on the source's readiness (for epoll, `poll(2)` on the
//! epoll fd), so the only wake-up it can get is the source becoming ready: a registered event,
//! or the source's `notify`. The protocol that follows (see the docs of `Host`):
//!
//! - the host holds the executor's poll role for its whole life, so no other thread waits in
//!   the source and consumes the readiness the host's poll waits for;
//! - between turns the host is on the executor's idle list as the poller (its parker *driving*),
//!   so work for an idle executor picks it like any sleeper and wakes it through the source's
//!   notify, and so does a wake of one of its `!Send` tasks;
//! - a turn ends by listing itself again, fencing, and only then looking at the queues: work
//!   queued meanwhile is reported (`has_more`) or its producer saw the host listed and woke it;
//! - a host that leaves hands the poll role to a thread parked without it, as a returning
//!   `block_on` does;
//! - a host made while another thread waits in the source notifies it until it gives the poll
//!   token up.
//!
//! The models stand the host's poll in with a test source whose readiness is a flag under a
//! loom mutex: `notify` sets it, a wait clears it, and the host's poll blocks until it is set
//! without clearing it, as `poll(2)` on an epoll fd does. A lost wake-up leaves the host (or a
//! sleeping thread) blocked for ever, which loom reports as a deadlock; each model has a
//! negative control that seeds the bug back in and checks that loom reports it.
#![cfg(reactor_loom)]

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::PingSource;
use reactor::{Builder, EventSource, Executor, Host};
use reactor_loom::{assert_loom_catches, model, spawn_unjoined, Gate};

/// A blocking source with an fd-like readiness: `notify` makes it readable, a wait consumes
/// that, and [`Readiness::poll`] waits for it without consuming it (the host's `poll(2)`).
#[derive(Clone, Default)]
struct Readiness(Arc<(Mutex<bool>, Condvar)>);

impl Readiness {
    /// The host's poll: blocks until the source is readable, and leaves it readable.
    fn poll(&self) {
        let (readable, changed) = &*self.0;
        let mut readable = readable.lock().unwrap();
        while !*readable {
            readable = changed.wait(readable).unwrap();
        }
    }
}

impl EventSource for Readiness {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let (readable, changed) = &*self.0;
        let mut readable = readable.lock().unwrap();
        // A timed wait returns at once under loom (it cannot sleep), which callers allow.
        if timeout.is_none() {
            while !*readable {
                readable = changed.wait(readable).unwrap();
            }
        }
        *readable = false;
        Ok(0)
    }

    fn notify(&self) {
        let (readable, changed) = &*self.0;
        *readable.lock().unwrap() = true;
        changed.notify_all();
    }
}

/// The host loop: turns until `done`, polling the source whenever a turn reports nothing more
/// to do (no deadline exists in these models, so the poll has no timeout).
fn host_loop(host: &Host, source: &Readiness, done: impl Fn() -> bool) {
    loop {
        let turn = host.turn(4).unwrap();
        if done() {
            return;
        }
        if !turn.has_more() {
            source.poll();
        }
    }
}

/// No workers: a plain thread spawns a pool task while the host turns (or polls). The task
/// must run in a later turn: either the spawn finds the host listed and wakes its poll through
/// the source, or the end of the turn finds the task queued and reports more work.
fn spawn_racing_a_turn() {
    model(|| {
        let source = Readiness::default();
        let executor = Builder::new().worker_threads(0).build(source.clone()).unwrap();
        let host = executor.host().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let spawner = {
            let (handle, ran) = (executor.handle(), ran.clone());
            spawn_unjoined(move || handle.spawn(async move { ran.store(true, Ordering::Release) }).detach())
        };
        host_loop(&host, &source, || ran.load(Ordering::Acquire));
        spawner();
        drop(host);
    });
}

#[test]
fn a_task_spawned_from_another_thread_during_a_turn_runs_in_a_later_turn() {
    spawn_racing_a_turn();
}

#[test]
fn negative_control_a_turn_that_reports_before_listing_itself_is_caught() {
    assert_loom_catches("seeded_turn_reports_before_listing_itself", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_turn_reports_before_listing_itself() {
    seeded_bug::with(Bug::TurnEndSkipsRecheck, spawn_racing_a_turn);
}

/// No workers: the host spawns a `!Send` task that waits on a gate another thread opens while
/// the host turns or polls. The wake-up must end the host's poll (through the source's
/// notify), or be seen by the turn in progress.
fn local_task_woken_between_turns() {
    model(|| {
        let source = Readiness::default();
        let executor = Builder::new().worker_threads(0).build(source.clone()).unwrap();
        let host = executor.host().unwrap();
        let gate = Gate::default();
        let done = Rc::new(Cell::new(false));
        let waited = gate.clone();
        let finished = done.clone();
        host.spawn_local(async move {
            waited.await;
            finished.set(true);
        })
        .detach();
        // Let the task run once and wait on the gate before the opener starts.
        host.turn(4).unwrap();
        let opener = spawn_unjoined(move || gate.open());
        host_loop(&host, &source, || done.get());
        opener();
        drop(host);
    });
}

#[test]
fn a_local_task_woken_from_another_thread_between_turns_wakes_the_host() {
    local_task_woken_between_turns();
}

#[test]
fn negative_control_a_host_sleeping_unannounced_is_caught() {
    assert_loom_catches("seeded_host_sleeps_unannounced", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_host_sleeps_unannounced() {
    seeded_bug::with(Bug::HostSleepsUnannounced, local_task_woken_between_turns);
}

/// No workers, over a ping source: a `block_on` thread waits for a ping's callback, which only
/// a wait of the source runs. The host turns once and leaves; the `block_on` thread, parked
/// without the poll role while the host held it, must then take it and dispatch the ping.
fn host_leaving_beside_a_block_on() {
    model(|| {
        let pings = PingSource::new();
        let executor: Arc<Executor<PingSource>> =
            Arc::new(Builder::new().worker_threads(0).build(pings.clone()).unwrap());
        let host = executor.host().unwrap();
        let gate = Gate::default();
        let (ping, registration) = pings.register({
            let gate = gate.clone();
            move || gate.open()
        });
        let waiter = {
            let executor = executor.clone();
            thread::spawn(move || executor.block_on(gate))
        };
        let pinger = spawn_unjoined(move || ping.ping());
        host.turn(4).unwrap();
        drop(host);
        waiter.join().unwrap();
        pinger();
        drop(registration);
    });
}

#[test]
fn a_host_that_leaves_hands_the_source_to_a_sleeping_block_on_thread() {
    host_leaving_beside_a_block_on();
}

#[test]
fn negative_control_a_poll_role_abandoned_by_the_host_is_caught() {
    assert_loom_catches("seeded_poll_role_abandoned_by_the_host", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_poll_role_abandoned_by_the_host() {
    seeded_bug::with(Bug::HostExitSkipsHandOff, host_leaving_beside_a_block_on);
}

/// No workers: a `block_on` thread waits for a ping's callback, possibly blocked in the source
/// as the poller, when the main thread makes a host. The host must take the source over (its
/// notify ends that wait, and the `block_on` thread then parks without the poll role), and its
/// turns dispatch the ping, which wakes the parked `block_on` thread.
fn host_made_beside_a_block_on_poller() {
    model(|| {
        let (source, pings) = (Readiness::default(), PingSource::new());
        let composite = reactor::source::Composite::new(source.clone()).map_err(io::Error::from).unwrap();
        let composite = composite.with(pings.clone()).map_err(io::Error::from).unwrap();
        let executor = Arc::new(Builder::new().worker_threads(0).build(composite).unwrap());
        // A gate holds one waker: one for the `block_on`, one for the host's task.
        let (waited, seen_by_host) = (Gate::default(), Gate::default());
        let pinged = Rc::new(Cell::new(false));
        let (ping, registration) = pings.register({
            let (waited, seen_by_host) = (waited.clone(), seen_by_host.clone());
            move || {
                waited.open();
                seen_by_host.open();
            }
        });
        let waiter = {
            let executor = executor.clone();
            thread::spawn(move || executor.block_on(waited))
        };
        let host = executor.host().unwrap();
        let pinger = spawn_unjoined(move || ping.ping());
        let seen = pinged.clone();
        host.spawn_local(async move {
            seen_by_host.await;
            seen.set(true);
        })
        .detach();
        host_loop(&host, &source, || pinged.get());
        drop(host);
        waiter.join().unwrap();
        pinger();
        drop(registration);
    });
}

#[test]
fn a_host_made_while_a_block_on_thread_waits_in_the_source_takes_the_source_over() {
    host_made_beside_a_block_on_poller();
}

#[test]
fn negative_control_a_takeover_that_never_notifies_the_poller_is_caught() {
    assert_loom_catches(
        "seeded_takeover_never_notifies_the_poller",
        "Model exceeded maximum number of branches",
    );
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_takeover_never_notifies_the_poller() {
    seeded_bug::with(Bug::HostTakeoverSkipsNotify, host_made_beside_a_block_on_poller);
}
