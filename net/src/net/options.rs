//! Socket options shared by several `net` types, written once as macros over the type's
//! `AsFd`, and set through `socket2` (one checked `setsockopt` per option, on every Unix).

use std::io;
use std::os::fd::AsFd;

/// Whether the socket `fd` is an IPv6 one (by `getsockname`, which keeps the family even before
/// `bind`).
///
/// # Errors
///
/// The error of `getsockname`.
pub(crate) fn is_ipv6(fd: &impl AsFd) -> io::Result<bool> {
    Ok(socket2::SockRef::from(fd).local_addr()?.is_ipv6())
}

/// Sets the TTL of an IPv4 socket (`IP_TTL`) or the unicast hop limit of an IPv6 one
/// (`IPV6_UNICAST_HOPS`), the same thing under two names.
pub(crate) fn set_ttl(fd: &impl AsFd, ttl: u32) -> io::Result<()> {
    if ttl == 0 || ttl > 255 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a TTL (hop limit) is 1 to 255, not {ttl}"),
        ));
    }
    let socket = socket2::SockRef::from(fd);
    if is_ipv6(fd)? {
        socket.set_unicast_hops_v6(ttl)
    } else {
        socket.set_ttl_v4(ttl)
    }
}

/// The TTL of an IPv4 socket or the unicast hop limit of an IPv6 one.
pub(crate) fn ttl(fd: &impl AsFd) -> io::Result<u32> {
    let socket = socket2::SockRef::from(fd);
    if is_ipv6(fd)? {
        socket.unicast_hops_v6()
    } else {
        socket.ttl_v4()
    }
}

/// `send_buffer_size`, `recv_buffer_size` and their setters for each of the given types.
macro_rules! impl_buffer_options {
    ($($type:ty),*) => {$(
        impl $type {
            /// Sets the size of the kernel's send buffer (`SO_SNDBUF`). The kernel may adjust
            /// it: Linux doubles the value (for its bookkeeping) and caps it at
            /// `net.core.wmem_max`; read back [`send_buffer_size`](Self::send_buffer_size).
            ///
            /// # Errors
            ///
            /// The error of `setsockopt`.
            pub fn set_send_buffer_size(&self, size: usize) -> std::io::Result<()> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_send_buffer_size(size)
            }

            /// The size of the kernel's send buffer (`SO_SNDBUF`).
            ///
            /// # Errors
            ///
            /// The error of `getsockopt`.
            pub fn send_buffer_size(&self) -> std::io::Result<usize> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).send_buffer_size()
            }

            /// Sets the size of the kernel's receive buffer (`SO_RCVBUF`); adjusted by the
            /// kernel as [`set_send_buffer_size`](Self::set_send_buffer_size) is
            /// (`net.core.rmem_max`).
            ///
            /// # Errors
            ///
            /// The error of `setsockopt`.
            pub fn set_recv_buffer_size(&self, size: usize) -> std::io::Result<()> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_recv_buffer_size(size)
            }

            /// The size of the kernel's receive buffer (`SO_RCVBUF`).
            ///
            /// # Errors
            ///
            /// The error of `getsockopt`.
            pub fn recv_buffer_size(&self) -> std::io::Result<usize> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).recv_buffer_size()
            }
        }
    )*};
}

/// `ttl` and `set_ttl` for each of the given IP socket types.
macro_rules! impl_ttl_option {
    ($($type:ty),*) => {$(
        impl $type {
            /// Sets the time-to-live of the packets this socket sends: `IP_TTL` on an IPv4
            /// socket, the unicast hop limit (`IPV6_UNICAST_HOPS`) on an IPv6 one.
            ///
            /// # Errors
            ///
            /// `InvalidInput` for 0 or more than 255; the error of `setsockopt`.
            pub fn set_ttl(&self, ttl: u32) -> std::io::Result<()> {
                crate::net::options::set_ttl(&std::os::fd::AsFd::as_fd(self), ttl)
            }

            /// The time-to-live (IPv4) or unicast hop limit (IPv6) of the packets this socket
            /// sends.
            ///
            /// # Errors
            ///
            /// The error of `getsockopt`.
            pub fn ttl(&self) -> std::io::Result<u32> {
                crate::net::options::ttl(&std::os::fd::AsFd::as_fd(self))
            }
        }
    )*};
}

/// `linger`, `keepalive` and their setters for each of the given TCP types.
macro_rules! impl_tcp_options {
    ($($type:ty),*) => {$(
        impl $type {
            /// Sets `SO_LINGER`: with `Some(duration)`, closing the socket waits (in the kernel,
            /// blocking the thread that drops it) up to `duration` for unsent data to go out,
            /// and `Some(Duration::ZERO)` resets the connection at close instead of the usual
            /// graceful shutdown; `None` (the default) closes at once and sends in the
            /// background. Whole seconds: a fraction is rounded down.
            ///
            /// # Errors
            ///
            /// The error of `setsockopt`.
            pub fn set_linger(&self, linger: Option<std::time::Duration>) -> std::io::Result<()> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_linger(linger)
            }

            /// The `SO_LINGER` setting (see [`set_linger`](Self::set_linger)).
            ///
            /// # Errors
            ///
            /// The error of `getsockopt`.
            pub fn linger(&self) -> std::io::Result<Option<std::time::Duration>> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).linger()
            }

            /// Sets `SO_KEEPALIVE`: the kernel probes an idle connection and fails it (reads
            /// and writes then return `TimedOut`) when the peer stops answering, after the
            /// system's keepalive times (on Linux `net.ipv4.tcp_keepalive_*`, two hours idle
            /// by default).
            ///
            /// # Errors
            ///
            /// The error of `setsockopt`.
            pub fn set_keepalive(&self, keepalive: bool) -> std::io::Result<()> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_keepalive(keepalive)
            }

            /// Whether `SO_KEEPALIVE` is set.
            ///
            /// # Errors
            ///
            /// The error of `getsockopt`.
            pub fn keepalive(&self) -> std::io::Result<bool> {
                socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).keepalive()
            }
        }
    )*};
}

pub(crate) use {impl_buffer_options, impl_tcp_options, impl_ttl_option};
