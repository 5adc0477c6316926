//! The one interface every async runtime under test implements; the workloads are written once
//! against it, so every peer runs exactly the same code with the same sizes.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// An async runtime under test, built fresh for each run of each workload.
pub(crate) trait Runtime {
    /// Spawns tasks from inside the runtime's tasks.
    type Spawner: Spawner;
    /// The sending half of the runtime's own bounded channel.
    type Sender<T: Send + 'static>: ChannelSender<T>;
    /// The receiving half of the runtime's own bounded channel.
    type Receiver<T: Send + 'static>: ChannelReceiver<T>;

    /// Runs `future` to completion on the calling thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// A spawner for use inside `block_on` and the tasks it spawns.
    fn spawner(&self) -> Self::Spawner;

    /// A spawner usable from a plain thread outside the runtime, or `None` when the runtime can
    /// only spawn from its own thread (smol's `LocalExecutor`).
    fn remote_spawner(&self) -> Option<Self::Spawner>;

    /// The runtime's bounded channel of `capacity` messages.
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>);

    /// Completes at `deadline`, on the runtime's timer. Called inside the runtime only.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send + 'static;

    /// Yields to the scheduler once.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;

    /// Accepts `connections` connections on `listener` and echoes each back until EOF, one task
    /// per connection; returns the bytes echoed in total.
    fn echo_server(
        &self,
        listener: TcpListener,
        connections: usize,
    ) -> impl Future<Output = io::Result<u64>> + '_;

    /// Accepts `connections` connections on `listener`, each held by a task blocked in a read
    /// that bumps `polled` before its first read; returns once every connection is accepted.
    fn idle_server(
        &self,
        listener: TcpListener,
        connections: usize,
        polled: Arc<AtomicUsize>,
    ) -> impl Future<Output = io::Result<()>> + '_;
}

/// Spawns tasks onto a runtime; cheap to clone into tasks and threads.
pub(crate) trait Spawner: Clone + Send + Sync + 'static {
    /// A handle that resolves to the task's output; a failed task panics the awaiter.
    type Task<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Spawns `future`; the returned handle must be awaited or the task may be cancelled.
    fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `future` to run unobserved.
    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// The sending half of a runtime's bounded channel. Sending to a closed channel panics: every
/// workload keeps its receivers alive until the last message.
pub(crate) trait ChannelSender<T: Send + 'static>: Clone + Send + Sync + 'static {
    /// Sends `value`, waiting for room.
    fn send(&self, value: T) -> impl Future<Output = ()> + Send + '_;

    /// Sends `value` from a plain thread, blocking it while the channel is full.
    fn send_blocking(&self, value: T);
}

/// The receiving half of a runtime's bounded channel.
pub(crate) trait ChannelReceiver<T: Send + 'static>: Send + 'static {
    /// The next message, or `None` once every sender is gone and the queue is empty.
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send + '_;
}

/// A join handle whose output is a `Result`, unwrapped: the task's failure fails the workload.
#[derive(Debug)]
pub(crate) struct Unwrapped<H>(pub(crate) H);

impl<H, T, E> Future for Unwrapped<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|result| result.expect("a benchmark task failed"))
    }
}
