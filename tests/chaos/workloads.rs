//! Workloads that need the pool to keep running tasks while results are awaited: timers, channels,
//! spawn storms and TCP echo. Each checks its result exactly: every message, task or timer is
//! accounted for once, in the order promised.

use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::{yield_now, Handle};
use reactor_channel::{oneshot, unbounded, Sender};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::Epoll;
use reactor_timer::{sleep, sleep_until};

use crate::harness::Env;

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Checks that `ids` holds each of `0..count` exactly once.
fn assert_each_once(mut ids: Vec<u64>, count: u64, what: &str) {
    ids.sort_unstable();
    let duplicated: Vec<_> = ids.windows(2).filter(|pair| pair[0] == pair[1]).map(|pair| pair[0]).collect();
    let missing: Vec<_> = (0..count).filter(|id| ids.binary_search(id).is_err()).collect();
    assert!(
        duplicated.is_empty() && missing.is_empty(),
        "{what}: duplicated {duplicated:?}, missing {missing:?}"
    );
}

/// Many sleeps of 0–20 ms, spawned in rounds (some from inside tasks, some as `sleep_until`),
/// with a short `block_on` between rounds: the calling thread may become the poller and return
/// while the pool's timers are pending. Each sleep completes once, and never early.
pub(crate) fn timers(env: &mut Env) {
    const PER_ROUND: u64 = 16;
    let rounds = env.scaled(5u64);
    let executor = env.executor();
    let (done_tx, done_rx) = unbounded::<(u64, Duration, Duration)>();
    for round in 0..rounds {
        for index in 0..PER_ROUND {
            let id = round * PER_ROUND + index;
            let asked = env.rng.duration(ms(20));
            let until = env.rng.chance(0.3);
            let done_tx = done_tx.clone();
            let sleeper = async move {
                let start = Instant::now();
                if until {
                    sleep_until(start + asked).await;
                } else {
                    sleep(asked).await;
                }
                done_tx.try_send((id, asked, start.elapsed())).expect("the collector waits");
            };
            if env.rng.chance(0.3) {
                executor
                    .spawn(async move { Handle::current().expect("inside a task").spawn(sleeper).detach() })
                    .detach();
            } else {
                executor.spawn(sleeper).detach();
            }
        }
        let pause = env.rng.duration(ms(3));
        env.phase(format!("a short block_on after round {round} of sleeps"));
        executor.block_on(async move { sleep(pause).await });
    }
    drop(done_tx);
    let done = env.collect(done_rx, (rounds * PER_ROUND) as usize, "sleeps");
    for &(id, asked, slept) in &done {
        assert!(slept >= asked, "sleep {id} asked for {asked:?} and returned after {slept:?}");
    }
    assert_each_once(done.iter().map(|&(id, ..)| id).collect(), rounds * PER_ROUND, "sleeps");
}

/// Producers per channel: even ones are plain threads (`send_blocking`), odd ones pool tasks.
const PRODUCERS: usize = 4;
/// Messages per producer (times `REACTOR_CHAOS_SCALE`).
const MESSAGES: u32 = 400;

/// Bounded and unbounded MPSC channels, each with producers on plain threads and in tasks and
/// one consumer task that checks every producer's messages arrive once and in order.
pub(crate) fn channels(env: &mut Env) {
    let executor = env.executor();
    let messages = env.scaled(MESSAGES);
    for bounded in [true, false] {
        let capacity = 1 + env.rng.below(8) as usize;
        let (tx, mut rx) = if bounded { reactor_channel::bounded(capacity) } else { unbounded() };
        let (verdict_tx, verdict_rx) = oneshot();
        executor
            .spawn(async move {
                let mut next = [0u32; PRODUCERS];
                while let Ok((producer, seq)) = rx.recv().await {
                    if seq != next[producer] {
                        let _ = verdict_tx.send(Err(format!(
                            "producer {producer}: got {seq}, expected {}",
                            next[producer]
                        )));
                        return;
                    }
                    next[producer] += 1;
                }
                let _ = verdict_tx.send(Ok(next));
            })
            .detach();
        thread::scope(|scope| {
            for producer in 0..PRODUCERS {
                let tx = tx.clone();
                if producer % 2 == 0 {
                    scope.spawn(move || {
                        for seq in 0..messages {
                            tx.send_blocking((producer, seq)).expect("the consumer is alive");
                        }
                    });
                } else {
                    let yield_every = 1 + env.rng.below(32) as u32;
                    let producing = async move {
                        for seq in 0..messages {
                            tx.send((producer, seq)).await.expect("the consumer is alive");
                            if seq % yield_every == 0 {
                                yield_now().await;
                            }
                        }
                    };
                    executor.spawn(producing).detach();
                }
            }
            drop(tx);
            let kind = if bounded { format!("bounded({capacity})") } else { "unbounded".into() };
            let counts =
                env.finish(verdict_rx, "channel consumer").unwrap_or_else(|error| panic!("{kind}: {error}"));
            assert_eq!(counts, [messages; PRODUCERS], "{kind}: messages received per producer");
        });
    }
}

const FANOUT: u64 = 3;
const DEPTH: u32 = 3;
/// Tasks per tree: 1 + 3 + 9 + 27.
const TREE: u64 = 40;

