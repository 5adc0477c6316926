//! smol's single-threaded setup: an `async_executor::LocalExecutor` run by `block_on`.

use std::future::Future;

use async_executor::{LocalExecutor, Task};

use crate::peers::smol::smol_common_items;
use crate::runtime::{Runtime, Spawner};

thread_local! {
    /// The calling thread's local executor; tasks spawned inside `block_on` run on it.
    static LOCAL: LocalExecutor<'static> = const { LocalExecutor::new() };
}

/// The local executor of the thread that calls `block_on`.
pub(crate) struct SmolLocal;

/// Spawns onto the calling thread's local executor: only valid inside `block_on` and its tasks,
/// which all run on that one thread.
#[derive(Clone)]
pub(crate) struct LocalSpawner;

impl Spawner for LocalSpawner {
    type Task<T: Send + 'static> = Task<T>;

    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        LOCAL.with(|executor| executor.spawn(future))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        LOCAL.with(|executor| executor.spawn(future).detach());
    }
}

impl Runtime for SmolLocal {
    type Spawner = LocalSpawner;
    smol_common_items!();

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        LOCAL.with(|executor| async_io::block_on(executor.run(future)))
    }

    fn spawner(&self) -> LocalSpawner {
        LocalSpawner
    }

    /// A `LocalExecutor` only spawns from its own thread.
    fn remote_spawner(&self) -> Option<LocalSpawner> {
        None
    }
}
