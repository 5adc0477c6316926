//! The readiness and non-blocking operations every `net` type shares, written once as macros
//! over the type's `async_io()` (its [`Async`](crate::Async)).

/// Implements `AsFd` and `AsRawFd` for each of the given types, through `async_io()`.
macro_rules! impl_fd {
    ($($type:ty),*) => {$(
        impl std::os::fd::AsFd for $type {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.async_io())
            }
        }

        impl std::os::fd::AsRawFd for $type {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.async_io().get_ref())
            }
        }
    )*};
}

/// `readable` and `poll_read_ready` for a type whose `async_io()` is an `Async<$io>`.
macro_rules! impl_read_ready {
    ($type:ty, $io:ty) => {
        impl $type {
            /// Waits until the socket is readable (data, a connection to accept, EOF or an
            /// error is pending), by the cached readiness of [`Async`](crate::Async): it stays
            /// readable until a read fails with `WouldBlock` (a `try_*` call, an `AsyncRead`
            /// poll, an async read), so the usual loop is `readable().await` then a `try_*`
            /// call until `WouldBlock`. Any number of tasks may wait at once; dropping the
            /// future withdraws its waker.
            ///
            /// # Errors
            ///
            /// None today; the `Result` leaves room for a backend error.
            pub fn readable(&self) -> crate::Ready<'_, $io> {
                self.async_io().readable()
            }

            /// Polls readability (see [`readable`](Self::readable)): on `Pending`, the task's
            /// waker is kept until the next readability event.
            ///
            /// # Errors
            ///
            /// None today; the `Result` leaves room for a backend error.
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.async_io().poll_readable(cx)
            }
        }
    };
}

/// `writable` and `poll_write_ready` for a type whose `async_io()` is an `Async<$io>`.
macro_rules! impl_write_ready {
    ($type:ty, $io:ty) => {
        impl $type {
            /// Waits until the socket is writable (room in its send buffer, a connection
            /// completed, or an error is pending), by the cached readiness (see
            /// [`Async::writable`](crate::Async::writable)): it stays writable until a write
            /// fails with `WouldBlock`.
            ///
            /// # Errors
            ///
            /// None today; the `Result` leaves room for a backend error.
            pub fn writable(&self) -> crate::Ready<'_, $io> {
                self.async_io().writable()
            }

            /// Polls writability (see [`writable`](Self::writable)): on `Pending`, the task's
            /// waker is kept until the next writability event.
            ///
            /// # Errors
            ///
            /// None today; the `Result` leaves room for a backend error.
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.async_io().poll_writable(cx)
            }
        }
    };
}

/// `try_read`, `try_read_vectored` and `peek` for a stream type (or its read half).
macro_rules! impl_stream_read_ops {
    ($($type:ty),*) => {$(
        impl $type {
            /// Reads what is queued into `buf` now, without waiting; `Ok(0)` means EOF (or an
            /// empty `buf`).
            ///
            /// # Errors
            ///
            /// `WouldBlock` if nothing is queued (the cached readability is then cleared, so
            /// [`readable`](Self::readable) waits for new data); otherwise the error of `read`
            /// (`ConnectionReset`, ...).
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.async_io().try_read_with(|mut io| std::io::Read::read(&mut io, buf))
            }

            /// Reads what is queued into `bufs`, in order, now, without waiting (see
            /// [`try_read`](Self::try_read)).
            ///
            /// # Errors
            ///
            /// As [`try_read`](Self::try_read).
            pub fn try_read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                self.async_io().try_read_with(|mut io| std::io::Read::read_vectored(&mut io, bufs))
            }

            /// Waits for data and copies it into `buf` without taking it from the socket: the
            /// next read returns the same bytes. `Ok(0)` means EOF (or an empty `buf`).
            ///
            /// # Errors
            ///
            /// The error of `recv` with `MSG_PEEK` (`ConnectionReset`, ...).
            pub async fn peek(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.async_io().read_with(|io| crate::net::socket::peek(io, buf)).await
            }

            /// Polls a read into `buf`, which need not be initialised: `Ready(Ok(n))` means the
            /// first `n` bytes of `buf` now hold data (`0`: EOF, or an empty `buf`). What
            /// `AsyncRead::poll_read` does, for a caller with an uninitialised buffer (hyper's
            /// `ReadBufCursor`, a `Vec`'s spare capacity), which then need not zero it first.
            ///
            /// # Errors
            ///
            /// The error of `recv` (`ConnectionReset`, ...).
            pub fn poll_read_uninit(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.async_io().poll_read_stream_uninit(cx, buf)
            }

            /// Polls a [`peek`](Self::peek): `Pending` until data (or EOF) is there, with the
            /// task's waker kept until the next readability event.
            ///
            /// # Errors
            ///
            /// As [`peek`](Self::peek).
            pub fn poll_peek(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.async_io().poll_read_with(cx, |io| crate::net::socket::peek(io, buf))
            }
        }
    )*};
}

/// `try_write` and `try_write_vectored` for a stream type (or its write half).
macro_rules! impl_stream_write_ops {
    ($($type:ty),*) => {$(
        impl $type {
            /// Writes as much of `buf` as the send buffer takes now, without waiting; returns
            /// the bytes written.
            ///
            /// # Errors
            ///
            /// `WouldBlock` if the send buffer is full (the cached writability is then cleared,
            /// so [`writable`](Self::writable) waits for room); otherwise the error of `write`
            /// (`BrokenPipe` after the peer closed, ...).
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.async_io().try_write_with(|mut io| std::io::Write::write(&mut io, buf))
            }

            /// Writes as much of `bufs`, in order, as the send buffer takes now (see
            /// [`try_write`](Self::try_write)).
            ///
            /// # Errors
            ///
            /// As [`try_write`](Self::try_write).
            pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.async_io().try_write_with(|mut io| std::io::Write::write_vectored(&mut io, bufs))
            }
        }
    )*};
}

pub(crate) use {impl_fd, impl_read_ready, impl_stream_read_ops, impl_stream_write_ops, impl_write_ready};
