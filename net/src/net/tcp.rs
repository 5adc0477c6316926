//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::net::addr::{try_each, ToSocketAddrs};
use crate::net::io_ops::{
    impl_fd, impl_read_ready, impl_stream_read_ops, impl_stream_write_ops, impl_write_ready,
};
use crate::net::options::{impl_buffer_options, impl_tcp_options, impl_ttl_option};
use crate::net::socket::{start_connect, RawAddr};
use crate::net::tcp_socket::{TcpSocket, DEFAULT_BACKLOG};
use crate::net::{impl_async_read, impl_async_write};
use reactor::io::AsIoHandle;

use crate::Async;

/// A TCP listening socket.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use reactor::Executor;
/// use reactor_epoll::net::{TcpListener, TcpStream};
/// use reactor_epoll::Epoll;
///
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let listener = TcpListener::bind("localhost:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _peer) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (a socket address, or a host name and port resolved on the blocking
    /// pool: see [`ToSocketAddrs`]) with `SO_REUSEADDR` set, listens with a backlog of
    /// [`DEFAULT_BACKLOG`](crate::net::DEFAULT_BACKLOG) (1024) connections, and registers with
    /// the I/O backend of the current executor. Each address `addr` resolves to is tried in
    /// turn until one binds. For another backlog or other options set before listening, use
    /// [`TcpSocket`].
    ///
    /// # Errors
    ///
    /// Those of [`ToSocketAddrs`] (`InvalidInput` for a malformed string); else the error of
    /// the last address tried: of binding (`AddrInUse`, `AddrNotAvailable`,
    /// `PermissionDenied`), of listening, or of [`Async::new`] (`NotFound` outside an
    /// executor).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        try_each(&addr, |addr| std::future::ready(Self::bind_one(addr))).await
    }

    fn bind_one(addr: SocketAddr) -> io::Result<Self> {
        let socket = TcpSocket::new_for(&addr)?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(DEFAULT_BACKLOG)
    }

    pub(crate) fn from_async(inner: Async<std::net::TcpListener>) -> Self {
        Self { inner }
    }

    /// Registers a std listener with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(
        listener: std::net::TcpListener,
        source: &(impl AsIoHandle + ?Sized),
    ) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(listener, source)? })
    }

    /// Accepts a connection; the stream registers with this listener's I/O backend.
    ///
    /// # Errors
    ///
    /// The error of `accept` (for example `EMFILE` when the process is out of fds: the pending
    /// connection stays queued, and a later call accepts it once fds are free), or of registering
    /// the new stream.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(std::net::TcpListener::accept).await?;
        Ok((TcpStream::from_std(stream, self.inner.source())?, peer))
    }

    /// Accepts a connection already queued, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued (the cached readability is then cleared, so
    /// [`readable`](Self::readable) waits for the next one); otherwise as
    /// [`accept`](Self::accept).
    pub fn try_accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.try_read_with(std::net::TcpListener::accept)?;
        Ok((TcpStream::from_std(stream, self.inner.source())?, peer))
    }

    /// Polls an [`accept`](Self::accept): `Pending` until a connection is queued, with the
    /// task's waker kept until the next readability event.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = ready!(self.inner.poll_read_with(cx, std::net::TcpListener::accept))?;
        Poll::Ready(TcpStream::from_std(stream, self.inner.source()).map(|stream| (stream, peer)))
    }

    /// The stream of incoming connections; it never ends.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    fn async_io(&self) -> &Async<std::net::TcpListener> {
        &self.inner
    }
}

impl_fd!(TcpListener);
impl_read_ready!(TcpListener, std::net::TcpListener);
impl_buffer_options!(TcpListener);
impl_ttl_option!(TcpListener);

/// The stream of [`TcpListener::incoming`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = &self.listener.inner;
        let accepted = ready!(inner.poll_read_with(cx, std::net::TcpListener::accept));
        Poll::Ready(Some(accepted.and_then(|(stream, _)| TcpStream::from_std(stream, inner.source()))))
    }
}

