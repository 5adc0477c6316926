//! [`ToSocketAddrs`]: socket addresses and host names, resolved on the blocking pool.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::vec;

/// What [`TcpStream::connect`](crate::net::TcpStream::connect),
/// [`TcpListener::bind`](crate::net::TcpListener::bind), [`UdpSocket`](crate::net::UdpSocket)'s
/// `bind`, `connect` and `send_to`, and [`lookup_host`] take: a socket address, or a host name
/// and a port.
///
/// Implemented for [`SocketAddr`], [`SocketAddrV4`], [`SocketAddrV6`], `(IpAddr, u16)` (and
/// `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `([u8; 4], u16)`, `([u8; 16], u16)`, `([u16; 8],
/// u16)`), `(&str, u16)`, `(String, u16)`, `"host:port"` strings (`&str`, `String`), slices and
/// vectors of `SocketAddr`, and references to any of these. Sealed: the crate decides how each
/// is resolved.
///
/// - Numeric addresses (`"127.0.0.1:80"`, `"[::1]:80"`, `("10.0.0.1", 80)`) are parsed at once,
///   with no thread and no system resolver.
/// - Host names (`"localhost:80"`, `("example.org", 443)`) are resolved by the system resolver
///   (`getaddrinfo`: `/etc/hosts`, then DNS, as `/etc/nsswitch.conf` says) on the current
///   executor's blocking pool, so a slow name server stalls no worker thread.
///
/// # Errors
///
/// Every function taking one fails with:
/// - `InvalidInput`, the text quoted in the message, for a string that is empty, has no
///   `:port`, has a port that is not a number from 0 to 65535, an empty host, or an IPv6
///   address not in brackets (`[::1]:80`);
/// - `NotFound` outside an executor (a host name needs its blocking pool), or when the name
///   resolves to no address at all;
/// - `NotFound`, the host name and the resolver's message in the error's, when the name does not
///   exist (`EAI_NONAME`) or has no address (`EAI_NODATA`), as for any name under `.invalid`;
/// - `Other` when the resolver itself fails (`EAI_AGAIN`: no name server answered, after the
///   timeouts and attempts of `/etc/resolv.conf`, 5 s and 2 by default; `EAI_FAIL`), the host
///   name and the resolver's message in the error's;
/// - `Interrupted` if the executor shut down and cancelled the lookup before it ran.
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::*;

    /// How one [`ToSocketAddrs`](super::ToSocketAddrs) value is resolved.
    #[derive(Debug)]
    // Reachable only through the sealed trait, so `pub` here is not a public API.
    #[allow(unreachable_pub)]
    pub enum Plan {
        /// Addresses known without a lookup (parsed, or given as addresses).
        Ready(Vec<SocketAddr>),
        /// A host name for the system resolver.
        Lookup { host: String, port: u16 },
        /// Input that is no address at all.
        Invalid(io::Error),
    }

    /// The crate's side of [`ToSocketAddrs`](super::ToSocketAddrs); not nameable outside it.
    #[allow(unreachable_pub)]
    pub trait ToSocketAddrsPriv {
        /// How to resolve this value.
        fn plan(&self) -> Plan;
    }
}

use sealed::{Plan, ToSocketAddrsPriv};

/// Resolves `addr` to its socket addresses, in the resolver's order: a host name on the current
/// executor's blocking pool, a numeric address at once.
///
/// # Errors
///
/// Those of [`ToSocketAddrs`].
///
/// # Examples
///
/// ```
/// use reactor::Executor;
/// use reactor_epoll::net::lookup_host;
/// use reactor_epoll::Epoll;
///
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let addrs: Vec<_> = lookup_host("localhost:80").await?.collect();
///     assert!(addrs.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 80));
///     let error = lookup_host("localhost").await.unwrap_err();
///     assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "no port");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<vec::IntoIter<SocketAddr>> {
    resolve(&addr).await.map(Vec::into_iter)
}

