//! The main demo: what the core executor does, with measured figures.
//!
//! Run with `cargo run --release --example demo`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use reactor::source::PingSource;
use reactor::{Executor, Handle};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A passive user-space source; the executor gives it a parking thread to block in.
    let pings = PingSource::new();
    let executor = Executor::new(pings.clone())?;

    let start = Instant::now();
    let tasks: Vec<_> = (0..100_000u64).map(|i| executor.spawn(async move { i })).collect();
    let sum = executor.block_on(async {
        let mut sum = 0;
        for task in tasks {
            sum += task.await?;
        }
        Ok::<_, reactor::JoinError>(sum)
    })?;
    assert_eq!(sum, (0..100_000).sum::<u64>());
    let elapsed = start.elapsed();
    println!(
        "spawned and joined 100,000 tasks in {elapsed:.2?} ({:.0} tasks/s)",
        100_000.0 / elapsed.as_secs_f64()
    );

    // A custom source: pings from a plain OS thread run a callback on the loop, which spawns work.
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let handle = executor.handle();
    let (ping, _registration) = pings.register(move || {
        let counter = counter.clone();
        handle.spawn(async move { counter.fetch_add(1, Ordering::SeqCst) }).detach();
    });
    let start = Instant::now();
    let rounds: u32 = 1_000;
    for round in 1..=rounds {
        ping.ping();
        executor.block_on(async {
            while ran.load(Ordering::SeqCst) < round as usize {
                reactor::yield_now().await;
            }
        });
    }
    let elapsed = start.elapsed();
    println!(
        "{rounds} ping -> callback -> spawned task round trips from the main thread in {elapsed:.2?} ({:.1} us each)",
        elapsed.as_secs_f64() * 1e6 / f64::from(rounds)
    );

    let local = executor.block_on(async {
        let shared = std::rc::Rc::new(21); // not Send: runs on this thread only
        let task = executor.spawn_local(async move { *shared * 2 }).map_err(|_| "not inside block_on")?;
        let answer = task.await?;
        Ok::<_, Box<dyn std::error::Error>>(answer)
    })?;
    println!("a !Send task spawned with spawn_local answered {local}");
    println!("inside a task, Handle::current() finds the executor: {}", {
        executor.block_on(async { Handle::current().is_some() })
    });
    Ok(())
}
