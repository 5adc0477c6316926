//! The inotify source against the real kernel: events and their names, the notify and timeout
//! contracts, the deregistration guarantee under a racing dispatch, errors, and the source under
//! an executor with two workers. No test sleeps for an outcome: each waits for the events
//! themselves, a channel or a barrier, with a deadline so that a failure ends instead of hanging.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::thread::JoinHandleExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::{Composite, Parking};
use reactor::{Builder, EventSource};
use reactor_timer::{timeout, Timer};

use super::event::records;
use super::stream::CAPACITY;
use super::{Event, Inotify, Mask, Watch};
use crate::temp_dir::TempDir;

/// How long a test waits for events that must come before it fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

fn named(mask: Mask, name: &str) -> Event {
    Event { mask, name: Some(name.into()) }
}

/// Runs `inotify.wait` until `events` has delivered at least `count` events, and returns all it
/// delivered; panics if they do not come within `PATIENCE`.
fn dispatch_until_received(inotify: &Inotify, events: &mpsc::Receiver<Event>, count: usize) -> Vec<Event> {
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    loop {
        received.extend(events.try_iter());
        if received.len() >= count {
            return received;
        }
        let left =
            deadline.checked_duration_since(Instant::now()).expect("the expected events did not arrive");
        inotify.wait(Some(left)).expect("wait failed");
    }
}

/// A watch whose events go to the returned channel.
fn watch_into_channel(inotify: &Inotify, path: &Path, mask: Mask) -> (Watch, mpsc::Receiver<Event>) {
    let (sender, receiver) = mpsc::channel();
    let watch = inotify
        .watch(path, mask, move |event| {
            let _ = sender.send(event.clone());
        })
        .unwrap();
    (watch, receiver)
}

#[test]
fn create_modify_delete_arrive_with_their_names() {
    let dir = TempDir::new().unwrap();
    let inotify = Inotify::new().unwrap();
    let (_watch, events) =
        watch_into_channel(&inotify, dir.path(), Mask::CREATE | Mask::MODIFY | Mask::DELETE);

    let file = dir.path().join("a.txt");
    fs::write(&file, "x").unwrap();
    fs::remove_file(&file).unwrap();

    let seen = dispatch_until_received(&inotify, &events, 3);
    let expected = [named(Mask::CREATE, "a.txt"), named(Mask::MODIFY, "a.txt"), named(Mask::DELETE, "a.txt")];
    assert_eq!(seen, expected);
}

#[test]
fn watches_of_one_directory_each_get_only_their_kinds() {
    let dir = TempDir::new().unwrap();
    let inotify = Inotify::new().unwrap();
    // The kernel gives both the same watch descriptor, with the union of the masks.
    let (_all, all_events) = watch_into_channel(&inotify, dir.path(), Mask::CREATE | Mask::DELETE);
    let (_deletes, delete_events) = watch_into_channel(&inotify, dir.path(), Mask::DELETE);

    let file = dir.path().join("b.txt");
    fs::write(&file, "").unwrap();
    fs::remove_file(&file).unwrap();

    let all = dispatch_until_received(&inotify, &all_events, 2);
    assert_eq!(all, [named(Mask::CREATE, "b.txt"), named(Mask::DELETE, "b.txt")]);
    // The DELETE was dispatched to both in the same wait.
    assert_eq!(delete_events.try_iter().collect::<Vec<_>>(), [named(Mask::DELETE, "b.txt")]);
}

#[test]
fn events_of_a_watched_file_have_no_name() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("c.txt");
    fs::write(&file, "").unwrap();
    let inotify = Inotify::new().unwrap();
    let (_watch, events) = watch_into_channel(&inotify, &file, Mask::MODIFY);

    fs::write(&file, "changed").unwrap();

    let seen = dispatch_until_received(&inotify, &events, 1);
    assert_eq!(seen[0], Event { mask: Mask::MODIFY, name: None });
}

