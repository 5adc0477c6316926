//! [`Async<T>`]: any fd, registered with an I/O backend for as long as it is owned.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use reactor::io::{AsIoHandle, IoHandle, IoState, Readiness, WaiterKey};

use crate::registered::{backend_of, current_backend, Registered};

/// An I/O object registered with an I/O backend (epoll, the portable `polling` backend, your own
/// [`IoSource`](reactor::io::IoSource)): its operations wait for readiness instead of blocking.
///
/// `Async` owns the I/O object, so registration is safe: the fd is registered (and put in
/// non-blocking mode) by [`new`](Self::new), and deregistered by `Drop` (or
/// [`into_inner`](Self::into_inner)) before the fd can close. Any [`AsFd`] type works: sockets,
/// pipes, terminals, eventfds, your own.
///
/// The readiness the backend reports is cached. It starts empty (the kernel reports an fd that
/// is already ready right after registration), and a direction stays ready until an operation
/// run through [`read_with`](Self::read_with), [`write_with`](Self::write_with) or the
/// [`AsyncRead`]/[`AsyncWrite`] impls fails with `WouldBlock`; operations run while it is ready
/// and wait while it is not.
///
/// # Several tasks on one `Async`
///
/// Any number of tasks may wait in each direction, for example several tasks accepting on one
/// `Arc<TcpListener>` or reading one `&Async`. An event wakes every task waiting in the
/// directions it made ready; each retries its operation, and those that find nothing left (another
/// task took the data or the connection) wait again. While the fd stays idle, waiting tasks are
/// not polled at all.
///
/// - The futures ([`readable`](Self::readable), [`read_with`](Self::read_with) and their write
///   counterparts, and the futures of the [`net`](crate::net) types built on them) stay
///   registered until they complete or are dropped; dropping one withdraws its waker.
/// - The [`AsyncRead`]/[`AsyncWrite`] impls (on `&Async`, and the stream types of
///   [`net`](crate::net)) have no future whose drop could withdraw: the waker of each task that
///   polls one and finds the direction not ready is kept, once per task however often it polls
///   (tasks are told apart with [`Waker::will_wake`](std::task::Waker::will_wake)), until the
///   next event in that direction wakes it. So two tasks reading through one `&Async` are both
///   woken. A task that stops polling before that event is woken once, needlessly, when it comes;
///   and should such left-behind wakers pile up on an idle fd, they are all woken (those still
///   waiting poll again) and dropped.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use reactor::Executor;
/// use reactor_epoll::{Async, Epoll};
///
/// let executor = Executor::new(Epoll::new()?)?;
/// executor.block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Async<T: AsFd> {
    registered: Registered<T>,
    // std's `Arc`: the state is shared with the registration's callback, and its count is no
    // part of the readiness protocol (which `IoState`'s own lock carries, loom-modelled).
    state: std::sync::Arc<IoState>,
    /// Whether a short read of a stream may clear readability (the backend marks every
    /// hang-up), asked once at registration.
    drained_clears: bool,
}

impl<T: AsFd> Async<T> {
    /// Registers `io` with the I/O backend of the executor running the current task, and puts
    /// it in non-blocking mode.
    ///
    /// # Errors
    ///
    /// `NotFound` outside an executor whose source has an I/O backend (use
    /// [`with_source`](Self::with_source) there), and the errors of
    /// [`with_source`](Self::with_source).
    pub fn new(io: T) -> io::Result<Self> {
        Self::register(io, current_backend("Async::new")?)
    }

    /// Registers `io` with the I/O backend of `source` (an [`IoHandle`], or an event source
    /// that has a backend: an `Epoll`, a runtime's composite source, ...), and puts it in
    /// non-blocking mode.
    ///
    /// # Errors
    ///
    /// - `NotFound` if `source` has no I/O backend;
    /// - the backend's errors of adding the fd (epoll, and the portable backend on Linux:
    ///   `AlreadyExists` if the fd is registered already, by another `Async`; `Unsupported` for
    ///   a regular file or a directory, which epoll cannot watch; `InvalidInput` for a closed or
    ///   invalid fd);
    /// - the error of setting non-blocking mode.
    pub fn with_source(io: T, source: &(impl AsIoHandle + ?Sized)) -> io::Result<Self> {
        Self::register(io, backend_of(source, "Async::with_source")?)
    }

