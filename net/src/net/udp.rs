//! UDP: [`UdpSocket`].

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use reactor::io::AsIoHandle;

use crate::net::addr::{resolve, try_each, ToSocketAddrs};
use crate::net::io_ops::{impl_fd, impl_read_ready, impl_write_ready};
use crate::net::options::{impl_buffer_options, impl_ttl_option};
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
///     let a = UdpSocket::bind(([127, 0, 0, 1], 0)).await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
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
    /// Binds to `addr` (a socket address, or a host name and port resolved on the blocking
    /// pool: see [`ToSocketAddrs`]) and registers with the I/O backend of the current executor.
    /// Each address `addr` resolves to is tried in turn until one binds.
    ///
    /// # Errors
    ///
    /// Those of [`ToSocketAddrs`]; else the error of the last address tried: of binding
    /// (`AddrInUse`, `AddrNotAvailable`), or of [`Async::new`] (`NotFound` outside an
    /// executor).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let bind_one = |addr| Ok(Self { inner: Async::new(std::net::UdpSocket::bind(addr)?)? });
        try_each(&addr, |addr| std::future::ready(bind_one(addr))).await
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
    /// receives from: `addr` is a socket address, or a host name and port resolved on the
    /// blocking pool (see [`ToSocketAddrs`]), each of whose addresses is tried in turn.
    ///
    /// # Errors
    ///
    /// Those of [`ToSocketAddrs`]; else the error of `connect` for the last address tried
    /// (for example for an address of the other family).
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        try_each(&addr, |addr| std::future::ready(self.inner.get_ref().connect(addr))).await
    }

    /// Sends a datagram to `addr` (a socket address, or a host name and port resolved on the
    /// blocking pool: see [`ToSocketAddrs`]; the datagram goes to the first address it
    /// resolves to); returns the bytes sent.
    ///
    /// # Errors
    ///
    /// Those of [`ToSocketAddrs`]; the error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = resolve(&addr).await?[0];
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

    /// Waits for a datagram and copies it into `buf` without taking it from the queue;
    /// returns its length (truncated to `buf`) and sender.
    ///
    /// # Errors
    ///
    /// The error of `recvfrom` with `MSG_PEEK`.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|socket| socket.peek_from(buf)).await
    }

    /// Waits for a datagram from the [connected](Self::connect) peer and copies it into `buf`
    /// without taking it from the queue.
    ///
    /// # Errors
    ///
    /// The error of `recv` with `MSG_PEEK`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|socket| socket.peek(buf)).await
    }

    /// Sends a datagram to `addr` now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the send buffer is full (the cached writability is then cleared);
    /// otherwise the error of `sendto`.
    pub fn try_send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.inner.try_write_with(|socket| socket.send_to(buf, addr))
    }

    /// Sends a datagram to the [connected](Self::connect) peer now, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_send_to`](Self::try_send_to); `NotConnected` without a peer.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write_with(|socket| socket.send(buf))
    }

    /// Receives a queued datagram now, without waiting; returns its length and sender.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued (the cached readability is then cleared, so
    /// [`readable`](Self::readable) waits for the next one); otherwise the error of `recvfrom`.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.try_read_with(|socket| socket.recv_from(buf))
    }

    /// Receives a queued datagram from the [connected](Self::connect) peer now, without
    /// waiting.
    ///
    /// # Errors
    ///
    /// As [`try_recv_from`](Self::try_recv_from).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read_with(|socket| socket.recv(buf))
    }

    /// Polls a [`send_to`](Self::send_to), for `poll_*`-driven stacks.
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        addr: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_with(cx, |socket| socket.send_to(buf, addr))
    }

    /// Polls a [`recv_from`](Self::recv_from), for `poll_*`-driven stacks.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_read_with(cx, |socket| socket.recv_from(buf))
    }

    /// Polls a [`peek_from`](Self::peek_from).
    ///
    /// # Errors
    ///
    /// As [`peek_from`](Self::peek_from).
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_read_with(cx, |socket| socket.peek_from(buf))
    }

    /// Sets `SO_BROADCAST`: whether datagrams may be sent to a broadcast address.
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface of address `interface`
    /// (`Ipv4Addr::UNSPECIFIED`: the system picks one).
    ///
    /// # Errors
    ///
    /// `InvalidInput` on an IPv6 socket or for an address that is not multicast; the error of
    /// `setsockopt` (`AddrNotAvailable` for an unknown interface, `AddrInUse` for a group
    /// joined already, `NoDevice`-like errors when no interface has multicast).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.check_multicast(false, multiaddr.is_multicast(), "join_multicast_v4", &multiaddr)?;
        self.inner.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group joined with [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// As [`join_multicast_v4`](Self::join_multicast_v4); `AddrNotAvailable` for a group not
    /// joined.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.check_multicast(false, multiaddr.is_multicast(), "leave_multicast_v4", &multiaddr)?;
        self.inner.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface of index `interface` (0: the
    /// system picks one).
    ///
    /// # Errors
    ///
    /// `InvalidInput` on an IPv4 socket or for an address that is not multicast; the error of
    /// `setsockopt`.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.check_multicast(true, multiaddr.is_multicast(), "join_multicast_v6", multiaddr)?;
        self.inner.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group joined with [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// As [`join_multicast_v6`](Self::join_multicast_v6).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.check_multicast(true, multiaddr.is_multicast(), "leave_multicast_v6", multiaddr)?;
        self.inner.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    fn check_multicast(
        &self,
        v6: bool,
        multicast: bool,
        what: &str,
        addr: &dyn std::fmt::Display,
    ) -> io::Result<()> {
        let family = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
        let socket_v6 = crate::net::options::is_ipv6(self.inner.get_ref())?;
        let problem = if socket_v6 != v6 {
            format!("UdpSocket::{what} needs an {} socket, not an {} one", family(v6), family(socket_v6))
        } else if !multicast {
            format!("UdpSocket::{what}: {addr} is not a multicast address")
        } else {
            return Ok(());
        };
        Err(io::Error::new(io::ErrorKind::InvalidInput, problem))
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own members of a group receive the IPv4
    /// multicast datagrams this socket sends (on by default).
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`: how many hops the IPv4 multicast datagrams this socket sends
    /// travel (1, the default, keeps them on the local network).
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255; the error of `setsockopt`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        if ttl > 255 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a multicast TTL is 0 to 255, not {ttl}"),
            ));
        }
        self.inner.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` setting.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.get_ref().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP` (see [`set_multicast_loop_v4`](Self::set_multicast_loop_v4)).
    ///
    /// # Errors
    ///
    /// The error of `setsockopt` (on an IPv4 socket too).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.inner.get_ref().multicast_loop_v6()
    }

    fn async_io(&self) -> &Async<std::net::UdpSocket> {
        &self.inner
    }
}

impl_fd!(UdpSocket);
impl_read_ready!(UdpSocket, std::net::UdpSocket);
impl_write_ready!(UdpSocket, std::net::UdpSocket);
impl_buffer_options!(UdpSocket);
impl_ttl_option!(UdpSocket);
