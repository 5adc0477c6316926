//! Workloads about the threads around the pool: several `block_on` callers at once, a plain
//! thread ping-ponging with a pool task, shutdown while tasks wait, and a source that always
//! fails.

use std::future::pending;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use reactor::{yield_now, Handle};
use reactor_channel::{oneshot, unbounded, Receiver};
use reactor_epoll::Async;
use reactor_timer::sleep;

use crate::harness::{Env, Variant};
use crate::source::Stats;

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Two or three plain threads calling `block_on` on the same executor at once, each call
/// spawning pool tasks and awaiting them; meanwhile pool timers must still fire after every
/// `block_on` has returned.
pub(crate) fn concurrent_block_on(env: &mut Env) {
    const LATE_TIMERS: u64 = 6;
    let calls = env.scaled(40u64);
    let executor = env.executor();
    let (late_tx, late_rx) = unbounded::<u64>();
    for id in 0..LATE_TIMERS {
        let (late_tx, delay) = (late_tx.clone(), env.rng.duration(ms(15)));
        let timer = async move {
            sleep(delay).await;
            late_tx.try_send(id).expect("the collector waits");
        };
        executor.spawn(timer).detach();
    }
    drop(late_tx);
    let threads = 2 + env.rng.below(2);
    let plans: Vec<Vec<(Duration, Duration, u32)>> = (0..threads)
        .map(|_| {
            (0..calls)
                .map(|_| (env.rng.duration(ms(2)), env.rng.duration(ms(1)), env.rng.below(8) as u32))
                .collect()
        })
        .collect();
    env.phase(format!("{threads} threads calling block_on {calls} times each"));
    let completed: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
    let env = &*env;
    let completed = &completed;
    thread::scope(|scope| {
        for (thread, plan) in plans.into_iter().enumerate() {
            scope.spawn(move || {
                for (call, (pool_sleep, own_sleep, yields)) in plan.into_iter().enumerate() {
                    let value = (thread * 1000 + call) as u64;
                    let got = executor.block_on(async move {
                        let handle = Handle::current().expect("inside block_on");
                        let sleeper = handle.spawn(async move {
                            sleep(pool_sleep).await;
                            value
                        });
                        let yielder = handle.spawn(async move {
                            for _ in 0..yields {
                                yield_now().await;
                            }
                            value * 2
                        });
                        sleep(own_sleep).await;
                        sleeper.await.expect("the sleeping task ran")
                            + yielder.await.expect("the yielding task ran")
                    });
                    assert_eq!(got, value * 3, "block_on call {call} of thread {thread}");
                    completed[thread].fetch_add(1, Ordering::SeqCst);
                    let progress: Vec<_> =
                        completed.iter().map(|calls| calls.load(Ordering::SeqCst)).collect();
                    env.phase(format!("block_on calls of {calls} per thread returned so far: {progress:?}"));
                }
            });
        }
    });
    let mut late = env.collect(late_rx, LATE_TIMERS as usize, "pool timers after the block_on calls");
    late.sort_unstable();
    assert_eq!(late, (0..LATE_TIMERS).collect::<Vec<_>>(), "each pool timer fired once");
}

/// Requests served by pool tasks: a number, and where to send its reply.
type Request = (u32, Option<oneshot::Sender<u32>>);

/// A pool task answering `n` with `2n + 1`, through the request's oneshot or `replies`; reports
/// how many it served when the requests end.
async fn serve(
    mut requests: Receiver<Request>,
    replies: reactor_channel::Sender<u32>,
    served: oneshot::Sender<u32>,
) {
    let mut count = 0;
    while let Ok((n, reply)) = requests.recv().await {
        match reply {
            Some(reply) => reply.send(2 * n + 1).expect("the pinger waits for its reply"),
            None => replies.send(2 * n + 1).await.expect("the pinger waits for its reply"),
        }
        count += 1;
    }
    let _ = served.send(count);
}

/// How a pinger waits for one reply.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// A blocking receive on a reply channel shared by all rounds.
    Channel,
    /// A blocking receive on a oneshot sent along with the request.
    Oneshot,
    /// The whole round trip inside `block_on` on the pool's executor.
    BlockOn,
}

