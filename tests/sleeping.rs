//! How the executor's threads sleep and wake, tested the way users meet it: two runtimes in one
//! process, `block_on` on several threads, a `block_on` returning beside sleeping workers, plain
//! threads waking pool tasks in a loop, `!Send` tasks woken while their `block_on` exits.
//!
//! Each test is a regression test for a lost wake-up that the earlier design had (see the loom
//! models in `loom-tests/tests/executor_sleep.rs`). A lost wake-up is a hang, so every scenario
//! runs under a watchdog that fails the test instead of hanging the suite.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::Parking;
use reactor::{Builder, Executor};
use reactor_epoll::Runtime;

mod common;
use common::{within_watchdog, DropCounter, Gate};

fn executor(workers: usize) -> Executor<Parking> {
    Builder::new().worker_threads(workers).build(Parking::new()).unwrap()
}

#[test]
fn a_sleep_on_one_runtimes_timer_wakes_another_runtimes_block_on() {
    within_watchdog("a timer of runtime A waking runtime B's block_on", || {
        let driving = Runtime::builder().worker_threads(1).build().unwrap();
        // No workers: B's `block_on` thread is always the one blocked in B's source.
        let waiting = Runtime::builder().worker_threads(0).build().unwrap();
        let timer = driving.timer().clone();
        for _ in 0..50 {
            waiting.block_on(timer.sleep(Duration::from_millis(1)));
        }
        // B is not wedged afterwards: a spawn into it still runs.
        assert_eq!(waiting.block_on(waiting.spawn(async { 7 })).unwrap(), 7);
    });
}

#[test]
fn with_no_workers_a_pool_task_runs_on_whichever_block_on_thread_is_left() {
    within_watchdog("a pool task with two block_on threads and no workers", || {
        for _ in 0..100 {
            let executor = Arc::new(executor(0));
            let (passing, awaited) = (Gate::default(), Gate::default());
            let (started_tx, started) = mpsc::channel();
            // This thread's `block_on` goes to sleep first, so it likely waits in the source...
            let passer = {
                let (executor, passing) = (executor.clone(), passing.clone());
                thread::spawn(move || {
                    executor.block_on(async {
                        started_tx.send(()).unwrap();
                        passing.wait().await;
                    })
                })
            };
            started.recv().unwrap();
            thread::sleep(Duration::from_millis(1));
            // ...and the main thread's sleeps beside it; then a task the main thread awaits is
            // spawned, and the passer's own future is woken at once, so the passer may return
            // without running the task.
            let spawner = {
                let (executor, awaited) = (executor.clone(), awaited.clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(1));
                    executor.spawn(async move { awaited.open() }).detach();
                    passing.open();
                })
            };
            executor.block_on(awaited.wait());
            passer.join().unwrap();
            spawner.join().unwrap();
        }
    });
}

/// A task of the only worker registers a timer (or a read) and then keeps the worker busy for
/// 20 ms; meanwhile the main thread's `block_on` sleeps 50 ms, waiting in the source, so the
/// worker, done, goes to sleep without the poll role. Then the `block_on` returns.
fn busy_worker_beside_a_block_on(
    runtime: &Runtime,
    waiting: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (started_tx, started) = mpsc::channel();
    runtime
        .spawn(async move {
            let mut waiting = std::pin::pin!(waiting);
            assert!(futures_lite::future::poll_once(waiting.as_mut()).await.is_none());
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(20));
            waiting.await;
        })
        .detach();
    started.recv().unwrap();
    runtime.block_on(async { reactor_epoll::time::sleep(Duration::from_millis(50)).await });
}

#[test]
fn a_block_on_returning_beside_a_sleeping_worker_leaves_the_timer_driven() {
    within_watchdog("a 100 ms timer after a block_on that held the poll role", || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        let (fired_tx, fired) = mpsc::channel();
        busy_worker_beside_a_block_on(&runtime, async move {
            reactor_epoll::time::sleep(Duration::from_millis(100)).await;
            fired_tx.send(()).unwrap();
        });
        // Nothing else is queued: only a thread left waiting in the source can fire the timer.
        fired.recv_timeout(Duration::from_secs(10)).expect("the 100 ms timer never fired");
    });
}

