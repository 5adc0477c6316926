//! UDP: [`UdpSocket`].

use std::io;
use std::net::SocketAddr;

use reactor::io::AsIoHandle;

use crate::Async;

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use reactor::Executor;
/// use reactor_epoll::net::UdpSocket;
/// use reactor_epoll::Epoll;
///
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let a = UdpSocket::bind(([127, 0, 0, 1], 0))?;
///     let b = UdpSocket::bind(([127, 0, 0, 1], 0))?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 8];
///     let (len, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..len], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    inner: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` and registers with the I/O backend of the current executor.
    ///
    /// # Errors
    ///
    /// The error of binding, or of [`Async::new`].
    pub fn bind(addr: impl Into<SocketAddr>) -> io::Result<Self> {
        Ok(Self { inner: Async::new(std::net::UdpSocket::bind(addr.into())?)? })
    }

    /// Registers a std socket with the I/O backend of `source` (see [`Async::with_source`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Async::with_source`].
    pub fn from_std(socket: std::net::UdpSocket, source: &(impl AsIoHandle + ?Sized)) -> io::Result<Self> {
        Ok(Self { inner: Async::with_source(socket, source)? })
    }

    /// Sets the default peer of [`send`](Self::send), and the only one [`recv`](Self::recv)
    /// receives from.
    ///
    /// # Errors
    ///
    /// The error of `connect`.
    pub fn connect(&self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        self.inner.get_ref().connect(addr.into())
    }

    /// Sends a datagram to `addr`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        let addr = addr.into();
        self.inner.write_with(|socket| socket.send_to(buf, addr)).await
    }

    /// Receives a datagram; returns its length and sender. A datagram longer than `buf` is
    /// truncated.
    ///
    /// # Errors
    ///
    /// The error of `recvfrom`.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Sends a datagram to the [connected](Self::connect) peer.
    ///
    /// # Errors
    ///
    /// The error of `send` (`NotConnected` without a peer).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|socket| socket.send(buf)).await
    }

    /// Receives a datagram from the [connected](Self::connect) peer.
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

    /// The [connected](Self::connect) peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` without one.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }
}