/// A plain thread wakes a pool task through a channel and waits for its reply, over and over,
/// sometimes pausing so the pool goes idle first: the shape that once lost a wake-up. It waits
/// blocking on a channel or a oneshot, or runs the round trip in `block_on`.
pub(crate) fn ping_pong(env: &mut Env) {
    const PINGERS: usize = 2;
    let rounds = env.scaled(600u32);
    let executor = env.executor();
    let mut servers = Vec::new();
    let mut pingers = Vec::new();
    for _ in 0..PINGERS {
        let (request_tx, request_rx) = reactor_channel::bounded::<Request>(1);
        let (reply_tx, mut reply_rx) = unbounded::<u32>();
        let (served_tx, served_rx) = oneshot();
        executor.spawn(serve(request_rx, reply_tx, served_tx)).detach();
        servers.push(served_rx);
        let plan: Vec<(Wait, Option<Duration>)> = (0..rounds)
            .map(|_| {
                let wait = [Wait::Channel, Wait::Oneshot, Wait::BlockOn][env.rng.below(3) as usize];
                (wait, env.rng.chance(0.2).then(|| env.rng.duration(Duration::from_micros(300))))
            })
            .collect();
        pingers.push(move || {
            for (n, (wait, pause)) in (0..rounds).zip(plan) {
                if let Some(pause) = pause {
                    thread::sleep(pause);
                }
                let reply = match wait {
                    Wait::Channel => {
                        request_tx.send_blocking((n, None)).expect("the server is alive");
                        reply_rx.recv_blocking().ok()
                    }
                    Wait::Oneshot => {
                        let (one_tx, one_rx) = oneshot();
                        request_tx.send_blocking((n, Some(one_tx))).expect("the server is alive");
                        one_rx.recv_blocking().ok()
                    }
                    Wait::BlockOn => executor.block_on(async {
                        request_tx.send((n, None)).await.expect("the server is alive");
                        reply_rx.recv().await.ok()
                    }),
                };
                assert_eq!(reply, Some(2 * n + 1), "round {n}, waiting by {wait:?}");
            }
        });
    }
    env.phase("ping-pong rounds");
    thread::scope(|scope| {
        for pinger in pingers {
            scope.spawn(pinger);
        }
        for served in servers {
            assert_eq!(env.finish(served, "a ping server"), rounds, "requests served");
        }
    });
}

/// Counts guards created and dropped.
#[derive(Clone, Default)]
struct Guards {
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct Guard(Arc<AtomicUsize>);

impl Guards {
    fn guard(&self) -> Guard {
        self.created.fetch_add(1, Ordering::SeqCst);
        Guard(self.dropped.clone())
    }