    fn register(io: T, backend: IoHandle) -> io::Result<Self> {
        let state = std::sync::Arc::new(IoState::default());
        let callback_state = state.clone();
        let callback = Box::new(move |readiness| callback_state.on_event(readiness));
        let registered = Registered::new(io, &backend, callback)?;
        let drained_clears = registered.registration().reports_read_closed();
        Ok(Self { registered, state, drained_clears })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.registered.get_ref()
    }

    /// The I/O backend the I/O object is registered with.
    pub fn source(&self) -> &IoHandle {
        self.registered.registration().handle()
    }

    /// Deregisters the I/O object and returns it (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The backend's error of deleting the fd, which does not happen for a valid registration.
    pub fn into_inner(self) -> io::Result<T> {
        self.registered.into_inner()
    }

    /// Waits until the cached readiness says the I/O object is readable.
    ///
    /// It stays readable until an operation run through [`read_with`](Self::read_with),
    /// [`try_read_with`](Self::try_read_with), [`poll_read_with`](Self::poll_read_with) (or
    /// `AsyncRead`) meets `WouldBlock`; an operation run on [`get_ref`](Self::get_ref) directly
    /// does not clear it, so a loop of `readable().await` and such an operation spins once the
    /// data is drained. Loop with `try_read_with` instead, or use `read_with`.
    pub fn readable(&self) -> Ready<'_, T> {
        Ready { io: self, direction: Readiness::READABLE, waiter: WaiterKey::default() }
    }

    /// Waits until the I/O object is writable (see [`readable`](Self::readable)).
    pub fn writable(&self) -> Ready<'_, T> {
        Ready { io: self, direction: Readiness::WRITABLE, waiter: WaiterKey::default() }
    }

    /// Runs the non-blocking read `op` until it does not report `WouldBlock`, waiting for
    /// readability between attempts.
    ///
    /// `op` must be a non-blocking operation whose `WouldBlock` means "not readable": after one,
    /// the cached readiness is cleared and the next attempt waits for the backend's next event.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use reactor::Executor;
    /// use reactor_epoll::{Async, Epoll};
    ///
    /// let executor = Executor::new(Epoll::new()?)?;
    /// executor.block_on(async {
    ///     let socket = Async::new(UdpSocket::bind("127.0.0.1:0")?)?;
    ///     socket.get_ref().send_to(b"hi", socket.get_ref().local_addr()?)?;
    ///     let mut buf = [0; 2];
    ///     let (len, _) = socket.read_with(|socket| socket.recv_from(&mut buf)).await?;
    ///     assert_eq!(&buf[..len], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_with<R, F>(&self, op: F) -> WithReadiness<'_, T, F>
    where
        F: FnMut(&T) -> io::Result<R>,
    {
        WithReadiness { io: self, direction: Readiness::READABLE, op, waiter: WaiterKey::default() }
    }

    /// Runs the non-blocking write `op` until it does not report `WouldBlock`, waiting for
    /// writability between attempts (see [`read_with`](Self::read_with)).
    pub fn write_with<R, F>(&self, op: F) -> WithReadiness<'_, T, F>
    where
        F: FnMut(&T) -> io::Result<R>,
    {
        WithReadiness { io: self, direction: Readiness::WRITABLE, op, waiter: WaiterKey::default() }
    }

    /// Polls the non-blocking read `op` once: runs it while the cached readiness says readable,
    /// and waits for readability when it fails with `WouldBlock`, as
    /// [`read_with`](Self::read_with) does, for `poll_*`-style APIs (a QUIC stack's socket, your
    /// own `AsyncRead`).
    ///
    /// `Pending` means `op` met `WouldBlock` (or the cache said not readable) and the task is
    /// woken by the next readability event; any other error of `op` is returned as is.
    /// The waker of each task that polls and finds the direction not ready is kept until the
    /// next event in that direction (see [several tasks](Self#several-tasks-on-one-async)).
    ///
    /// # Examples
    ///
    /// A UDP socket driven by poll functions alone, the way a QUIC stack drives its socket:
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::net::UdpSocket;
    /// use reactor::Executor;
    /// use reactor_epoll::{Async, Epoll};
    ///
    /// let executor = Executor::new(Epoll::new()?)?;
    /// executor.block_on(async {
    ///     let a = Async::new(UdpSocket::bind("127.0.0.1:0")?)?;
    ///     let b = Async::new(UdpSocket::bind("127.0.0.1:0")?)?;
    ///     let to = b.get_ref().local_addr()?;
    ///     poll_fn(|cx| a.poll_write_with(cx, |socket| socket.send_to(b"quic", to))).await?;
    ///     let mut buf = [0; 8];
    ///     let (len, from) = poll_fn(|cx| b.poll_read_with(cx, |s| s.recv_from(&mut buf))).await?;
    ///     assert_eq!((&buf[..len], from), (&b"quic"[..], a.get_ref().local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(Readiness::READABLE, cx, None, op, |_| false)
    }

    /// Polls a read of a byte stream (a TCP or Unix stream socket) into `buf`.
    ///
    /// A read that returns less than `buf` holds emptied the socket's receive queue, so the
    /// readable direction is cleared at once: the next read waits for the next event instead of
    /// spending a syscall to learn `WouldBlock` (one of the three syscalls of an echo round
    /// trip). Not for datagram or packet sockets, where a short read is one message among
    /// several queued.
    pub(crate) fn poll_read_stream(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        let capacity = buf.len();
        let drained = |&read: &usize| read > 0 && read < capacity;
        self.poll_io(Readiness::READABLE, cx, None, |mut io| io.read(buf), drained)
    }

    /// [`poll_read_stream`](Self::poll_read_stream) into uninitialised memory: returns `n`, and
    /// the first `n` bytes of `buf` are then initialised.
    pub(crate) fn poll_read_stream_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let capacity = buf.len();
        let drained = |&read: &usize| read > 0 && read < capacity;
        self.poll_io(Readiness::READABLE, cx, None, |io| crate::sys::recv_uninit(io.as_fd(), buf), drained)
    }

    /// Polls the non-blocking write `op` once (see [`poll_read_with`](Self::poll_read_with)).
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(Readiness::WRITABLE, cx, None, op, |_| false)
    }

    /// Polls readability: `Ready(Ok(()))` while the cached readiness says readable, else
    /// `Pending` with the task's waker kept until the next readability event (see
    /// [`readable`](Self::readable) for when the cache is cleared). Never fails today; the
    /// `Result` leaves room for a backend error.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.state.poll_ready(Readiness::READABLE, cx, None).map(|_| Ok(()))
    }

    /// Polls writability (see [`poll_readable`](Self::poll_readable)).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.state.poll_ready(Readiness::WRITABLE, cx, None).map(|_| Ok(()))
    }

    /// Runs the non-blocking read `op` once, now, whatever the cached readiness says, and never
    /// waits. If it fails with `WouldBlock`, the cached readability is cleared (unless an event
    /// arrived meanwhile), so that a loop of [`readable`](Self::readable) and `try_read_with`
    /// waits for the next event instead of spinning.
    ///
    /// # Errors
    ///
    /// The error of `op` (`WouldBlock` when there is nothing to read), or the backend's error of
    /// re-arming a one-shot registration after `WouldBlock`.
    pub fn try_read_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Readiness::READABLE, op)
    }

    /// Runs the non-blocking write `op` once, now (see [`try_read_with`](Self::try_read_with)).
    ///
    /// # Errors
    ///
    /// As [`try_read_with`](Self::try_read_with), `WouldBlock` when the send buffer is full.
    pub fn try_write_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Readiness::WRITABLE, op)
    }

    fn try_io<R>(&self, direction: Readiness, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        // Read before the operation: an event that arrives after it makes `clear` a no-op.
        let tick = self.state.tick();
        match op(self.get_ref()) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.not_ready(direction, tick)?;
                Err(error)
            }
            result => result,
        }
    }

    /// One poll of an operation: spend coop budget, then try `op` while the direction is ready.
    /// `waiter` is the key of the future polling, `None` for the anonymous `poll_*` APIs.
    /// `drained` tells from a successful result that the next operation would block.
    fn poll_io<R>(
        &self,
        direction: Readiness,
        cx: &mut Context<'_>,
        mut waiter: Option<&mut WaiterKey>,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        ready!(reactor::coop::poll_proceed(cx));
        loop {
            let tick = ready!(self.state.poll_ready(direction, cx, waiter.as_deref_mut()));
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.not_ready(direction, tick)?,
                Ok(value) => {
                    // Skipped for a backend that may not mark a hang-up (the EOF read after a
                    // short one would wait forever); so no re-arm is needed either.
                    if self.drained_clears && drained(&value) {
                        self.state.clear_drained(direction, tick);
                    }
                    return Poll::Ready(Ok(value));
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// After a `WouldBlock` in `direction`: clears it unless an event arrived after `tick`, and
    /// re-arms it on a backend that needs it.
    ///
    /// Out of line: it follows a syscall that failed, and inlined into `poll_io`, its re-arm
    /// branch made every poll load and spill the registration's fields (about 7 instructions
    /// per poll on epoll, which never re-arms; measured with callgrind).
    #[inline(never)]
    fn not_ready(&self, direction: Readiness, tick: u64) -> io::Result<()> {
        if self.state.clear(direction, tick) {
            self.registered.registration().rearm(direction)?;
        }
        Ok(())
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.registered).field("state", &self.state).finish()
    }
}

// The I/O object is never pinned through `Async`.
impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }
}

impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// The owned impls run the shared-reference ones.
impl<T: AsFd> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
}

impl<T: AsFd> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

/// The future of [`Async::readable`] and [`Async::writable`]; any number may wait side by side.
/// Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct Ready<'a, T: AsFd> {
    io: &'a Async<T>,
    direction: Readiness,
    /// This future's place among the waiters, from its first wait on.
    waiter: WaiterKey,
}

impl<T: AsFd> Future for Ready<'_, T> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(reactor::coop::poll_proceed(cx));
        let this = &mut *self;
        this.io.state.poll_ready(this.direction, cx, Some(&mut this.waiter)).map(|_| Ok(()))
    }
}

impl<T: AsFd> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        self.io.state.withdraw(self.direction, &mut self.waiter);
    }
}

impl<T: AsFd> fmt::Debug for Ready<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").field("direction", &self.direction).finish_non_exhaustive()
    }
}

/// The future of [`Async::read_with`] and [`Async::write_with`]; any number may wait side by
/// side. Dropping it withdraws its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct WithReadiness<'a, T: AsFd, F> {
    io: &'a Async<T>,
    direction: Readiness,
    op: F,
    /// This future's place among the waiters, from its first wait on.
    waiter: WaiterKey,
}

// The operation is never pinned: it is only ever called through `&mut`.
impl<T: AsFd, F> Unpin for WithReadiness<'_, T, F> {}

impl<T: AsFd, R, F: FnMut(&T) -> io::Result<R>> Future for WithReadiness<'_, T, F> {
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = self.get_mut();
        this.io.poll_io(this.direction, cx, Some(&mut this.waiter), &mut this.op, |_| false)
    }
}

impl<T: AsFd, F> Drop for WithReadiness<'_, T, F> {
    fn drop(&mut self) {
        self.io.state.withdraw(self.direction, &mut self.waiter);
    }
}

impl<T: AsFd, F> fmt::Debug for WithReadiness<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithReadiness").field("direction", &self.direction).finish_non_exhaustive()
    }
}
