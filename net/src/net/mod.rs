//! Networking types: TCP, UDP and Unix sockets over [`Async`](crate::Async).
//!
//! Each type owns an `Async` of its std counterpart, over whichever I/O backend it was
//! registered with. Constructors that take no source register with the I/O backend of the
//! current executor (and fail with `NotFound` outside one); `from_std` takes the source
//! explicitly. Sockets accepted from a listener register with
//! the listener's source.
//!
//! Addresses: `TcpStream::connect`, `TcpListener::bind` and `UdpSocket`'s `bind`, `connect` and
//! `send_to` take a [`ToSocketAddrs`], so `"localhost:8080"`, `("example.org", 443)` and
//! `"[::1]:80"` work beside `SocketAddr`s; names resolve on the executor's blocking pool
//! ([`lookup_host`] alone does just that). The calls that cannot wait (`try_send_to`, the
//! `poll_*` functions) and [`TcpSocket`], whose family is chosen already, take a `SocketAddr`.
//!
//! Beyond `AsyncRead`/`AsyncWrite`, each type has the readiness calls
//! (`readable`/`writable`, `poll_read_ready`/`poll_write_ready`), the non-blocking `try_*`
//! operations that return `WouldBlock` instead of waiting, `peek`, `AsFd`, and the socket
//! options people set (buffer sizes, TTL, linger, keepalive, broadcast, multicast);
//! [`TcpSocket`] sets those that must come before `bind`/`listen` (`SO_REUSEADDR`,
//! `SO_REUSEPORT`, `IPV6_V6ONLY`, the listen backlog).
//!
//! A socket may be shared (`Arc<TcpListener>`, `&UdpSocket`, ...): any number of tasks can wait
//! on it at once, each event wakes all of them, and an idle socket costs its waiting tasks
//! nothing (see [`Async`](crate::Async#several-tasks-on-one-async)).

mod addr;
mod io_ops;
mod options;
mod resolver;
mod socket;
mod tcp;
mod tcp_socket;
mod udp;
mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
pub use tcp_socket::{TcpSocket, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixOwnedReadHalf, UnixOwnedWriteHalf, UnixStream};

/// Implements `AsyncRead` for each of the given stream types (a type and a reference to it),
/// through its `async_io()`.
macro_rules! impl_async_read {
    ($($type:ty),*) => {$(
        impl futures_io::AsyncRead for $type {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.async_io().poll_read_stream(cx, buf)
            }
        }
    )*};
}

/// Implements `AsyncWrite` for each of the given types, through its `async_io()`; closing shuts
/// the write direction down (the peer reads EOF).
macro_rules! impl_async_write {
    ($($type:ty),*) => {$(
        impl futures_io::AsyncWrite for $type {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.async_io().poll_write_with(cx, |mut io| std::io::Write::write(&mut io, buf))
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.async_io().poll_write_with(cx, |mut io| std::io::Write::write_vectored(&mut io, bufs))
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.async_io().get_ref().shutdown(std::net::Shutdown::Write))
            }
        }
    )*};
}

use {impl_async_read, impl_async_write};