/// The addresses of `addr`, never empty.
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    let (host, port) = match addr.plan() {
        Plan::Ready(addrs) if addrs.is_empty() => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an empty list of socket addresses"));
        }
        Plan::Ready(addrs) => return Ok(addrs),
        Plan::Invalid(error) => return Err(error),
        Plan::Lookup { host, port } => (host, port),
    };
    let Some(handle) = reactor::Handle::current() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "resolving the host name {host:?} needs a reactor executor on this thread (its \
                 blocking pool runs the lookup); pass a socket address outside one"
            ),
        ));
    };
    let lookup = {
        let host = host.clone();
        handle.spawn_blocking(move || crate::net::resolver::lookup(&host, port))
    };
    let addrs = match lookup.await {
        Ok(result) => result?,
        Err(join) if join.is_panic() => {
            return Err(io::Error::other(format!("resolving the host name {host:?} panicked: {join}")));
        }
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                format!("resolving the host name {host:?} was cancelled: the executor shut down"),
            ));
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the host name {host:?} resolved to no address"),
        ));
    }
    Ok(addrs)
}

/// Tries `op` on each address of `addr` in order; the first success, or the last error.
pub(crate) async fn try_each<T, F, Fut>(addr: &(impl ToSocketAddrs + ?Sized), mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in resolve(addr).await? {
        match op(addr).await {
            Ok(value) => return Ok(value),
            Err(error) => last = Some(error),
        }
    }
    // `resolve` never returns an empty list.
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address to try")))
}

fn invalid(text: &str, why: &str) -> Plan {
    Plan::Invalid(io::Error::new(io::ErrorKind::InvalidInput, format!("{why}: {text:?}")))
}

/// A host (a name, an IP address, an IPv6 address in brackets) and a port.
fn host_and_port(host: &str, port: u16, text: &str) -> Plan {
    if host.is_empty() {
        return invalid(text, "no host in the socket address");
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(ip) => Plan::Ready(vec![SocketAddr::new(ip.into(), port)]),
            Err(_) => invalid(text, "not an IPv6 address in the brackets"),
        };
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Plan::Ready(vec![SocketAddr::new(ip, port)]);
    }
    if host.contains(':') || host.contains('[') || host.contains(']') {
        return invalid(text, "not a host name nor an IP address");
    }
    Plan::Lookup { host: host.to_owned(), port }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn plan(&self) -> Plan {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Plan::Ready(vec![addr]);
        }
        if self.trim().is_empty() {
            return invalid(self, "an empty socket address");
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return invalid(self, "no port in the socket address (host:port)");
        };
        if host.contains(':') && !host.starts_with('[') {
            // "::1:80" is an IPv6 address, or one and a port: brackets tell.
            return invalid(self, "an IPv6 address with a port is written in brackets, [addr]:port");
        }
        match port.parse::<u16>() {
            Ok(port) => host_and_port(host, port, self),
            Err(_) => invalid(self, "the port is not a number from 0 to 65535"),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn plan(&self) -> Plan {
        self.as_str().plan()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn plan(&self) -> Plan {
        host_and_port(self.0, self.1, self.0)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn plan(&self) -> Plan {
        host_and_port(&self.0, self.1, &self.0)
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn plan(&self) -> Plan {
        Plan::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl ToSocketAddrsPriv for Vec<SocketAddr> {
    fn plan(&self) -> Plan {
        Plan::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn plan(&self) -> Plan {
        (**self).plan()
    }
}

/// Implements the traits for types that convert into a `SocketAddr`.
macro_rules! socket_addr_types {
    ($($type:ty),*) => {$(
        impl ToSocketAddrs for $type {}
        impl ToSocketAddrsPriv for $type {
            fn plan(&self) -> Plan {
                Plan::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

socket_addr_types!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16),
    ([u8; 4], u16),
    ([u8; 16], u16),
    ([u16; 8], u16)
);
