//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`].

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use crate::net::io_ops::{
    impl_fd, impl_read_ready, impl_stream_read_ops, impl_stream_write_ops, impl_write_ready,
};
use crate::net::options::impl_buffer_options;
use crate::net::socket::{start_connect, RawAddr};
use crate::net::{impl_async_read, impl_async_write};
use reactor::io::AsIoHandle;

use crate::Async;

/// A Unix stream listening socket.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use reactor::Executor;
/// use reactor_epoll::net::{UnixListener, UnixStream};
/// use reactor_epoll::Epoll;
///
/// let path = std::env::temp_dir().join(format!("reactor-epoll-doc-{}.sock", std::process::id()));
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _peer) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixListener {
    inner: Async<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path`, listens, and registers with the I/O backend of the current executor.
    /// The backlog is std's: the system's maximum (`net.core.somaxconn`) on Linux, 128
    /// elsewhere.
    ///
    /// # Errors
    ///
    /// The error of binding (`AddrInUse` if the path exists), or of [`Async::new`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixListener::bind(path)?)? })
    }

    /// Binds to `addr`, a path or (on Linux and Android) an abstract name made with
    /// `SocketAddrExt::from_abstract_name`, and registers with the I/O backend of the current
    /// executor. An abstract name is no file: nothing to remove after, and it is gone when the
    /// socket closes.
    ///
    /// # Errors
    ///
    /// The error of binding (`AddrInUse` if the path exists or the name is taken,
    /// `InvalidInput` for an unnamed address), or of [`Async::new`].
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixListener::bind_addr(addr)?)? })
    }

    /// Registers a std listener with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(
        listener: std::os::unix::net::UnixListener,
        source: &(impl AsIoHandle + ?Sized),
    ) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(listener, source)? })
    }

    /// Accepts a connection; the stream registers with this listener's I/O backend.
    ///
    /// # Errors
    ///
    /// The error of `accept`, or of registering the new stream.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(std::os::unix::net::UnixListener::accept).await?;
        Ok((UnixStream::from_std(stream, self.inner.source())?, peer))
    }

    /// Accepts a connection already queued, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued (the cached readability is then cleared); otherwise as
    /// [`accept`](Self::accept).
    pub fn try_accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.inner.try_read_with(std::os::unix::net::UnixListener::accept)?;
        Ok((UnixStream::from_std(stream, self.inner.source())?, peer))
    }

    /// Polls an [`accept`](Self::accept): `Pending` until a connection is queued, with the
    /// task's waker kept until the next readability event.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, peer) = ready!(self.inner.poll_read_with(cx, std::os::unix::net::UnixListener::accept))?;
        Poll::Ready(UnixStream::from_std(stream, self.inner.source()).map(|stream| (stream, peer)))
    }

    /// The stream of incoming connections; it never ends.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    fn async_io(&self) -> &Async<std::os::unix::net::UnixListener> {
        &self.inner
    }
}

impl_fd!(UnixListener);
impl_read_ready!(UnixListener, std::os::unix::net::UnixListener);
impl_buffer_options!(UnixListener);

/// The stream of [`UnixListener::incoming`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = &self.listener.inner;
        let accepted = ready!(inner.poll_read_with(cx, std::os::unix::net::UnixListener::accept));
        Poll::Ready(Some(accepted.and_then(|(stream, _)| UnixStream::from_std(stream, inner.source()))))
    }
}

/// A Unix stream connection, read and written through `AsyncRead` and `AsyncWrite` (see
/// [`TcpStream`](crate::net::TcpStream), which it mirrors).
#[derive(Debug)]
pub struct UnixStream {
    inner: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`, registering with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path too long for a socket address, `NotFound` if nothing is bound
    /// there (or outside an executor with an I/O backend), `ConnectionRefused` if nobody
    /// listens, `WouldBlock` if the listener's backlog is full.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::connect_raw(&RawAddr::unix(path.as_ref())?).await
    }

    /// Connects to `addr`, a path or (on Linux and Android) an abstract name made with
    /// `SocketAddrExt::from_abstract_name`, registering with the I/O backend of the current
    /// executor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; `ConnectionRefused` if nobody listens on an
    /// abstract name; otherwise as [`connect`](Self::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<Self> {
        Self::connect_raw(&RawAddr::unix_addr(addr)?).await
    }

    async fn connect_raw(addr: &RawAddr) -> io::Result<Self> {
        let socket = start_connect(addr)?;
        let stream = Async::new(std::os::unix::net::UnixStream::from(socket))?;
        stream.writable().await?;
        if let Some(error) = stream.get_ref().take_error()? {
            return Err(error);
        }
        Ok(Self { inner: stream })
    }

    /// A connected pair of streams, both registered with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of `socketpair`, or of [`Async::new`].
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((Self { inner: Async::new(a)? }, Self { inner: Async::new(b)? }))
    }

    /// Registers a std stream with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(
        stream: std::os::unix::net::UnixStream,
        source: &(impl AsIoHandle + ?Sized),
    ) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(stream, source)? })
    }

    /// Shuts down the read direction, the write direction, or both.
    ///
    /// # Errors
    ///
    /// The error of `shutdown`.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
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

    /// Splits the stream into a read half and a write half that can move to different tasks;
    /// the connection closes when both halves drop.
    pub fn into_split(self) -> (UnixOwnedReadHalf, UnixOwnedWriteHalf) {
        let shared = Arc::new(self.inner);
        (UnixOwnedReadHalf { inner: shared.clone() }, UnixOwnedWriteHalf { inner: shared })
    }

    fn async_io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.inner
    }
}

