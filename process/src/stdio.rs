//! The parent's ends of a child's piped stdio, as async streams.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use reactor::io::IoHandle;
use reactor_net::Async;

/// One end of a pipe, held as a `File` for its `Read`/`Write` impls on `&File`.
#[derive(Debug)]
struct Pipe(File);

impl Pipe {
    fn register(fd: impl Into<OwnedFd>, io: &IoHandle) -> io::Result<Async<Self>> {
        Async::with_source(Self(File::from(fd.into())), io)
    }

    /// Back to blocking mode, and into a [`Stdio`] for another child.
    fn into_stdio(io: Async<Self>) -> io::Result<Stdio> {
        let pipe = io.into_inner()?;
        let off: libc::c_int = 0;
        // SAFETY: `FIONBIO` reads one `c_int` from a live local; the fd is open (owned by `pipe`).
        if unsafe { libc::ioctl(pipe.0.as_raw_fd(), libc::FIONBIO, &off) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stdio::from(OwnedFd::from(pipe.0)))
    }
}

impl AsFd for Pipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Read for &Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.0).read(buf)
    }
}

impl Write for &Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

macro_rules! child_pipe {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        ///
        /// The pipe is in non-blocking mode and registered with the I/O backend of the executor
        /// that spawned the child; dropping it closes the pipe.
        #[derive(Debug)]
        pub struct $name {
            io: Async<Pipe>,
        }

        impl $name {
            pub(crate) fn new(pipe: $std, io: &IoHandle) -> io::Result<Self> {
                Ok(Self { io: Pipe::register(pipe, io)? })
            }

            /// Deregisters the pipe and turns it into a [`Stdio`] (in blocking mode again), to
            /// connect it to another child, as in a shell pipeline.
            ///
            /// # Errors
            ///
            /// The backend's error of deregistering, or the error of leaving non-blocking
            /// mode; neither happens for a valid pipe.
            pub fn into_stdio(self) -> io::Result<Stdio> {
                Pipe::into_stdio(self.io)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.io.as_fd().as_raw_fd()
            }
        }
    };
}

child_pipe!(
    /// The write end of a child's stdin pipe ([`Child::stdin`](crate::Child::stdin)); implements
    /// [`AsyncWrite`]. Drop it to close the pipe: the child then reads end-of-file.
    ChildStdin,
    std::process::ChildStdin
);
child_pipe!(
    /// The read end of a child's stdout pipe ([`Child::stdout`](crate::Child::stdout));
    /// implements [`AsyncRead`], which reads end-of-file once the child (and every process it
    /// passed the pipe to) has closed it.
    ChildStdout,
    std::process::ChildStdout
);
child_pipe!(
    /// The read end of a child's stderr pipe ([`Child::stderr`](crate::Child::stderr));
    /// implements [`AsyncRead`] (see [`ChildStdout`]).
    ChildStderr,
    std::process::ChildStderr
);

impl AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe has no user-space buffer: every write is in the kernel when it returns.
        Poll::Ready(Ok(()))
    }

    /// Flushes; the pipe closes when the `ChildStdin` is dropped.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.io).poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &self.io).poll_read(cx, buf)
    }
}
