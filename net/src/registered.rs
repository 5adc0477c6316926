//! An owned I/O object registered with an I/O backend: the I/O-safety half shared by
//! [`Async`](crate::Async) and [`Watch`].

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use reactor::io::{AsIoHandle, IoHandle, IoRegistration, Readiness};

use crate::sys;

/// The I/O backend of `source`, or a `NotFound` error naming `caller`.
pub(crate) fn backend_of(source: &(impl AsIoHandle + ?Sized), caller: &str) -> io::Result<IoHandle> {
    source.io_handle().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{caller} was given a source with no I/O backend (an Epoll, a PollingSource or your own IoSource)"),
        )
    })
}

/// The I/O backend of the executor running the current task, or a `NotFound` error naming
/// `caller`.
pub(crate) fn current_backend(caller: &str) -> io::Result<IoHandle> {
    IoHandle::current().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{caller} found no I/O backend: call it inside an executor whose source has one \
                 (an Epoll, a PollingSource, a Runtime), or pass one explicitly (with_source, \
                 from_std)"
            ),
        )
    })
}

/// Owns an I/O object and its registration; deregisters before the fd can close.
///
/// Dropping it waits for the callback if it is running on another thread, so never drop it
/// while holding a lock that the callback takes.
pub(crate) struct Registered<T: AsFd> {
    /// Declared first, so dropped (deregistered) before `io` can close the fd.
    registration: IoRegistration,
    io: T,
}

impl<T: AsFd> Registered<T> {
    /// Registers `io` with `backend` and puts it in non-blocking mode.
    ///
    /// # Errors
    ///
    /// The backend's errors of registering, or of setting non-blocking mode.
    pub(crate) fn new(
        io: T,
        backend: &IoHandle,
        callback: Box<dyn FnMut(Readiness) + Send>,
    ) -> io::Result<Self> {
        // SAFETY: `Self` owns `io` (or a borrow that outlives `Self`) and deregisters before
        // `io` can be dropped (in `into_inner`, and in its drop, where `registration` is
        // dropped first), so the fd registered here stays open until then. (A type that closes it while it lives, which `AsFd` does not
        // forbid, only gets an error from `deregister`, or takes a reuse of the fd number out of
        // the backend's set: a lost registration, never memory unsafety, and keys are
        // generation-checked, so no event reaches another callback.)
        let registration = unsafe { backend.register(io.as_fd(), callback) }?;
        let this = Self { registration, io };
        sys::set_nonblocking(this.io.as_fd().as_raw_fd())?;
        Ok(this)
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    pub(crate) fn registration(&self) -> &IoRegistration {
        &self.registration
    }

    /// Deregisters and returns the I/O object.
    pub(crate) fn into_inner(self) -> io::Result<T> {
        let Self { registration, io } = self;
        registration.deregister()?;
        Ok(io)
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Registered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// An I/O object whose readiness runs a callback on the loop, instead of waking a task.
///
/// Dropping it deregisters: once the drop returns, the callback never runs again. The drop
/// waits for the callback if it is running on another thread (from inside the callback it
/// returns at once), so never drop it while holding a lock that the callback takes.
pub struct Watch<T: AsFd> {
    registered: Registered<T>,
}

impl<T: AsFd> Watch<T> {
    /// Registers `io` with the I/O backend of `source` and runs `callback` on the loop (inside
    /// the backend's [`wait`](reactor::EventSource::wait)) each time it becomes readable or
    /// writable; the fd is put in non-blocking mode.
    ///
    /// The callback hears of each change once (edge-triggered, see [`reactor::io`]), so it
    /// should read (or write) until `WouldBlock`, or it will not be called again for data already
    /// there. For async tasks use [`Async`](crate::Async), which does this bookkeeping.
    ///
    /// # Errors
    ///
    /// - `NotFound` if `source` has no I/O backend;
    /// - the backend's errors of adding the fd (epoll, and the portable backend on Linux:
    ///   `AlreadyExists` for an fd registered already, `Unsupported` for a regular file or a
    ///   directory, `InvalidInput` for a closed fd);
    /// - the error of setting non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::sync::mpsc;
    /// use reactor::EventSource;
    /// use reactor_epoll::Epoll;
    /// use reactor_net::Watch;
    ///
    /// let epoll = Epoll::new()?;
    /// let (reader, mut writer) = UnixStream::pair()?;
    /// let (received, messages) = mpsc::channel();
    /// let watch = Watch::new(reader.try_clone()?, &epoll, move |readiness| {
    ///     let mut buf = [0; 16];
    ///     while readiness.is_readable() {
    ///         match (&reader).read(&mut buf) {
    ///             Ok(len) if len > 0 => received.send(buf[..len].to_vec()).unwrap(),
    ///             _ => break, // EOF, or drained (WouldBlock)
    ///         }
    ///     }
    /// })?;
    /// writer.write_all(b"hi")?;
    /// epoll.wait(None)?; // runs the callback
    /// assert_eq!(messages.try_recv().unwrap(), b"hi");
    /// drop(watch); // deregisters
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(
        io: T,
        source: &(impl AsIoHandle + ?Sized),
        callback: impl FnMut(Readiness) + Send + 'static,
    ) -> io::Result<Self> {
        let backend = backend_of(source, "Watch::new")?;
        Ok(Self { registered: Registered::new(io, &backend, Box::new(callback))? })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.registered.get_ref()
    }

    /// Deregisters the I/O object and returns it (still in non-blocking mode). The callback
    /// never runs again.
    ///
    /// # Errors
    ///
    /// The backend's error of deleting the fd, which does not happen for a valid registration.
    pub fn into_inner(self) -> io::Result<T> {
        self.registered.into_inner()
    }
}

impl<T: AsFd> AsFd for Watch<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Watch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").field("io", &self.registered).finish()
    }
}
