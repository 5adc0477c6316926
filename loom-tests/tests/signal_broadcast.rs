//! Loom models of `reactor-signal`'s broadcast protocol (`Hub`): the signal handler marks a
//! signal pending and writes the self-pipe's byte; a runtime's loop, woken by the pipe, drains it
//! and broadcasts every pending signal; listeners compare generations and register wakers.
//! No delivery is lost for a listener that subscribed before it, each listener sees it once,
//! and several listeners (and several runtimes reading the pipe) each see it.
//!
//! The kernel sides are modelled:
//!
//! - **The handler** is a thread calling the real `Hub::on_signal` (which, in the process, the
//!   `sigaction` handler calls): loom cannot interrupt a thread, but the handler's effect on
//!   shared state is exactly these two steps, in any interleaving with the other threads.
//! - **The pipe** is a byte counter under a loom mutex, read **level-triggered**: a dispatcher
//!   waits until it holds bytes, then dispatches (the real `Hub::dispatch`, which drains it to
//!   zero). That is how `poll` and the portable backend's one-shot registrations see the pipe;
//!   epoll's edge-triggered registration reports an edge for every write even when the drain
//!   already took that write's byte, so it wakes a dispatcher at least as often as this model
//!   does, never less.
//! - **A runtime's loop** is a dispatcher thread; two dispatcher threads are two runtimes whose
//!   loops read the same pipe.
//!
//! Each listener polls once with a counting waker while the others run; once everything is
//! joined, a listener left pending must have been woken and must then find the delivery, and a
//! listener that found it must not find it again.
#![cfg(reactor_loom)]

use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use reactor_loom::{assert_loom_catches, model};
use reactor_signal::loom_internals::seeded_bug::{self, Bug};
use reactor_signal::loom_internals::{Hub, Subscription, Wakeup};

/// The self-pipe: bytes written and not yet read, and whether the model is over.
#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
    readable: Condvar,
}

#[derive(Default)]
struct PipeState {
    bytes: usize,
    closed: bool,
}

impl Wakeup for Pipe {
    fn raise(&self) {
        self.state.lock().unwrap().bytes += 1;
        self.readable.notify_all();
    }

    fn drain(&self) {
        self.state.lock().unwrap().bytes = 0;
    }
}

impl Pipe {
    /// Blocks until the pipe holds bytes (`true`: dispatch) or is closed and empty (`false`:
    /// the loop ends).
    fn wait_readable(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        while state.bytes == 0 && !state.closed {
            state = self.readable.wait(state).unwrap();
        }
        state.bytes > 0
    }

    fn close(&self) {
        self.state.lock().unwrap().closed = true;
        self.readable.notify_all();
    }
}

/// A waker that counts its wakes. std's `Arc` and atomic: the count is read after every thread
/// is joined, which orders it.
#[derive(Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A listener: its subscription, its waker, and what its first poll returned.
struct Listener {
    subscription: Subscription,
    count: std::sync::Arc<WakeCount>,
    first: Poll<()>,
}

impl Listener {
    fn poll(&mut self, hub: &Hub) -> Poll<()> {
        let waker = Waker::from(self.count.clone());
        hub.poll(&mut self.subscription, &mut Context::from_waker(&waker))
    }

    /// After every thread is joined: the delivery reached this listener exactly once.
    fn check(mut self, hub: &Hub) {
        if self.first.is_pending() {
            let wakes = self.count.0.load(std::sync::atomic::Ordering::Relaxed);
            assert!(wakes >= 1, "a listener subscribed before the delivery was not woken");
            assert!(self.poll(hub).is_ready(), "a woken listener did not find the delivery");
        }
        assert!(self.poll(hub).is_pending(), "a listener saw one delivery twice");
        hub.unsubscribe(&self.subscription);
    }
}

/// One model run: listeners of `listened` subscribe; a handler thread delivers `delivered` in
/// order; `dispatchers` loops read the pipe; each listener polls once meanwhile, on the main
/// thread, then every listener is checked.
fn deliver(delivered: &'static [usize], listened: &'static [usize], dispatchers: usize) {
    model(move || {
        let hub = Arc::new(Hub::new(3));
        let pipe = Arc::new(Pipe::default());
        let subscriptions: Vec<_> = listened.iter().map(|&signal| hub.subscribe(signal).unwrap()).collect();

        let handler = {
            let (hub, pipe) = (hub.clone(), pipe.clone());
            thread::spawn(move || delivered.iter().for_each(|&signal| hub.on_signal(signal, &*pipe)))
        };
        let loops: Vec<_> = (0..dispatchers)
            .map(|_| {
                let (hub, pipe) = (hub.clone(), pipe.clone());
                thread::spawn(move || {
                    while pipe.wait_readable() {
                        hub.dispatch(&*pipe);
                    }
                })
            })
            .collect();

        let listeners: Vec<_> = subscriptions
            .into_iter()
            .map(|subscription| {
                let mut listener =
                    Listener { subscription, count: std::sync::Arc::default(), first: Poll::Pending };
                listener.first = listener.poll(&hub);
                listener
            })
            .collect();

        handler.join().unwrap();
        pipe.close();
        loops.into_iter().for_each(|dispatcher| dispatcher.join().unwrap());
        listeners.into_iter().for_each(|listener| listener.check(&hub));
    });
}

/// One delivery, one runtime, one listener: the handler's two steps and the dispatch race with
/// the listener's poll.
fn one_delivery_one_listener() {
    deliver(&[1], &[1], 1);
}

#[test]
fn a_delivery_after_a_listener_subscribed_wakes_it_and_is_seen_once() {
    one_delivery_one_listener();
}

/// One delivery, two runtimes reading the pipe, two listeners of the signal: each sees it
/// once, whichever runtime drains the byte and takes the flag.
#[test]
fn two_listeners_with_two_runtimes_reading_the_pipe_each_see_one_delivery_once() {
    deliver(&[1], &[1, 1], 2);
}

/// Two signals delivered one after the other while a dispatch may be running: the second
/// lands between the dispatch's drain and its take of the flags, or after both, and is seen.
fn two_signals_racing_with_a_dispatch() {
    deliver(&[1, 2], &[1, 2], 1);
}

#[test]
fn two_signals_delivered_while_a_dispatch_runs_are_both_seen() {
    two_signals_racing_with_a_dispatch();
}

#[test]
fn negative_control_a_handler_writing_before_marking_loses_the_delivery() {
    assert_loom_catches(
        "seeded_handler_writes_before_marking",
        "a listener subscribed before the delivery was not woken",
    );
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_handler_writes_before_marking() {
    seeded_bug::with(Bug::HandlerWritesBeforeMarking, one_delivery_one_listener);
}

#[test]
fn negative_control_a_dispatch_taking_flags_before_draining_loses_the_second_delivery() {
    assert_loom_catches(
        "seeded_dispatch_takes_before_draining",
        "a listener subscribed before the delivery was not woken",
    );
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_dispatch_takes_before_draining() {
    seeded_bug::with(Bug::DispatchTakesBeforeDraining, two_signals_racing_with_a_dispatch);
}

#[test]
fn negative_control_a_poll_registering_after_an_unlocked_check_misses_the_wake() {
    assert_loom_catches(
        "seeded_poll_registers_after_checking",
        "a listener subscribed before the delivery was not woken",
    );
}

#[test]
#[ignore = "a seeded bug: run only by its negative control"]
fn seeded_poll_registers_after_checking() {
    seeded_bug::with(Bug::PollRegistersAfterChecking, one_delivery_one_listener);
}