type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A task of a spawn tree, numbered in heap order; it spawns its children (awaiting some,
/// detaching the others) and reports its id once.
fn node(tree: u64, index: u64, depth: u32, done: Sender<u64>) -> BoxedTask {
    Box::pin(async move {
        done.try_send(tree * TREE + index).expect("the collector waits");
        if depth == DEPTH {
            return;
        }
        let handle = Handle::current().expect("inside a task");
        let mut awaited = Vec::new();
        for child in 0..FANOUT {
            let child_index = index * FANOUT + 1 + child;
            let task = handle.spawn(node(tree, child_index, depth + 1, done.clone()));
            if child_index % 2 == 0 {
                awaited.push(task);
            } else {
                task.detach();
            }
        }
        if index % 2 == 1 {
            yield_now().await;
        }
        for task in awaited {
            task.await.expect("a child task ran to completion");
        }
    })
}

/// Trees of tasks spawning tasks, rooted from the test thread, from plain threads through a
/// `Handle`, and from inside `block_on`; every task runs exactly once.
pub(crate) fn spawn_storm(env: &mut Env) {
    const SPAWNERS: u64 = 4;
    let trees_per_spawner = env.scaled(24u64);
    let executor = env.executor();
    let (done_tx, done_rx) = unbounded::<u64>();
    env.phase("spawning the roots");
    thread::scope(|scope| {
        for spawner in 0..SPAWNERS {
            let trees = spawner * trees_per_spawner..(spawner + 1) * trees_per_spawner;
            let done = done_tx.clone();
            match spawner {
                0 => trees.for_each(|tree| executor.spawn(node(tree, 0, 0, done.clone())).detach()),
                1 => executor.block_on(async {
                    let handle = Handle::current().expect("inside block_on");
                    trees.for_each(|tree| handle.spawn(node(tree, 0, 0, done.clone())).detach());
                }),
                _ => {
                    let handle = executor.handle();
                    scope.spawn(move || {
                        trees.for_each(|tree| handle.spawn(node(tree, 0, 0, done.clone())).detach())
                    });
                }
            }
        }
    });
    drop(done_tx);
    let total = SPAWNERS * trees_per_spawner * TREE;
    let ids = env.collect(done_rx, total as usize, "spawned tasks");
    assert_each_once(ids, total, "spawned tasks");
}

const CONNECTIONS: usize = 4;
const ROUND_TRIPS: usize = 30;

/// The bytes of one round trip: recognisable per connection, round and position.
fn payload(connection: usize, round: usize, length: usize) -> Vec<u8> {
    (0..length).map(|i| (connection * 131 + round * 17 + i) as u8).collect()
}

/// Echoes until the peer closes.
async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buffer = [0; 4096];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        stream.write_all(&buffer[..read]).await?;
    }
}

async fn async_client(addr: SocketAddr, connection: usize, lengths: Vec<usize>) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|error| format!("connect: {error}"))?;
    for (round, length) in lengths.into_iter().enumerate() {
        let sent = payload(connection, round, length);
        stream.write_all(&sent).await.map_err(|error| format!("round {round}: write: {error}"))?;
        let mut received = vec![0; length];
        stream.read_exact(&mut received).await.map_err(|error| format!("round {round}: read: {error}"))?;
        if received != sent {
            return Err(format!("round {round}: the echo differs from what was sent"));
        }
    }
    Ok(())
}

fn std_client(addr: SocketAddr, connection: usize, lengths: Vec<usize>) -> Result<(), String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|error| format!("connect: {error}"))?;
    for (round, length) in lengths.into_iter().enumerate() {
        let sent = payload(connection, round, length);
        stream.write_all(&sent).map_err(|error| format!("round {round}: write: {error}"))?;
        let mut received = vec![0; length];
        stream.read_exact(&mut received).map_err(|error| format!("round {round}: read: {error}"))?;
        if received != sent {
            return Err(format!("round {round}: the echo differs from what was sent"));
        }
    }
    Ok(())
}

/// An echo server in the pool (an accept task, a task per connection) on loopback, with clients
/// both in the pool and on plain threads (blocking std sockets); every byte comes back.
pub(crate) fn tcp_echo(env: &mut Env) {
    let executor = env.executor();
    let listener = executor.block_on(async {
        assert!(
            reactor::current_source::<Epoll>().is_some(),
            "current_source finds the epoll inside the chaos wrapper"
        );
        TcpListener::bind(([127, 0, 0, 1], 0)).await
    });
    let listener = listener.expect("bind a loopback listener");
    let addr = listener.local_addr().expect("the listener's address");
    executor
        .spawn(async move {
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await.expect("accept a client");
                Handle::current().expect("inside a task").spawn(echo(stream)).detach();
            }
        })
        .detach();
    let (results_tx, results_rx) = unbounded::<(u64, Result<(), String>)>();
    let round_trips = env.scaled(ROUND_TRIPS as u64) as usize;
    thread::scope(|scope| {
        for connection in 0..CONNECTIONS {
            let lengths: Vec<usize> = (0..round_trips).map(|_| 1 + env.rng.below(3000) as usize).collect();
            let results_tx = results_tx.clone();
            let report =
                move |result| results_tx.try_send((connection as u64, result)).expect("the collector waits");
            if connection % 2 == 0 {
                executor.spawn(async move { report(async_client(addr, connection, lengths).await) }).detach();
            } else {
                scope.spawn(move || report(std_client(addr, connection, lengths)));
            }
        }
        drop(results_tx);
        let results = env.collect(results_rx, CONNECTIONS, "echo clients");
        for (connection, result) in &results {
            assert_eq!(result, &Ok(()), "client {connection}");
        }
        assert_each_once(
            results.iter().map(|(connection, _)| *connection).collect(),
            CONNECTIONS as u64,
            "clients",
        );
    });
}
