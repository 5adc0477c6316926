//! smol's multi-threaded setup: one `async_executor::Executor` run by N threads plus the
//! `block_on` thread, as `smol::block_on(executor.run(..))` with helper threads does.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use async_executor::{Executor, Task};

use crate::peers::smol::smol_common_items;
use crate::runtime::{Runtime, Spawner};

/// An executor run by `threads` threads until dropped.
pub(crate) struct SmolMulti {
    executor: Arc<Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl SmolMulti {
    /// Starts `threads` threads running the executor.
    pub(crate) fn new(threads: usize) -> io::Result<Self> {
        let executor = Arc::new(Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let mut this = Self { executor, stop: Some(stop), threads: Vec::with_capacity(threads) };
        for index in 0..threads {
            let executor = this.executor.clone();
            let stopped = stopped.clone();
            let thread = std::thread::Builder::new().name(format!("smol-{index}"));
            // On error `this` drops here, which stops the threads already started.
            this.threads.push(thread.spawn(move || {
                let _closed = async_io::block_on(executor.run(stopped.recv()));
            })?);
        }
        Ok(this)
    }
}

impl Drop for SmolMulti {
    fn drop(&mut self) {
        self.stop = None; // closing the channel ends every `run`
        for thread in self.threads.drain(..) {
            thread.join().expect("a smol executor thread panicked");
        }
    }
}

/// Spawns onto the shared executor from any thread.
#[derive(Clone)]
pub(crate) struct SmolSpawner(Arc<Executor<'static>>);

impl Spawner for SmolSpawner {
    type Task<T: Send + 'static> = Task<T>;

    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(future).detach();
    }
}

impl Runtime for SmolMulti {
    type Spawner = SmolSpawner;
    smol_common_items!();

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_io::block_on(self.executor.run(future))
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.executor.clone())
    }

    fn remote_spawner(&self) -> Option<SmolSpawner> {
        Some(self.spawner())
    }
}