#[test]
fn kernel_records_decode_with_their_names() {
    let mut bytes = Vec::new();
    let mut record = |wd: i32, mask: u32, name: &[u8]| {
        bytes.extend(wd.to_ne_bytes());
        bytes.extend(mask.to_ne_bytes());
        bytes.extend(0u32.to_ne_bytes()); // cookie
        bytes.extend(u32::try_from(name.len()).unwrap().to_ne_bytes());
        bytes.extend(name);
    };
    record(3, libc::IN_CREATE | libc::IN_ISDIR, b"sub\0\0\0\0\0\0\0\0\0\0\0\0\0");
    record(-1, libc::IN_Q_OVERFLOW, b"");

    let decoded: Vec<_> = records(&bytes).map(|record| (record.wd, record.event)).collect();
    assert_eq!(decoded.len(), 2);
    assert_eq!(decoded[0].0, 3);
    assert_eq!(decoded[0].1.name.as_deref(), Some(Path::new("sub")));
    assert_eq!(format!("{:?}", decoded[0].1.mask), "CREATE | ISDIR");
    assert_eq!(decoded[1], (-1, Event { mask: Mask::OVERFLOW, name: None }));
    // A truncated record (here: its name cut short) ends the decoding instead of panicking.
    assert_eq!(records(&bytes[..20]).count(), 0);
}

/// Asserts that a wait returns well before its timeout: a lost notify fails instead of hanging.
fn assert_wait_ends_early(inotify: &Inotify) {
    let start = Instant::now();
    assert_eq!(inotify.wait(Some(PATIENCE)).unwrap(), 0);
    assert!(start.elapsed() < PATIENCE, "the notify was lost");
}

#[test]
fn notify_before_the_wait_is_not_lost_and_notifies_coalesce() {
    let inotify = Inotify::new().unwrap();
    inotify.notify();
    inotify.notify();
    assert_wait_ends_early(&inotify);

    // Both notifies were consumed: the next wait runs to its timeout...
    let timeout = Duration::from_millis(2);
    let start = Instant::now();
    assert_eq!(inotify.wait(Some(timeout)).unwrap(), 0);
    assert!(start.elapsed() >= timeout);
    // ...and the next notify still reaches a wait.
    inotify.notify();
    assert_wait_ends_early(&inotify);
}

#[test]
fn notify_from_another_thread_ends_a_blocked_wait() {
    let inotify = Inotify::new().unwrap();
    for _ in 0..100 {
        let barrier = Arc::new(Barrier::new(2));
        let notifier = thread::spawn({
            let inotify = inotify.clone();
            let barrier = barrier.clone();
            move || {
                barrier.wait();
                inotify.notify();
            }
        });
        barrier.wait();
        // Whether the notify lands before the wait blocks or after, the wait returns.
        assert_wait_ends_early(&inotify);
        notifier.join().unwrap();
    }
}

/// A signal handler that does nothing: its only effect is to interrupt a blocking call.
extern "C" fn interrupt_only(_signal: libc::c_int) {}

#[test]
fn a_wait_interrupted_by_a_signal_returns_ok() {
    let handler: extern "C" fn(libc::c_int) = interrupt_only;
    // SAFETY: `interrupt_only` is async-signal-safe (it does nothing), and SIGUSR1 is used by no
    // other code in this test binary.
    let previous = unsafe { libc::signal(libc::SIGUSR1, handler as libc::sighandler_t) };
    assert_ne!(previous, libc::SIG_ERR);
    let inotify = Inotify::new().unwrap();
    let (result_sender, result) = mpsc::channel();
    // Nothing but a signal can end this wait: no watch, no notify, no timeout.
    let waiter = thread::spawn(move || result_sender.send(inotify.wait(None)).unwrap());
    let deadline = Instant::now() + PATIENCE;
    // A signal that lands before the thread blocks is missed, so signal until the wait ends.
    let outcome = loop {
        assert!(Instant::now() < deadline, "the wait never returned");
        // SAFETY: the thread is not joined yet, so its pthread_t is valid even if it has exited.
        assert_eq!(unsafe { libc::pthread_kill(waiter.as_pthread_t(), libc::SIGUSR1) }, 0);
        match result.recv_timeout(Duration::from_millis(10)) {
            Ok(outcome) => break outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the waiting thread panicked"),
        }
    };
    waiter.join().unwrap();
    assert_eq!(outcome.unwrap(), 0);
}

