//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`].

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

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
    /// Binds to `path` and registers with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of binding (`AddrInUse` if the path exists), or of [`Async::new`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::os::unix::net::UnixListener::bind(path)?)? })
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
}

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
        let socket = start_connect(&RawAddr::unix(path.as_ref())?)?;
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

    fn async_io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.inner
    }
}

impl_async_read!(UnixStream, &UnixStream);
impl_async_write!(UnixStream, &UnixStream);

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
}
