//! hyper's `Read` and `Write` over reactor's streams and over any `futures-io` type.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use reactor_net::net::{OwnedReadHalf, TcpStream, UnixOwnedReadHalf, UnixStream};

/// A byte stream hyper can run on through [`HyperIo`]: it reads into uninitialised memory and
/// writes like any `futures-io` writer.
///
/// Implemented for reactor's `net` streams, which read straight into hyper's buffer, and for
/// [`FuturesIo`], which adapts any `futures-io` reader. Implement it for a transport of your own
/// that can fill uninitialised memory (a TLS stream decrypting into the caller's buffer, say).
pub trait Transport: AsyncWrite + Unpin {
    /// Polls a read into `buf`: `Ready(Ok(n))` promises that the first `n` bytes of `buf` are
    /// initialised with data (`0`: end of stream).
    ///
    /// # Errors
    ///
    /// The transport's read error.
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;

    /// Whether [`poll_write_vectored`](AsyncWrite::poll_write_vectored) writes several buffers
    /// in one call (hyper then hands it its headers and body chunks as they are, instead of
    /// copying them into one buffer first).
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// Implements [`Transport`] for reactor's stream types: reads with `poll_read_uninit`, writes
/// vectored (`writev`).
macro_rules! impl_transport {
    ($($type:ty),*) => {$(
        impl Transport for $type {
            fn poll_read_uninit(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                let this: &$type = self.get_mut();
                this.poll_read_uninit(cx, buf)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }
        }
    )*};
}

impl_transport!(TcpStream, UnixStream);

/// Implements [`Transport`] for [`Joined`] with each of reactor's owned reader halves (split TCP
/// or Unix streams joined again for hyper, or such a reader with any writer).
macro_rules! impl_joined_transport {
    ($($reader:ty),*) => {$(
        impl<W: AsyncWrite + Unpin> Transport for Joined<$reader, W> {
            fn poll_read_uninit(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                self.reader.poll_read_uninit(cx, buf)
            }
        }
    )*};
}

impl_joined_transport!(OwnedReadHalf, UnixOwnedReadHalf);

/// A reader half and a writer half used as one stream.
#[derive(Debug)]
pub struct Joined<R, W> {
    /// The half reads come from.
    pub reader: R,
    /// The half writes go to.
    pub writer: W,
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Joined<R, W> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}

/// Any `futures-io` stream as a [`Transport`]: its reads need an initialised buffer, so the part
/// of hyper's buffer a read is offered is zeroed first (one `memset`, no copy).
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T: AsyncRead + AsyncWrite + Unpin> Transport for FuturesIo<T> {
    fn poll_read_uninit(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        buf.fill(MaybeUninit::new(0));
        // SAFETY: every element was just initialised, and `MaybeUninit<u8>` has the layout of `u8`.
        let buf = unsafe { &mut *(std::ptr::from_mut::<[MaybeUninit<u8>]>(buf) as *mut [u8]) };
        let read = std::task::ready!(Pin::new(&mut self.0).poll_read(cx, buf))?;
        // A reader claiming more than it was given would make hyper read past its buffer.
        if read > buf.len() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the reader returned {read} bytes for a buffer of {}", buf.len()),
            )));
        }
        Poll::Ready(Ok(read))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FuturesIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// A [`Transport`] as hyper's I/O: what a hyper connection (server or client) runs over.
///
/// `HyperIo::new(tcp_stream)` for reactor's streams; `HyperIo::new(FuturesIo(stream))` for any
/// `futures-io` type.
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner` for hyper.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream back.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for HyperIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HyperIo").field(&self.inner).finish()
    }
}

impl<T: Transport> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the slice is only written by `poll_read_uninit`, never de-initialised.
        let unfilled = unsafe { buf.as_mut() };
        let capacity = unfilled.len();
        let read = std::task::ready!(Pin::new(&mut self.inner).poll_read_uninit(cx, unfilled))?;
        if read > capacity {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the transport returned {read} bytes for a buffer of {capacity}"),
            )));
        }
        // SAFETY: `poll_read_uninit` initialised the first `read` bytes of the unfilled part,
        // and `read` is within it (checked above).
        unsafe { buf.advance(read) };
        Poll::Ready(Ok(()))
    }
}

impl<T: Transport> hyper::rt::Write for HyperIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}
