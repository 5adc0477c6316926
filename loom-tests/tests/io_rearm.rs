//! Loom models of the re-arm protocol of I/O backends whose registrations stop watching an fd
//! once they report it (one-shot: `reactor-polling` on `poll(2)` and event ports), and of the
//! edge-triggered path beside it, driven end to end as a program drives them: the real
//! `reactor_net::Async` registered with the mock backend (`reactor_loom::mock`), whose one-shot
//! bookkeeping is the core's `OneshotInterest`, the same code `reactor-polling` runs. The kernel
//! is the mock's loom-visible model of `EPOLLONESHOT` / `EPOLLET`.
//!
//! - a reader re-arming beside a writer waiting on the same fd: both are woken;
//! - a writer waiting while a read event disarms the one-shot registration: the write direction,
//!   unreported, is armed again and the writer is woken;
//! - a reader and a writer re-arming at once from two threads: the OS is left watching both
//!   directions (the modifies apply in the order they were decided);
//! - a reader woken by a report that finds nothing left and re-arms at once: the report is
//!   processed before it runs, so its re-arm stands and the next message wakes it; the same
//!   reader over an edge-triggered kernel loses no edge.
//!
//! A lost wake-up leaves every thread blocked (the task parked, the loop in the mock's wait):
//! loom reports a deadlock.
#![cfg(reactor_loom)]

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use reactor::io::Readiness;
use reactor::loom_internals::seeded_bug::{self, Bug};
use reactor::source::EventSource;
use reactor::{Builder, Executor};
use reactor_loom::mock::{MockFd, MockSource, Triggering};
use reactor_loom::{assert_loom_catches, model, spawn_unjoined};
use reactor_net::Async;

/// A task's waker: notifies the loom `Notify` its thread parks on.
struct Unpark(Arc<Notify>);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.notify();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.notify();
    }
}

