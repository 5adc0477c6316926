//! smol's side: `async-executor` (multi-threaded [`multi::SmolMulti`] or
//! [`local::SmolLocal`]), `async-channel`, and `async-io`'s timers and sockets, which the two
//! executors share.

pub(crate) mod local;
pub(crate) mod multi;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

use async_io::{Async, Timer};

use crate::peers::{futures_io, serve};
use crate::runtime::{ChannelReceiver, ChannelSender, Spawner};

impl<T: Send + 'static> ChannelSender<T> for async_channel::Sender<T> {
    async fn send(&self, value: T) {
        async_channel::Sender::send(self, value).await.expect("the receiver outlives the senders");
    }

    fn send_blocking(&self, value: T) {
        async_channel::Sender::send_blocking(self, value).expect("the receiver outlives the senders");
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for async_channel::Receiver<T> {
    async fn recv(&mut self) -> Option<T> {
        async_channel::Receiver::recv(self).await.ok()
    }
}

/// `async-io`'s timer, as both executors use it.
async fn sleep_until(deadline: Instant) {
    Timer::at(deadline).await;
}

/// The echo server on `async-io` sockets, spawned with `spawner`.
async fn echo_server(spawner: impl Spawner, listener: TcpListener, connections: usize) -> io::Result<u64> {
    let listener = Async::new(listener)?;
    serve::echo_all(&spawner, connections, || accept(&listener), futures_io::echo).await
}

/// The idle-connection server on `async-io` sockets, spawned with `spawner`.
async fn idle_server(
    spawner: impl Spawner,
    listener: TcpListener,
    connections: usize,
    polled: Arc<AtomicUsize>,
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let read = futures_io::read_until_closed;
    serve::hold_idle(&spawner, connections, || accept(&listener), polled, read).await
}

/// The next connection, with Nagle's algorithm off as for every peer.
async fn accept(listener: &Async<TcpListener>) -> io::Result<Async<TcpStream>> {
    let (stream, _) = listener.accept().await?;
    stream.get_ref().set_nodelay(true)?;
    Ok(stream)
}

/// Makes a `Runtime` impl's shared items (channel, timer, yield, TCP) smol's.
macro_rules! smol_common_items {
    () => {
        type Sender<T: Send + 'static> = async_channel::Sender<T>;
        type Receiver<T: Send + 'static> = async_channel::Receiver<T>;

        fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
            async_channel::bounded(capacity)
        }

        fn sleep_until(
            deadline: std::time::Instant,
        ) -> impl std::future::Future<Output = ()> + Send + 'static {
            super::sleep_until(deadline)
        }

        fn yield_now() -> impl std::future::Future<Output = ()> + Send + 'static {
            futures_lite::future::yield_now()
        }

        fn echo_server(
            &self,
            listener: std::net::TcpListener,
            connections: usize,
        ) -> impl std::future::Future<Output = std::io::Result<u64>> + '_ {
            super::echo_server(self.spawner(), listener, connections)
        }

        fn idle_server(
            &self,
            listener: std::net::TcpListener,
            connections: usize,
            polled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        ) -> impl std::future::Future<Output = std::io::Result<()>> + '_ {
            super::idle_server(self.spawner(), listener, connections, polled)
        }
    };
}
use smol_common_items;
