//! tokio's side, multi-thread or current-thread: its runtime, `mpsc`, `time` and `net`.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener as AsyncListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use hyper_util::rt::{TokioIo, TokioTimer};

use crate::peers::{http_server, serve, ECHO_BUFFER};
use crate::runtime::{ChannelReceiver, ChannelSender, Runtime, Spawner, Unwrapped};

/// A tokio runtime with its I/O and time drivers enabled.
pub(crate) struct Tokio {
    runtime: tokio::runtime::Runtime,
}

impl Tokio {
    /// The multi-thread runtime with `workers` worker threads.
    pub(crate) fn multi_thread(workers: usize) -> io::Result<Self> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
        Ok(Self { runtime })
    }

    /// The current-thread runtime: tasks run only inside `block_on`.
    pub(crate) fn current_thread() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Self { runtime })
    }
}

/// Spawns through the runtime's [`Handle`].
#[derive(Clone)]
pub(crate) struct TokioSpawner(Handle);

impl Spawner for TokioSpawner {
    type Task<T: Send + 'static> = Unwrapped<JoinHandle<T>>;

    fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(self.0.spawn(future))
    }

    fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.0.spawn(future));
    }
}

impl<T: Send + 'static> ChannelSender<T> for mpsc::Sender<T> {
    async fn send(&self, value: T) {
        if mpsc::Sender::send(self, value).await.is_err() {
            panic!("the receiver outlives the senders");
        }
    }

    fn send_blocking(&self, value: T) {
        if mpsc::Sender::blocking_send(self, value).is_err() {
            panic!("the receiver outlives the senders");
        }
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for mpsc::Receiver<T> {
    async fn recv(&mut self) -> Option<T> {
        mpsc::Receiver::recv(self).await
    }
}

impl Runtime for Tokio {
    type Spawner = TokioSpawner;
    type Sender<T: Send + 'static> = mpsc::Sender<T>;
    type Receiver<T: Send + 'static> = mpsc::Receiver<T>;

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn spawner(&self) -> TokioSpawner {
        TokioSpawner(self.runtime.handle().clone())
    }

    fn remote_spawner(&self) -> Option<TokioSpawner> {
        Some(self.spawner())
    }

    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        mpsc::channel(capacity)
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep_until(deadline.into())
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }

    async fn echo_server(&self, listener: TcpListener, connections: usize) -> io::Result<u64> {
        listener.set_nonblocking(true)?;
        let listener = AsyncListener::from_std(listener)?;
        serve::echo_all(&self.spawner(), connections, || accept(&listener), echo).await
    }

    async fn idle_server(
        &self,
        listener: TcpListener,
        connections: usize,
        polled: Arc<AtomicUsize>,
    ) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let listener = AsyncListener::from_std(listener)?;
        serve::hold_idle(&self.spawner(), connections, || accept(&listener), polled, read_until_closed).await
    }
}

impl Tokio {
    /// Runs the `http` workload's server on this runtime: accepts `connections` connections
    /// and serves each with hyper through hyper-util's `TokioIo` until it closes; returns the
    /// requests answered.
    pub(crate) fn block_on_http(&self, listener: TcpListener, connections: usize) -> io::Result<u64> {
        self.runtime.block_on(async {
            listener.set_nonblocking(true)?;
            let listener = AsyncListener::from_std(listener)?;
            let serve = |stream| http_server::serve_connection(TokioIo::new(stream), TokioTimer::new());
            serve::echo_all(&self.spawner(), connections, || accept(&listener), serve).await
        })
    }
}

/// The next connection, with Nagle's algorithm off as for every peer.
async fn accept(listener: &AsyncListener) -> io::Result<TcpStream> {
    let (stream, _) = listener.accept().await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Waits until the peer closes `stream` (or sends a byte).
async fn read_until_closed(mut stream: TcpStream) {
    let _closed_or_byte = stream.read(&mut [0; 1]).await;
}

/// Echoes `stream` back until EOF; returns the bytes echoed.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buffer = [0; ECHO_BUFFER];
    let mut echoed = 0;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buffer[..read]).await?;
        echoed += read as u64;
    }
}
