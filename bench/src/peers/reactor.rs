//! reactor's side: the default [`reactor_epoll::Runtime`] (the executor over an I/O backend, the
//! timer and the channel source) on epoll or on the portable `polling` backend, the channel crate,
//! the ambient `sleep_until`, and `reactor-epoll`'s TCP types (which run on either backend).

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

use reactor::Handle;
use reactor_epoll::net::{TcpListener as AsyncListener, TcpStream};
use reactor_epoll::Backend;

use reactor_hyper::{HyperIo, ReactorTimer};

use crate::peers::{futures_io, http_server, serve};
use crate::runtime::{ChannelReceiver, ChannelSender, Runtime, Spawner, Unwrapped};

/// The default runtime with a given number of worker threads (`0`: everything runs on the
/// `block_on` thread) on a given I/O backend.
pub(crate) struct Reactor(reactor_epoll::Runtime);

impl Reactor {
    /// Starts an executor with `workers` worker threads blocking in `backend`.
    pub(crate) fn new(workers: usize, backend: Backend) -> io::Result<Self> {
        reactor_epoll::Runtime::builder().backend(backend).worker_threads(workers).build().map(Self)
    }
}

/// With `REACTOR_BENCH_METRICS` set, prints the runtime's metrics (one logfmt line, see
/// `reactor::metrics`) to standard error when a run is over: where the time went (polls, steals,
/// parks, busy vs parked, waits and events per wait), outside the measured part.
impl Drop for Reactor {
    fn drop(&mut self) {
        if std::env::var_os("REACTOR_BENCH_METRICS").is_some() {
            eprintln!("reactor metrics: {}", self.0.metrics().snapshot());
        }
    }
}

/// Spawns through the executor's [`Handle`].
#[derive(Clone)]
pub(crate) struct ReactorSpawner(Handle);

impl Spawner for ReactorSpawner {
    type Task<T: Send + 'static> = Unwrapped<reactor::Task<T>>;

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
        self.0.spawn(future).detach();
    }
}

impl<T: Send + 'static> ChannelSender<T> for reactor_channel::Sender<T> {
    async fn send(&self, value: T) {
        reactor_channel::Sender::send(self, value).await.expect("the receiver outlives the senders");
    }

    fn send_blocking(&self, value: T) {
        reactor_channel::Sender::send_blocking(self, value).expect("the receiver outlives the senders");
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for reactor_channel::Receiver<T> {
    async fn recv(&mut self) -> Option<T> {
        reactor_channel::Receiver::recv(self).await.ok()
    }
}

impl Runtime for Reactor {
    type Spawner = ReactorSpawner;
    type Sender<T: Send + 'static> = reactor_channel::Sender<T>;
    type Receiver<T: Send + 'static> = reactor_channel::Receiver<T>;

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn spawner(&self) -> ReactorSpawner {
        ReactorSpawner(self.0.handle())
    }

    fn remote_spawner(&self) -> Option<ReactorSpawner> {
        Some(self.spawner())
    }

    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        reactor_channel::bounded(capacity)
    }

    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        reactor_epoll::time::sleep_until(deadline)
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        reactor::yield_now()
    }

    async fn echo_server(&self, listener: TcpListener, connections: usize) -> io::Result<u64> {
        let listener = AsyncListener::from_std(listener, self.0.io())?;
        serve::echo_all(&self.spawner(), connections, || accept(&listener), futures_io::echo).await
    }

    async fn idle_server(
        &self,
        listener: TcpListener,
        connections: usize,
        polled: Arc<AtomicUsize>,
    ) -> io::Result<()> {
        let listener = AsyncListener::from_std(listener, self.0.io())?;
        let read = futures_io::read_until_closed;
        serve::hold_idle(&self.spawner(), connections, || accept(&listener), polled, read).await
    }
}

impl Reactor {
    /// Runs the `http` workload's server on this runtime: accepts `connections` connections
    /// and serves each with hyper through reactor-hyper until it closes; returns the requests
    /// answered.
    pub(crate) fn block_on_http(&self, listener: TcpListener, connections: usize) -> io::Result<u64> {
        let timer = ReactorTimer::new(self.0.timer().clone());
        self.0.block_on(async {
            let listener = AsyncListener::from_std(listener, self.0.io())?;
            let serve = |stream| http_server::serve_connection(HyperIo::new(stream), timer.clone());
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