#[test]
fn timeouts_never_return_early() {
    let inotify = Inotify::new().unwrap();
    assert_eq!(inotify.wait(Some(Duration::ZERO)).unwrap(), 0);
    for micros in [1, 300, 1_000, 2_500] {
        let timeout = Duration::from_micros(micros);
        let start = Instant::now();
        assert_eq!(inotify.wait(Some(timeout)).unwrap(), 0);
        let elapsed = start.elapsed();
        assert!(elapsed >= timeout, "a wait of {timeout:?} returned after {elapsed:?}");
    }
}

#[test]
fn no_callback_runs_after_the_watch_drop_returns() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("busy.txt");
    fs::write(&file, "").unwrap();
    let inotify = Inotify::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // A writer keeps MODIFY events coming, and a dispatch thread keeps running callbacks.
    let writer = thread::spawn({
        let (file, stop) = (OpenOptions::new().write(true).open(&file).unwrap(), stop.clone());
        move || {
            while !stop.load(Ordering::SeqCst) {
                file.write_all_at(b"x", 0).unwrap();
            }
        }
    });
    let dispatcher = thread::spawn({
        let (inotify, stop) = (inotify.clone(), stop.clone());
        move || {
            while !stop.load(Ordering::SeqCst) {
                inotify.wait(None).unwrap();
            }
        }
    });
    // The gate is registered first, so a dispatch runs it before the registrations added
    // later. Armed, it holds the dispatch thread inside the gate's callback, in the middle of
    // delivering one event, until released.
    let armed = Arc::new(AtomicBool::new(false));
    let (entered_sender, entered) = mpsc::sync_channel(0);
    let (release, released) = mpsc::sync_channel(0);
    let _gate = inotify
        .watch(&file, Mask::MODIFY, {
            let armed = armed.clone();
            move |_| {
                if armed.swap(false, Ordering::SeqCst) {
                    entered_sender.send(()).unwrap();
                    released.recv().unwrap();
                }
            }
        })
        .unwrap();
    // Returns with the dispatch thread held in the gate, in an event it looked up after the call.
    let hold_dispatch = || {
        armed.store(true, Ordering::SeqCst);
        entered.recv_timeout(PATIENCE).expect("the dispatch thread stopped dispatching");
    };

    for _ in 0..20 {
        let dropped = Arc::new(AtomicBool::new(false));
        let late_calls = Arc::new(AtomicUsize::new(0));
        let watch = inotify
            .watch(&file, Mask::MODIFY, {
                let (dropped, late_calls) = (dropped.clone(), late_calls.clone());
                move |_| {
                    if dropped.load(Ordering::SeqCst) {
                        late_calls.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
            .unwrap();
        // Twice: the second event was looked up after the first release, so after the watch
        // registered, and the dispatch thread is about to deliver it to the watch.
        hold_dispatch();
        release.send(()).unwrap();
        hold_dispatch();

        drop(watch);
        dropped.store(true, Ordering::SeqCst);
        release.send(()).unwrap();
        // Once the dispatch thread is back in the gate, it delivered that event to the end.
        hold_dispatch();
        release.send(()).unwrap();
        assert_eq!(late_calls.load(Ordering::SeqCst), 0, "a callback ran after its watch was dropped");
    }

    stop.store(true, Ordering::SeqCst);
    inotify.notify();
    writer.join().unwrap();
    dispatcher.join().unwrap();
}

#[test]
fn a_callback_may_drop_its_own_watch() {
    let dir = TempDir::new().unwrap();
    let inotify = Inotify::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let own_watch: Arc<Mutex<Option<Watch>>> = Arc::default();
    let watch = inotify
        .watch(dir.path(), Mask::CREATE, {
            let (calls, own_watch) = (calls.clone(), own_watch.clone());
            move |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                drop(own_watch.lock().unwrap().take()); // returns at once, no deadlock
            }
        })
        .unwrap();
    *own_watch.lock().unwrap() = Some(watch);
    let (_probe, probe_events) = watch_into_channel(&inotify, dir.path(), Mask::CREATE);

    fs::write(dir.path().join("first"), "").unwrap();
    fs::write(dir.path().join("second"), "").unwrap();

    dispatch_until_received(&inotify, &probe_events, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the callback ran once, then removed itself");
}

#[test]
fn bad_paths_are_precise_errors() {
    let dir = TempDir::new().unwrap();
    let inotify = Inotify::new().unwrap();

    let missing = dir.path().join("missing");
    let error = inotify.watch(&missing, Mask::CREATE, |_| {}).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().contains(&*missing.to_string_lossy()), "no path in: {error}");
    let error = inotify.watch_stream(&missing, Mask::CREATE).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);

    let error = inotify.watch("nul\0byte", Mask::CREATE, |_| {}).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn stream_under_an_executor_with_two_workers_ends_with_its_directory() {
    let dir = TempDir::new().unwrap();
    let watched = dir.path().join("watched");
    fs::create_dir(&watched).unwrap();
    let inotify = Inotify::new().unwrap();
    let source = Composite::new(inotify.clone()).unwrap().with(Timer::new()).unwrap();
    let executor = Builder::new().worker_threads(2).build(source).unwrap();

    let mut events = inotify.watch_stream(&watched, Mask::CREATE | Mask::DELETE).unwrap();
    let task = executor.spawn(async move {
        let mut seen = Vec::new();
        let all = async {
            while let Some(event) = events.next_event().await {
                seen.push(event);
            }
        };
        timeout(PATIENCE, all).await.expect("the stream did not end");
        seen
    });
    let writer = thread::spawn(move || {
        fs::write(watched.join("a"), "").unwrap();
        fs::write(watched.join("b"), "").unwrap();
        fs::remove_file(watched.join("a")).unwrap();
        fs::remove_file(watched.join("b")).unwrap();
        fs::remove_dir(&watched).unwrap();
    });
    writer.join().unwrap();

    let expected = [
        named(Mask::CREATE, "a"),
        named(Mask::CREATE, "b"),
        named(Mask::DELETE, "a"),
        named(Mask::DELETE, "b"),
        Event { mask: Mask::IGNORED, name: None },
    ];
    assert_eq!(executor.block_on(task).unwrap(), expected);
}

#[test]
fn a_stream_read_too_late_reports_one_overflow_in_place_of_the_events_it_dropped() {
    let dir = TempDir::new().unwrap();
    let inotify = Inotify::new().unwrap();
    let mut events = inotify.watch_stream(dir.path(), Mask::CREATE).unwrap();
    let created = CAPACITY + 10;
    for index in 0..created {
        fs::write(dir.path().join(format!("f{index}")), "").unwrap();
    }
    // Dispatch every event into the stream's buffer before anything reads it.
    let mut dispatched = 0;
    while dispatched < created {
        dispatched += inotify.wait(Some(PATIENCE)).unwrap();
    }
    fs::write(dir.path().join("late"), "").unwrap();
    let executor = Builder::new().worker_threads(1).build(Parking::new()).unwrap();
    executor.block_on(async {
        for index in 0..CAPACITY {
            assert_eq!(events.next_event().await, Some(named(Mask::CREATE, &format!("f{index}"))));
        }
        assert_eq!(events.next_event().await, Some(Event { mask: Mask::OVERFLOW, name: None }));
    });
    // After the overflow, events flow again.
    let mut dispatched = 0;
    while dispatched == 0 {
        dispatched = inotify.wait(Some(PATIENCE)).unwrap();
    }
    assert_eq!(executor.block_on(events.next_event()), Some(named(Mask::CREATE, "late")));
}

#[test]
fn a_timer_deadline_ends_the_blocked_inotify_wait() {
    let inotify = Inotify::new().unwrap();
    let source = Composite::new(inotify).unwrap().with(Timer::new()).unwrap();
    let executor = Builder::new().worker_threads(2).build(source).unwrap();
    // A worker may be blocked in inotify with no timeout when the sleep registers: the timer's
    // notifier, which is `Inotify::notify`, has to end that wait for the sleep to complete.
    let sleep = Duration::from_millis(5);
    let start = Instant::now();
    executor.block_on(executor.spawn(async move { reactor_timer::sleep(sleep).await })).unwrap();
    assert!(start.elapsed() >= sleep);
}

#[test]
fn one_inotify_instance_is_refused_by_a_second_executor_while_the_first_runs() {
    let inotify = Inotify::new().unwrap();
    let first = Builder::new().worker_threads(1).build(inotify.clone()).unwrap();
    let error = Builder::new().worker_threads(1).build(inotify.clone()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    // Once the first executor is gone, the source may be driven again.
    drop(first);
    let again = Composite::new(inotify).unwrap().with(Timer::new()).unwrap();
    drop(again);
}