#[test]
fn a_block_on_returning_beside_a_sleeping_worker_leaves_sockets_driven() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use reactor_epoll::net::{TcpListener, TcpStream};

    within_watchdog("a read after a block_on that held the poll role", || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        let (mut server, mut client) = runtime
            .block_on(async {
                let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await?;
                let client = TcpStream::connect(listener.local_addr()?).await?;
                let (server, _) = listener.accept().await?;
                std::io::Result::Ok((server, client))
            })
            .unwrap();
        let (read_tx, read) = mpsc::channel();
        busy_worker_beside_a_block_on(&runtime, async move {
            let mut byte = [0];
            server.read_exact(&mut byte).await.unwrap();
            read_tx.send(byte[0]).unwrap();
        });
        // Written from a plain thread: only the epoll wait can deliver it to the reader.
        futures_lite::future::block_on(client.write_all(&[42])).unwrap();
        assert_eq!(read.recv_timeout(Duration::from_secs(10)).expect("the read was never woken"), 42);
    });
}

#[test]
fn a_plain_thread_waking_a_pool_task_and_awaiting_its_reply_never_stalls() {
    within_watchdog("ping-pong between a plain thread and a pool task", || {
        let executor = executor(2);
        let (request_tx, mut requests) = reactor_channel::bounded::<u32>(1);
        let (reply_tx, replies) = mpsc::channel();
        executor
            .spawn(async move {
                while let Ok(value) = requests.recv().await {
                    reply_tx.send(value + 1).unwrap();
                }
            })
            .detach();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut rounds = 0u32;
        while rounds < 2_000 || Instant::now() < deadline {
            request_tx.send_blocking(rounds).unwrap();
            assert_eq!(replies.recv().unwrap(), rounds + 1);
            rounds += 1;
        }
    });
}

#[test]
fn a_bounded_channel_fed_by_four_blocking_senders_delivers_everything() {
    within_watchdog("four send_blocking threads into a pool task", || {
        let executor = executor(2);
        let (tx, mut rx) = reactor_channel::bounded::<u32>(4);
        let received = executor.spawn(async move {
            let mut count = 0u64;
            while rx.recv().await.is_ok() {
                count += 1;
            }
            count
        });
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                thread::spawn(move || (0..20_000).for_each(|i| tx.send_blocking(i).unwrap()))
            })
            .collect();
        drop(tx);
        senders.into_iter().for_each(|sender| sender.join().unwrap());
        assert_eq!(executor.block_on(received).unwrap(), 80_000);
    });
}

#[test]
fn a_local_task_woken_while_its_block_on_exits_is_dropped_before_block_on_returns() {
    within_watchdog("spawn_local exit against a foreign wake", || {
        let executor = executor(0);
        for _ in 0..2_000 {
            let drops = Arc::new(AtomicUsize::new(0));
            let gate = Gate::default();
            let opener = executor.block_on(async {
                let counter = DropCounter(drops.clone());
                let waited = gate.wait();
                executor
                    .spawn_local(async move {
                        let _counter = counter;
                        waited.await;
                    })
                    .unwrap()
                    .detach();
                reactor::yield_now().await; // the local task now waits on the gate
                let gate = gate.clone();
                thread::spawn(move || gate.open())
            });
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the local task's future outlived its block_on");
            opener.join().unwrap();
        }
    });
}

#[test]
fn dropping_a_local_task_panicking_in_drop_still_drops_the_others() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a local future's drop panicked");
        }
    }
    let executor = executor(0);
    let drops = Arc::new(AtomicUsize::new(0));
    let exited = Arc::new(AtomicBool::new(false));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        executor.block_on(async {
            for index in 0..4 {
                let counter = DropCounter(drops.clone());
                let never = Gate::default().wait();
                executor
                    .spawn_local(async move {
                        let _panics = (index == 1).then_some(PanicOnDrop);
                        let _counter = counter;
                        never.await;
                    })
                    .unwrap()
                    .detach();
            }
            reactor::yield_now().await;
        });
        exited.store(true, Ordering::SeqCst);
    }));
    assert!(result.is_ok() && exited.load(Ordering::SeqCst), "block_on returned normally");
    assert_eq!(drops.load(Ordering::SeqCst), 4, "every local future was dropped");
}

#[test]
fn dropping_an_executor_drops_a_task_that_another_thread_is_waking_before_it_returns() {
    within_watchdog("executor drop against a foreign wake", || {
        for _ in 0..500 {
            let executor = executor(1);
            let drops = Arc::new(AtomicUsize::new(0));
            let gate = Gate::default();
            let (parked_tx, parked) = mpsc::channel();
            let counter = DropCounter(drops.clone());
            let waited = gate.wait();
            executor
                .spawn(async move {
                    let _counter = counter;
                    parked_tx.send(()).unwrap();
                    waited.await;
                })
                .detach();
            parked.recv().unwrap();
            let opener = thread::spawn(move || gate.open());
            drop(executor);
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the task's future outlived its executor");
            opener.join().unwrap();
        }
    });
}
