//! Workloads that measure spawning and scheduling: tiny tasks, yields and spawn chains.

use std::time::Instant;

use crate::runtime::{ChannelReceiver, ChannelSender, Runtime, Spawner};
use crate::sizes::Sizes;
use crate::stats::ms;
use crate::workloads::{ensure, on_worker, Failure, Outcome};

/// Spawns tiny tasks from inside a task, awaits them all and checks the sum of their outputs.
pub(crate) fn spawn_inside<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let tasks = sizes.spawned_tasks;
    let spawner = runtime.spawner();
    let start = Instant::now();
    let sum = on_worker(runtime, async move {
        let handles: Vec<_> = (0..tasks as u64).map(|i| spawner.spawn(async move { i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        sum
    });
    let elapsed = start.elapsed();
    check_sum(sum, tasks)?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}

/// Spawns tiny tasks from a plain thread while the runtime runs, then awaits them all inside
/// the runtime and checks the sum of their outputs.
pub(crate) fn spawn_remote<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let Some(remote) = runtime.remote_spawner() else {
        return Ok(Outcome::NotAvailable("spawns only from its own thread"));
    };
    let tasks = sizes.spawned_tasks;
    let (handles_tx, mut handles_rx) = R::bounded(1);
    let start = Instant::now();
    let spawning = std::thread::spawn(move || {
        let handles: Vec<_> = (0..tasks as u64).map(|i| remote.spawn(async move { i })).collect();
        handles_tx.send_blocking(handles);
    });
    let sum = on_worker(runtime, async move {
        let handles = handles_rx.recv().await.expect("the spawning thread sends its handles");
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        sum
    });
    let elapsed = start.elapsed();
    spawning.join().map_err(|_| "the spawning thread panicked".to_string())?;
    check_sum(sum, tasks)?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}

/// Tasks that yield a fixed number of times each; checks every yield happened.
pub(crate) fn yields<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let (tasks, per_task) = (sizes.yield_tasks, sizes.yields_per_task);
    let spawner = runtime.spawner();
    let start = Instant::now();
    let total = on_worker(runtime, async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                spawner.spawn(async move {
                    for _ in 0..per_task {
                        R::yield_now().await;
                    }
                    per_task
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await;
        }
        total
    });
    let elapsed = start.elapsed();
    ensure(total == tasks * per_task, || format!("{total} yields completed, expected {}", tasks * per_task))?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}

/// Chains of tasks where each link spawns the next and the last reports its chain and length;
/// checks every chain reported once with its full length.
pub(crate) fn chains<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let (chains, length) = (sizes.chains, sizes.chain_length);
    let spawner = runtime.spawner();
    let (done_tx, mut done_rx) = R::bounded(chains.max(1));
    let start = Instant::now();
    let reports = on_worker(runtime, async move {
        for chain in 0..chains {
            link::<R>(spawner.clone(), chain, length, 1, done_tx.clone());
        }
        drop(done_tx);
        let mut reports = Vec::with_capacity(chains);
        while let Some(report) = done_rx.recv().await {
            reports.push(report);
        }
        reports
    });
    let elapsed = start.elapsed();
    let mut seen = vec![false; chains];
    for &(chain, spawned) in &reports {
        ensure(spawned == length, || {
            format!("chain {chain} ended after {spawned} spawns, expected {length}")
        })?;
        ensure(!std::mem::replace(&mut seen[chain], true), || format!("chain {chain} reported twice"))?;
    }
    ensure(reports.len() == chains, || format!("{} of {chains} chains completed", reports.len()))?;
    Ok(Outcome::Measured(vec![ms(elapsed)]))
}

/// Spawns link number `spawned` of `chain`, which spawns the next until `length` links exist.
fn link<R: Runtime>(
    spawner: R::Spawner,
    chain: usize,
    length: usize,
    spawned: usize,
    done: R::Sender<(usize, usize)>,
) {
    let next = spawner.clone();
    spawner.spawn_detached(async move {
        if spawned == length {
            done.send((chain, spawned)).await;
        } else {
            link::<R>(next, chain, length, spawned + 1, done);
        }
    });
}

fn check_sum(sum: u64, tasks: usize) -> Result<(), Failure> {
    let tasks = tasks as u64;
    let expected = tasks * tasks.saturating_sub(1) / 2;
    ensure(sum == expected, || format!("task outputs sum to {sum}, expected {expected}"))
}