/// Runs `task` on a new loom thread to completion, parking between polls (an executor's part
/// reduced to one task); then counts it in `done` and notifies `source`, so that the loop
/// waiting in it sees the count.
fn spawn_task(
    source: &MockSource,
    done: &Arc<AtomicUsize>,
    task: impl Future<Output = ()> + Send + 'static,
) -> impl FnOnce() {
    let (source, done) = (source.clone(), done.clone());
    spawn_unjoined(move || {
        let unpark = Arc::new(Notify::new());
        let waker = Waker::from(std::sync::Arc::new(Unpark(unpark.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut task = pin!(task);
        while task.as_mut().poll(&mut cx).is_pending() {
            unpark.wait();
        }
        // Release: the task's effects happen before the loop's Acquire of the count.
        done.fetch_add(1, Ordering::Release);
        source.notify();
    })
}

/// The loop: waits in `source` and dispatches until `tasks` tasks are done.
fn run_loop(source: &MockSource, done: &AtomicUsize, tasks: usize) {
    while done.load(Ordering::Acquire) < tasks {
        source.wait(None).unwrap();
    }
}

/// Polls `a` and `b` side by side until both are done: one task waiting in two directions.
async fn both(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut a_done, mut b_done) = (false, false);
    poll_fn(|cx| {
        a_done = a_done || a.as_mut().poll(cx).is_ready();
        b_done = b_done || b.as_mut().poll(cx).is_ready();
        if a_done && b_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Reads `messages` messages through the real `Async::read_with`.
async fn read(file: &Async<MockFd>, messages: usize) {
    for _ in 0..messages {
        file.read_with(MockFd::read).await.unwrap();
    }
}

/// One-shot. A task reads two messages and writes once on one fd, on its own thread; a peer
/// sends a message, makes room for the write, and sends the second message; the loop runs on
/// the main thread. The reader re-arms after its first message (on the task's thread) while the
/// loop may be processing the write report (on the main thread): both directions must wake.
fn reader_re_arming_beside_a_writer() {
    model(|| {
        let source = MockSource::with_triggering(Triggering::Oneshot);
        let file = source.file().unwrap();
        let peer = file.peer();
        let file = Async::with_source(file, &source).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let task = spawn_task(&source, &done, async move {
            both(read(&file, 2), async { file.write_with(MockFd::write).await.unwrap() }).await;
        });
        let peer = spawn_unjoined(move || {
            peer.make_ready(Readiness::READABLE);
            peer.make_ready(Readiness::WRITABLE);
            peer.make_ready(Readiness::READABLE);
        });
        run_loop(&source, &done, 1);
        task();
        peer();
        assert_eq!(source.registrations(), 0, "the task's drop of its Async deregistered it");
    });
}

#[test]
fn a_reader_re_arming_beside_a_writer_on_the_same_fd_leaves_neither_asleep() {
    reader_re_arming_beside_a_writer();
}

#[test]
fn negative_control_a_would_block_that_does_not_re_arm_is_caught() {
    assert_loom_catches("seeded_clear_skips_rearm", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_clear_skips_rearm() {
    seeded_bug::with(Bug::ClearSkipsRearm, reader_re_arming_beside_a_writer);
}

/// One-shot. A writer (the `block_on` task, whose thread is the poller) waits writable on an
/// `Async` it created inside the task, finding the mock as any backend is found; a peer makes
/// the fd readable, then writable. Whenever the read is reported alone, the report disarms the
/// whole registration: the write direction must be armed again at once.
fn writer_beside_a_read_event() {
    model(|| {
        let source = MockSource::with_triggering(Triggering::Oneshot);
        let file = source.file().unwrap();
        let peer = file.peer();
        let executor: Executor<MockSource> = Builder::new().worker_threads(0).build(source).unwrap();
        let peer = spawn_unjoined(move || {
            peer.make_ready(Readiness::READABLE);
            peer.make_ready(Readiness::WRITABLE);
        });
        executor.block_on(async move {
            let file = Async::new(file).expect("the mock is the executor's I/O backend");
            file.write_with(MockFd::write).await.unwrap();
        });
        peer();
    });
}

#[test]
fn a_writer_waiting_while_a_read_event_disarms_the_registration_is_woken() {
    writer_beside_a_read_event();
}

#[test]
fn negative_control_a_report_that_disarms_the_unreported_direction_is_caught() {
    assert_loom_catches("seeded_oneshot_forgets_unreported", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_oneshot_forgets_unreported() {
    seeded_bug::with(Bug::OneshotForgetsUnreported, writer_beside_a_read_event);
}

/// One-shot. A reader on its own thread reads a message and then tries once more (meeting
/// `WouldBlock` it re-arms, and gives up); a writer, the `block_on` task on the main thread
/// (the poller), writes twice. Both directions are ready to begin with; a peer makes room for the
/// second write. Once both directions have been reported, the reader and the writer re-arm at about
/// the same time from two threads: the registration must end up watching writability, or the
/// writer sleeps through the room made for it.
fn reader_and_writer_re_arming_at_once() {
    model(|| {
        let source = MockSource::with_triggering(Triggering::Oneshot);
        let file = source.file().unwrap();
        let peer = file.peer();
        let file = std::sync::Arc::new(Async::with_source(file, &source).unwrap());
        let executor: Executor<MockSource> = Builder::new().worker_threads(0).build(source).unwrap();
        let reader = {
            let file = file.clone();
            spawn_unjoined(move || {
                let unpark = Arc::new(Notify::new());
                let waker = Waker::from(std::sync::Arc::new(Unpark(unpark.clone())));
                let mut cx = Context::from_waker(&waker);
                let mut first = pin!(file.read_with(MockFd::read));
                while first.as_mut().poll(&mut cx).is_pending() {
                    unpark.wait();
                }
                let _ = pin!(file.read_with(MockFd::read)).poll(&mut cx);
            })
        };
        peer.make_ready(Readiness::READABLE | Readiness::WRITABLE);
        let peer = spawn_unjoined(move || peer.make_ready(Readiness::WRITABLE));
        executor.block_on(async {
            for _ in 0..2 {
                file.write_with(MockFd::write).await.unwrap();
            }
        });
        reader();
        peer();
    });
}

#[test]
fn a_reader_and_a_writer_re_arming_at_once_from_two_threads_are_both_woken() {
    reader_and_writer_re_arming_at_once();
}

#[test]
fn negative_control_re_arms_applied_out_of_order_are_caught() {
    assert_loom_catches("seeded_oneshot_modifies_outside_lock", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_oneshot_modifies_outside_lock() {
    seeded_bug::with(Bug::OneshotModifiesOutsideLock, reader_and_writer_re_arming_at_once);
}

/// A reader on its own thread reads two messages; a peer sends two; the loop runs on the main
/// thread. Woken by the first report, the reader may find the second message not there yet,
/// meet `WouldBlock` and re-arm before the loop has finished with that report (one-shot), or
/// race with the second message's edge (edge-triggered): either way the second message must
/// wake it.
fn reader_of_two_messages(triggering: Triggering) {
    model(move || {
        let source = MockSource::with_triggering(triggering);
        let file = source.file().unwrap();
        let peer = file.peer();
        let file = Async::with_source(file, &source).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let task = spawn_task(&source, &done, async move { read(&file, 2).await });
        let peer = spawn_unjoined(move || {
            peer.make_ready(Readiness::READABLE);
            peer.make_ready(Readiness::READABLE);
        });
        run_loop(&source, &done, 1);
        task();
        peer();
    });
}

#[test]
fn a_reader_re_arming_as_soon_as_it_is_woken_gets_the_next_message() {
    reader_of_two_messages(Triggering::Oneshot);
}

#[test]
fn negative_control_a_report_processed_after_the_woken_readers_re_arm_is_caught() {
    assert_loom_catches("seeded_oneshot_dispatches_first", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_oneshot_dispatches_first() {
    seeded_bug::with(Bug::OneshotDispatchesFirst, || reader_of_two_messages(Triggering::Oneshot));
}

#[test]
fn edge_triggered_a_reader_of_two_messages_gets_both() {
    reader_of_two_messages(Triggering::Edge);
}

#[test]
fn negative_control_an_edge_lost_to_a_clear_that_ignores_it_is_caught() {
    assert_loom_catches("seeded_edge_clear_ignores_tick", "deadlock");
}

#[test]
#[ignore = "seeded bug: run in a child process by its negative control"]
fn seeded_edge_clear_ignores_tick() {
    seeded_bug::with(Bug::ClearIgnoresTick, || reader_of_two_messages(Triggering::Edge));
}