impl_async_read!(UnixStream, &UnixStream);
impl_async_write!(UnixStream, &UnixStream);
impl_fd!(UnixStream, UnixOwnedReadHalf, UnixOwnedWriteHalf);
impl_read_ready!(UnixStream, std::os::unix::net::UnixStream);
impl_write_ready!(UnixStream, std::os::unix::net::UnixStream);
impl_stream_read_ops!(UnixStream, UnixOwnedReadHalf);
impl_stream_write_ops!(UnixStream, UnixOwnedWriteHalf);
impl_buffer_options!(UnixStream);

/// The read half of [`UnixStream::into_split`]; the connection closes when both halves drop.
pub struct UnixOwnedReadHalf {
    inner: Arc<Async<std::os::unix::net::UnixStream>>,
}

impl UnixOwnedReadHalf {
    fn async_io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.inner
    }
}

impl_async_read!(UnixOwnedReadHalf, &UnixOwnedReadHalf);
impl_read_ready!(UnixOwnedReadHalf, std::os::unix::net::UnixStream);

/// The write half of [`UnixStream::into_split`]; closing it shuts the write direction down
/// (the peer reads EOF).
pub struct UnixOwnedWriteHalf {
    inner: Arc<Async<std::os::unix::net::UnixStream>>,
}

impl UnixOwnedWriteHalf {
    fn async_io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.inner
    }
}

impl_async_write!(UnixOwnedWriteHalf, &UnixOwnedWriteHalf);
impl_write_ready!(UnixOwnedWriteHalf, std::os::unix::net::UnixStream);

impl fmt::Debug for UnixOwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixOwnedReadHalf").field("stream", self.inner.get_ref()).finish()
    }
}

impl fmt::Debug for UnixOwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixOwnedWriteHalf").field("stream", self.inner.get_ref()).finish()
    }
}

/// A Unix datagram socket.
#[derive(Debug)]
pub struct UnixDatagram {
    inner: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path` and registers with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of binding, or of [`Async::new`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixDatagram::bind(path)?)? })
    }

    /// Binds to `addr`, a path or (on Linux and Android) an abstract name (see
    /// [`UnixListener::bind_addr`]), and registers with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of binding (`AddrInUse` if taken), or of [`Async::new`].
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixDatagram::bind_addr(addr)?)? })
    }

    /// An unbound socket, registered with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of `socket`, or of [`Async::new`].
    pub fn unbound() -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixDatagram::unbound()?)? })
    }

    /// A connected pair of sockets, both registered with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of `socketpair`, or of [`Async::new`].
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((Self { inner: Async::new(a)? }, Self { inner: Async::new(b)? }))
    }

    /// Registers a std socket with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(
        socket: std::os::unix::net::UnixDatagram,
        source: &(impl AsIoHandle + ?Sized),
    ) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(socket, source)? })
    }

    /// Sets the default peer of [`send`](Self::send), and the only one [`recv`](Self::recv)
    /// receives from.
    ///
    /// # Errors
    ///
    /// The error of `connect`.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sets the default peer to `addr`, a path or an abstract name (see
    /// [`connect`](Self::connect)).
    ///
    /// # Errors
    ///
    /// The error of `connect` (`ConnectionRefused` if nothing is bound to an abstract name).
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        self.inner.get_ref().connect_addr(addr)
    }

    /// Sends a datagram to `addr`, a path or an abstract name.
    ///
    /// # Errors
    ///
    /// The error of `sendto` (`ConnectionRefused` if nothing is bound there).
    pub async fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        self.inner.write_with(|socket| socket.send_to_addr(buf, addr)).await
    }

    /// Sends a datagram to the socket at `path` now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the receiver's queue is full (the cached writability is then cleared);
    /// otherwise the error of `sendto`.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        self.inner.try_write_with(|socket| socket.send_to(buf, path))
    }

    /// Sends a datagram to the connected peer now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the peer's queue is full (the cached writability is then cleared);
    /// otherwise the error of `send`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write_with(|socket| socket.send(buf))
    }

    /// Receives a queued datagram now, without waiting; returns its length and sender.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued (the cached readability is then cleared); otherwise the
    /// error of `recvfrom`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.try_read_with(|socket| socket.recv_from(buf))
    }

    /// Receives a queued datagram from the connected peer now, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_recv_from`](Self::try_recv_from).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read_with(|socket| socket.recv(buf))
    }

    /// Waits for a datagram and copies it into `buf` without taking it from the queue.
    ///
    /// # Errors
    ///
    /// The error of `recv` with `MSG_PEEK`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|socket| crate::net::socket::peek(socket, buf)).await
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|socket| socket.send_to(buf, path)).await
    }

    /// Receives a datagram; returns its length and sender.
    ///
    /// # Errors
    ///
    /// The error of `recvfrom`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// The error of `send` (`NotConnected` without a peer).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|socket| socket.send(buf)).await
    }

    /// Receives a datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The error of `recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|socket| socket.recv(buf)).await
    }

    /// The address this socket is bound to.
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
    fn async_io(&self) -> &Async<std::os::unix::net::UnixDatagram> {
        &self.inner
    }
}

impl_fd!(UnixDatagram);
impl_read_ready!(UnixDatagram, std::os::unix::net::UnixDatagram);
impl_write_ready!(UnixDatagram, std::os::unix::net::UnixDatagram);
impl_buffer_options!(UnixDatagram);
