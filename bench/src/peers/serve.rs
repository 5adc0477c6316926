//! The TCP servers every runtime runs, written once over an accept function and a per-connection
//! future, so each peer supplies only its own socket types.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::runtime::Spawner;

/// Accepts `connections` connections, runs `echo` on each in a task of its own, and returns the
/// bytes echoed in total once every connection has closed.
pub(crate) async fn echo_all<S, T, A, AF, E, EF>(
    spawner: &S,
    connections: usize,
    mut accept: A,
    echo: E,
) -> io::Result<u64>
where
    S: Spawner,
    A: FnMut() -> AF,
    AF: Future<Output = io::Result<T>>,
    E: Fn(T) -> EF,
    EF: Future<Output = io::Result<u64>> + Send + 'static,
{
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        tasks.push(spawner.spawn(echo(accept().await?)));
    }
    let mut echoed = 0;
    for task in tasks {
        echoed += task.await?;
    }
    Ok(echoed)
}

/// Accepts `connections` connections, each held by a detached task that bumps `polled` and then
/// waits in `read` until the peer closes; returns once every connection is accepted.
pub(crate) async fn hold_idle<S, T, A, AF, R, RF>(
    spawner: &S,
    connections: usize,
    mut accept: A,
    polled: Arc<AtomicUsize>,
    read: R,
) -> io::Result<()>
where
    S: Spawner,
    A: FnMut() -> AF,
    AF: Future<Output = io::Result<T>>,
    R: Fn(T) -> RF,
    RF: Future<Output = ()> + Send + 'static,
{
    for _ in 0..connections {
        let reading = read(accept().await?);
        let polled = polled.clone();
        spawner.spawn_detached(async move {
            polled.fetch_add(1, Ordering::Relaxed);
            reading.await;
        });
    }
    Ok(())
}