    fn alive(&self) -> usize {
        self.created.load(Ordering::SeqCst) - self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Drops the executor while its tasks sleep, wait on channels, on a socket, on nothing, or keep
/// yielding: every future is dropped by the time the drop returns, and spawns after it are
/// cancelled (their futures dropped) too.
pub(crate) fn shutdown(env: &mut Env) {
    const TASKS: u64 = 42;
    let epoll = env.scenario.variant == Variant::Epoll;
    let guards = Guards::default();
    let mut keep_alive: Vec<Box<dyn Send>> = Vec::new();
    let mut handles = Vec::new();
    let (started_tx, started_rx) = unbounded::<u64>();
    let executor = env.executor();
    for id in 0..TASKS {
        let (guard, started) = (guards.guard(), started_tx.clone());
        let report = move || started.try_send(id).expect("the test waits for every start");
        let task = match id % 7 {
            0 => executor.spawn(async move {
                let _guard = guard;
                report();
                sleep(Duration::from_secs(3600)).await;
            }),
            1 => {
                let (tx, mut rx) = unbounded::<()>();
                keep_alive.push(Box::new(tx));
                executor.spawn(async move {
                    let _guard = guard;
                    report();
                    let _ = rx.recv().await;
                })
            }
            2 => executor.spawn(async move {
                let _guard = guard;
                report();
                pending::<()>().await;
            }),
            3 => executor.spawn(async move {
                let _guard = guard;
                report();
                loop {
                    yield_now().await;
                }
            }),
            4 => {
                let child_guard = guards.guard();
                executor.spawn(async move {
                    let _guard = guard;
                    let child = async move {
                        let _guard = child_guard;
                        pending::<()>().await;
                    };
                    Handle::current().expect("inside a task").spawn(child).detach();
                    report();
                    pending::<()>().await;
                })
            }
            5 if epoll => {
                let (ours, theirs) = UnixStream::pair().expect("a socket pair");
                keep_alive.push(Box::new(theirs));
                executor.spawn(async move {
                    let _guard = guard;
                    let ours = Async::new(ours).expect("register the socket with the executor's epoll");
                    report();
                    let _ = ours.readable().await;
                })
            }
            _ => {
                let delay = env.rng.duration(ms(3));
                executor.spawn(async move {
                    let _guard = guard;
                    report();
                    sleep(delay).await;
                })
            }
        };
        if env.rng.chance(0.5) {
            task.detach();
        } else {
            handles.push(task);
        }
    }
    drop(started_tx);
    let started = env.collect(started_rx, TASKS as usize, "task starts");
    assert_eq!(started.len(), TASKS as usize);
    if env.rng.chance(0.5) {
        let pause = env.rng.duration(ms(3));
        executor.block_on(async move { sleep(pause).await });
    }
    let handle = executor.handle();
    env.phase("dropping the executor mid-workload");
    drop(env.take_executor());
    assert_eq!(guards.alive(), 0, "every task's future is dropped when the executor drop returns");
    let late = guards.guard();
    drop(handle.spawn(async move {
        let _guard = late;
    }));
    let refused = guards.guard();
    let refused = handle.try_spawn(async move {
        let _guard = refused;
    });
    assert!(refused.is_err(), "try_spawn after shutdown hands the future back");
    drop(refused);
    assert_eq!(guards.alive(), 0, "a future spawned after shutdown is dropped, not kept");
    drop(handles);
    drop(keep_alive);
}

/// Every wait of the source fails. Tasks woken by channels (no source needed) still run, every
/// error reaches the hook, and while nothing happens the executor does not retry the failing
/// wait in a busy loop.
pub(crate) fn failing_source(env: &mut Env) {
    const ROUNDS: u32 = 4;
    const IDLE: Duration = ms(50);
    /// A generous bound: one failed wait per 100 µs of idleness, where any backoff is slower and
    /// a busy loop is hundreds of times faster.
    const MAX_WAITS_PER_MS: u64 = 10;
    let executor = env.executor();
    let (request_tx, request_rx) = reactor_channel::bounded::<Request>(1);
    let (reply_tx, mut reply_rx) = unbounded::<u32>();
    let (served_tx, served_rx) = oneshot();
    executor.spawn(serve(request_rx, reply_tx, served_tx)).detach();
    let stats = env.stats.clone();
    let pinger = move || {
        let (mut idle_waits, mut idle_time) = (0, Duration::ZERO);
        for n in 0..ROUNDS {
            let (waits, started) = (Stats::get(&stats.waits), Instant::now());
            thread::sleep(IDLE);
            idle_waits += Stats::get(&stats.waits) - waits;
            idle_time += started.elapsed();
            request_tx.send_blocking((n, None)).expect("the server is alive");
            assert_eq!(reply_rx.recv_blocking().ok(), Some(2 * n + 1), "round {n}");
        }
        (idle_waits, idle_time)
    };
    let (idle_waits, idle_time) = thread::scope(|scope| {
        let pinger = scope.spawn(pinger);
        assert_eq!(env.finish(served_rx, "the ping server"), ROUNDS, "requests served");
        pinger.join().expect("the pinger thread")
    });
    let bound = MAX_WAITS_PER_MS * idle_time.as_millis() as u64;
    assert!(
        idle_waits <= bound,
        "the executor retried a failing wait {idle_waits} times in {idle_time:?} of idleness (at most {bound}): \
         it spins instead of backing off"
    );
}
