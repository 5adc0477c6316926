//! Task hooks: what a tracing layer or a task console built on them would see.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use reactor::source::Parking;
use reactor::task::{self, TaskId, TaskKind, TaskMeta};
use reactor::Builder;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Spawn,
    PollStart,
    PollEnd,
    Terminate,
    /// A poll hook ran outside its task, or a task's kind changed.
    Violation,
}

/// A task's kind and the hook calls it saw, in order.
type Record = (TaskKind, Vec<Event>);

/// Every hook call, per task, in order, with its kind; and a check per poll hook that it runs
/// inside the task (`task::id()` is the task's).
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<HashMap<TaskId, Record>>>,
}

impl Recorder {
    /// Records `event`; a violation is recorded as an event of its own, since a hook's panic
    /// would be contained.
    fn record(&self, meta: &TaskMeta<'_>, event: Event) {
        let inside = task::try_id() == Some(meta.id());
        let mut events = self.events.lock().unwrap();
        let entry = events.entry(meta.id()).or_insert((meta.kind(), Vec::new()));
        if entry.0 != meta.kind() || (matches!(event, Event::PollStart | Event::PollEnd) && !inside) {
            entry.1.push(Event::Violation);
        }
        entry.1.push(event);
    }

    fn builder(&self) -> Builder {
        let (a, b, c, d) = (self.clone(), self.clone(), self.clone(), self.clone());
        Builder::new()
            .on_task_spawn(move |meta| a.record(meta, Event::Spawn))
            .on_task_poll_start(move |meta| b.record(meta, Event::PollStart))
            .on_task_poll_end(move |meta| c.record(meta, Event::PollEnd))
            .on_task_terminate(move |meta| d.record(meta, Event::Terminate))
    }

    fn of(&self, id: TaskId) -> Record {
        self.events.lock().unwrap().get(&id).cloned().expect("the task was seen by the hooks")
    }
}

/// The shape every task's record must have: spawn, zero or more polls (each start with its
/// end), terminate; returns the number of polls.
fn polls_of(events: &[Event]) -> usize {
    assert_eq!(events.first(), Some(&Event::Spawn), "{events:?}");
    assert_eq!(events.last(), Some(&Event::Terminate), "{events:?}");
    let polls = &events[1..events.len() - 1];
    assert_eq!(polls.len() % 2, 0, "{events:?}");
    for pair in polls.chunks(2) {
        assert_eq!(pair, [Event::PollStart, Event::PollEnd], "{events:?}");
    }
    polls.len() / 2
}

fn within_watchdog(name: &str, test: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        test();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(runner.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: no result within 60 s"),
    }
}

#[test]
fn hooks_see_spawn_each_poll_and_termination_of_tasks_on_several_workers() {
    within_watchdog("pool tasks", || {
        let recorder = Recorder::default();
        let executor = recorder.builder().worker_threads(2).build(Parking::new()).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                executor.spawn(async {
                    for _ in 0..3 {
                        reactor::yield_now().await;
                    }
                    task::id()
                })
            })
            .collect();
        let ids: Vec<TaskId> = tasks.into_iter().map(|task| executor.block_on(task).unwrap()).collect();
        drop(executor);
        for id in ids {
            let (kind, events) = recorder.of(id);
            assert_eq!(kind, TaskKind::Pool);
            assert_eq!(polls_of(&events), 4, "three yields and the completing poll");
        }
    });
}

#[test]
fn hooks_see_aborted_panicking_cancelled_local_and_blocking_tasks_end() {
    within_watchdog("every end", || {
        let _silence = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let recorder = Recorder::default();
        let executor = recorder.builder().worker_threads(1).build(Parking::new()).unwrap();

        let aborted = executor.spawn(std::future::pending::<()>());
        let aborted_id = aborted.id();
        aborted.abort();
        assert!(executor.block_on(aborted).unwrap_err().is_cancelled());

        let panicking = executor.spawn(async { panic!("boom") });
        let panicking_id = panicking.id();
        assert!(executor.block_on(panicking).unwrap_err().is_panic());

        let blocking = executor.spawn_blocking(|| 5);
        let blocking_id = blocking.id();
        assert_eq!(executor.block_on(blocking).unwrap(), 5);

        let local_id = executor.block_on(async {
            let local = reactor::spawn_local(async { std::rc::Rc::new(task::id()) }).unwrap();
            *local.await.unwrap()
        });

        let cancelled = executor.spawn(std::future::pending::<()>());
        let cancelled_id = cancelled.id();
        executor.block_on(async {
            // Polled once, then dropped: cancelled.
            reactor::yield_now().await;
            drop(cancelled);
        });
        drop(executor);

        let (kind, events) = recorder.of(aborted_id);
        assert_eq!(kind, TaskKind::Pool);
        assert!(polls_of(&events) <= 1, "at most the poll before the abort landed");
        assert_eq!(polls_of(&recorder.of(panicking_id).1), 1, "a panicking poll still ends");
        let (kind, events) = recorder.of(blocking_id);
        assert_eq!((kind, polls_of(&events)), (TaskKind::Blocking, 1));
        let (kind, events) = recorder.of(local_id);
        assert_eq!((kind, polls_of(&events)), (TaskKind::Local, 1));
        polls_of(&recorder.of(cancelled_id).1);
        std::panic::set_hook(_silence);
    });
}

#[test]
fn a_panicking_hook_leaves_the_task_and_the_runtime_running() {
    within_watchdog("panicking hook", || {
        let _silence = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let executor = Builder::new()
            .worker_threads(1)
            .on_task_spawn(|_| panic!("spawn hook"))
            .on_task_poll_start(|_| panic!("poll start hook"))
            .on_task_poll_end(|_| panic!("poll end hook"))
            .on_task_terminate(|_| panic!("terminate hook"))
            .build(Parking::new())
            .unwrap();
        let task = executor.spawn(async {
            reactor::yield_now().await;
            7
        });
        assert_eq!(executor.block_on(task).unwrap(), 7);
        assert_eq!(executor.block_on(executor.spawn(async { 8 })).unwrap(), 8);
        drop(executor);
        std::panic::set_hook(_silence);
    });
}
