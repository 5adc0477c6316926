//! [`TcpSocket`]: a TCP socket configured before it listens or connects.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use socket2::{Domain, Socket, Type};

use crate::net::options::{impl_buffer_options, impl_tcp_options, impl_ttl_option};
use crate::net::socket::{connect_nonblocking, RawAddr};
use crate::net::{TcpListener, TcpStream};
use crate::Async;

/// The listen backlog of [`TcpListener::bind`]: the number of established connections the kernel
/// queues until they are accepted. 128 (std's, and the old default here) drops connections
/// under a burst of connects; the kernel caps any value at `net.core.somaxconn` (4096 on Linux
/// since 5.4).
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket not yet listening or connected, for the options that must be set before:
/// `SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`, the buffer sizes, the listen backlog.
///
/// Create it with [`new_v4`](Self::new_v4) or [`new_v6`](Self::new_v6), set options,
/// [`bind`](Self::bind) it if needed, then turn it into a [`TcpListener`] with
/// [`listen`](Self::listen) or a [`TcpStream`] with [`connect`](Self::connect). Creating and
/// configuring need no executor; `listen` and `connect` register with the current one's I/O
/// backend.
///
/// # Examples
///
/// ```
/// use reactor::Executor;
/// use reactor_epoll::net::TcpSocket;
/// use reactor_epoll::Epoll;
///
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.bind(([127, 0, 0, 1], 0).into())?;
///     let listener = socket.listen(4096)?;
///     let client = TcpSocket::new_v4()?.connect(listener.local_addr()?).await?;
///     let (_server, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (close-on-exec, non-blocking).
    ///
    /// # Errors
    ///
    /// The error of `socket` (`EMFILE` when the process is out of fds, ...).
    pub fn new_v4() -> io::Result<Self> {
        Self::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket (close-on-exec, non-blocking). Whether it also accepts IPv4
    /// connections is the system's default (`net.ipv6.bindv6only`, off on Linux) until
    /// [`set_only_v6`](Self::set_only_v6).
    ///
    /// # Errors
    ///
    /// The error of `socket` (`EAFNOSUPPORT` on a system without IPv6, ...).
    pub fn new_v6() -> io::Result<Self> {
        Self::new(Domain::IPV6)
    }

    /// A new TCP socket of the family of `addr`.
    pub(crate) fn new_for(addr: &SocketAddr) -> io::Result<Self> {
        Self::new(Domain::for_address(*addr))
    }

    fn new(domain: Domain) -> io::Result<Self> {
        let socket = Socket::new(domain, Type::STREAM, None)?;
        // `socket2` sets close-on-exec at creation (and `SO_NOSIGPIPE` on Apple's kernels).
        socket.set_nonblocking(true)?;
        Ok(Self { socket })
    }

    /// Sets `SO_REUSEADDR`: binding succeeds while connections of an earlier socket on the same
    /// port linger in `TIME_WAIT` (a restarted server's). [`TcpListener::bind`] sets it.
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.socket.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.socket.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets, each with it set (on Linux, of the same user), may
    /// bind the same address and port; the kernel spreads incoming connections among their
    /// listeners.
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.socket.set_reuse_port(reuse)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.socket.reuse_port()
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 socket: `true` accepts and makes IPv6 connections only;
    /// `false` also IPv4 ones, as IPv4-mapped addresses.
    ///
    /// # Errors
    ///
    /// `InvalidInput` on an IPv4 socket; the error of `setsockopt` (`InvalidInput` after
    /// `bind`).
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        self.check_v6("set_only_v6")?;
        self.socket.set_only_v6(only_v6)
    }

    /// Whether `IPV6_V6ONLY` is set on an IPv6 socket.
    ///
    /// # Errors
    ///
    /// `InvalidInput` on an IPv4 socket; the error of `getsockopt`.
    pub fn only_v6(&self) -> io::Result<bool> {
        self.check_v6("only_v6")?;
        self.socket.only_v6()
    }

    fn check_v6(&self, what: &str) -> io::Result<()> {
        if crate::net::options::is_ipv6(&self.socket)? {
            return Ok(());
        }
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("TcpSocket::{what} needs an IPv6 socket")))
    }

    /// Sets `TCP_NODELAY` on the connection to come (see [`TcpStream::set_nodelay`]).
    ///
    /// # Errors
    ///
    /// The error of `setsockopt`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The error of `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket.tcp_nodelay()
    }

    /// Binds to `addr`: the listening address for [`listen`](Self::listen), or the local end
    /// of a [`connect`](Self::connect). Port 0 picks a free port; read it with
    /// [`local_addr`](Self::local_addr). A `SocketAddr`, not a host name: the socket's family
    /// is chosen already, so resolve a name first with [`lookup_host`](crate::net::lookup_host)
    /// and pick the address of that family.
    ///
    /// # Errors
    ///
    /// The error of `bind`: `AddrInUse`, `AddrNotAvailable` (an address not of this machine),
    /// `InvalidInput` for an address of the other family or a second `bind`,
    /// `PermissionDenied` for a port below 1024 without the privilege.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.check_family(&addr, "bind")?;
        self.socket.bind(&addr.into())
    }

    /// `InvalidInput` naming `addr` if it is not of this socket's family (the kernel's
    /// `EAFNOSUPPORT` has no `ErrorKind` and says nothing of the address).
    fn check_family(&self, addr: &SocketAddr, what: &str) -> io::Result<()> {
        let socket_v6 = crate::net::options::is_ipv6(&self.socket)?;
        if socket_v6 == addr.is_ipv6() {
            return Ok(());
        }
        let family = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "an {} TcpSocket cannot {what} {addr}, an {} address",
                family(socket_v6),
                family(!socket_v6)
            ),
        ))
    }

    /// The address this socket is bound to (the unspecified address and port 0 before
    /// [`bind`](Self::bind)).
    ///
    /// # Errors
    ///
    /// The error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()?.as_socket().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a TCP socket's address is not an IP address")
        })
    }

    /// Starts listening with room for `backlog` established connections waiting to be
    /// accepted, and registers the listener with the current executor's I/O backend. The kernel
    /// caps `backlog` at `net.core.somaxconn` without saying so. Unbound, the socket listens on
    /// a free port of every address.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a `backlog` of 0 (which would queue next to nothing: the kernel takes
    /// it as 1) or above `i32::MAX`; the error of `listen` (`AddrInUse` if another socket
    /// listens on the port); `NotFound` outside an executor with an I/O backend.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let checked = i32::try_from(backlog).ok().filter(|&backlog| backlog > 0);
        let Some(backlog) = checked else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a listen backlog is 1 to {}, not {backlog}", i32::MAX),
            ));
        };
        self.socket.listen(backlog)?;
        let listener = std::net::TcpListener::from(OwnedFd::from(self.socket));
        Ok(TcpListener::from_async(Async::new(listener)?))
    }

    /// Connects to `addr` (a `SocketAddr` of this socket's family: see [`bind`](Self::bind)),
    /// registering the stream with the current executor's I/O backend.
    ///
    /// # Errors
    ///
    /// `NotFound` outside an executor with an I/O backend; `InvalidInput` for an address of the
    /// other family; the connection's error (`ConnectionRefused`, `TimedOut`,
    /// `AddrNotAvailable`, ...).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        // Connect first, register after: registered unconnected, a TCP socket reports a
        // hang-up, which would pass for the end of the connect.
        self.check_family(&addr, "connect to")?;
        connect_nonblocking(&self.socket, &RawAddr::inet(addr))?;
        let stream = Async::new(std::net::TcpStream::from(OwnedFd::from(self.socket)))?;
        TcpStream::finish_connect(stream).await
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket").field("fd", &self.socket.as_raw_fd()).finish()
    }
}

impl_buffer_options!(TcpSocket);
impl_ttl_option!(TcpSocket);
impl_tcp_options!(TcpSocket);