/// A TCP connection.
///
/// Reads and writes through [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite), on the stream or on a shared reference to it (one task
/// reading while another writes); [`close`](futures_io::AsyncWrite::poll_close) shuts the write
/// direction down. See [`TcpListener`] for an example.
#[derive(Debug)]
pub struct TcpStream {
    inner: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (a socket address, or a host name and port resolved on the blocking
    /// pool: see [`ToSocketAddrs`]), registering with the I/O backend of the current executor.
    /// Each address `addr` resolves to is tried in turn, in the resolver's order, until one
    /// connects.
    ///
    /// # Errors
    ///
    /// Those of [`ToSocketAddrs`] (`InvalidInput` for a malformed string, the resolver's error
    /// for a name that does not resolve); `NotFound` outside an executor with an I/O backend;
    /// else the error of the last address tried (`ConnectionRefused`, ...).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        try_each(&addr, Self::connect_one).await
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<Self> {
        let socket = start_connect(&RawAddr::inet(addr))?;
        Self::finish_connect(Async::new(std::net::TcpStream::from(socket))?).await
    }

    /// Waits for the connect started on `stream` to finish, and reports its outcome.
    pub(crate) async fn finish_connect(stream: Async<std::net::TcpStream>) -> io::Result<Self> {
        stream.writable().await?;
        if let Some(error) = stream.get_ref().take_error()? {
            return Err(error);
        }
        Ok(Self { inner: stream })
    }

    /// Connects to `addr` as [`connect`](Self::connect) does, giving up after `timeout`, which
    /// covers resolving a host name and every address tried; the current executor's timer
    /// measures it.
    ///
    /// # Errors
    ///
    /// `TimedOut` when no connection is established within `timeout` (a lookup still running
    /// then finishes on its pool thread, unobserved); `NotFound` outside an executor with both
    /// an I/O backend and a timer (the default runtime has both); otherwise as
    /// [`connect`](Self::connect).
    pub async fn connect_timeout(addr: impl ToSocketAddrs, timeout: Duration) -> io::Result<Self> {
        let Some(timer) = reactor_timer::Timer::try_current() else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "TcpStream::connect_timeout needs an executor with a reactor-timer Timer in its source",
            ));
        };
        timer.timeout(timeout, Self::connect(addr)).await?
    }

    /// Registers a std stream with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(stream: std::net::TcpStream, source: &(impl AsIoHandle + ?Sized)) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(stream, source)? })
    }

    /// Shuts down the read direction, the write direction, or both.
    ///
    /// # Errors
    ///
    /// The error of `shutdown` (`NotConnected` if the connection is gone).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Splits the stream into a read half and a write half that can move to different tasks.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let shared = Arc::new(self.inner);
        (OwnedReadHalf { inner: shared.clone() }, OwnedWriteHalf { inner: shared })
    }

    fn async_io(&self) -> &Async<std::net::TcpStream> {
        &self.inner
    }
}

impl_async_read!(TcpStream, &TcpStream);
impl_async_write!(TcpStream, &TcpStream);
impl_fd!(TcpStream, OwnedReadHalf, OwnedWriteHalf);
impl_read_ready!(TcpStream, std::net::TcpStream);
impl_write_ready!(TcpStream, std::net::TcpStream);
impl_stream_read_ops!(TcpStream, OwnedReadHalf);
impl_stream_write_ops!(TcpStream, OwnedWriteHalf);
impl_buffer_options!(TcpStream);
impl_ttl_option!(TcpStream);
impl_tcp_options!(TcpStream);
impl_read_ready!(OwnedReadHalf, std::net::TcpStream);
impl_write_ready!(OwnedWriteHalf, std::net::TcpStream);

/// The read half of [`TcpStream::into_split`]; the connection closes when both halves drop.
pub struct OwnedReadHalf {
    inner: Arc<Async<std::net::TcpStream>>,
}

impl OwnedReadHalf {
    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    fn async_io(&self) -> &Async<std::net::TcpStream> {
        &self.inner
    }
}

impl_async_read!(OwnedReadHalf, &OwnedReadHalf);

/// The write half of [`TcpStream::into_split`]; closing it shuts the write direction down.
pub struct OwnedWriteHalf {
    inner: Arc<Async<std::net::TcpStream>>,
}

impl OwnedWriteHalf {
    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// The error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    fn async_io(&self) -> &Async<std::net::TcpStream> {
        &self.inner
    }
}

impl_async_write!(OwnedWriteHalf, &OwnedWriteHalf);

macro_rules! debug_half {
    ($($half:ident),*) => {$(
        impl fmt::Debug for $half {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($half)).field("stream", self.inner.get_ref()).finish()
            }
        }
    )*};
}

debug_half!(OwnedReadHalf, OwnedWriteHalf);
