//! An owned I/O object registered with an [`Epoll`]: the I/O-safety half shared by
//! [`Async`](crate::Async) and [`Watch`].

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::epoll::{Epoll, Registration};
use crate::readiness::Readiness;
use crate::sys;

/// Owns an I/O object and its registration; deregisters before the fd can close.
///
/// Dropping it waits for the callback if it is running on another thread, so never drop it
/// while holding a lock that the callback takes.
pub(crate) struct Registered<T: AsFd> {
    /// `None` only after `into_inner` took it.
    io: Option<T>,
    registration: Registration,
}

impl<T: AsFd> Registered<T> {
    /// Registers `io` with `epoll` and puts it in non-blocking mode.
    ///
    /// # Errors
    ///
    /// The errors of registering (see [`Epoll::watch`]), or of setting non-blocking mode.
    pub(crate) fn new(io: T, epoll: &Epoll, callback: Box<dyn FnMut(Readiness) + Send>) -> io::Result<Self> {
        // SAFETY: `Self` owns `io` (or a borrow that outlives `Self`) and calls `deregister`
        // in `Drop` and `into_inner`, before `io` can be dropped, so the fd registered here
        // stays open until then. (A type that closes it while it lives, which `AsFd` does not
        // forbid, only gets an error from `deregister`, or takes a reuse of the fd number out of
        // this epoll set: a lost registration, never memory unsafety, and keys are
        // generation-checked, so no event reaches another callback.)
        let registration = unsafe { epoll.register(io.as_fd(), callback) }?;
        let this = Self { io: Some(io), registration };
        sys::set_nonblocking(this.get_ref().as_fd().as_raw_fd())?;
        Ok(this)
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("the I/O object is only taken by `into_inner`, which consumes self")
    }

    pub(crate) fn source(&self) -> &Epoll {
        self.registration.epoll()
    }

    /// Deregisters and returns the I/O object.
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("the I/O object is only taken by `into_inner`, which consumes self");
        self.registration.deregister()?;
        Ok(io)
    }
}

impl<T: AsFd> Drop for Registered<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            // Cannot fail for a live registration; there is nobody to report to in a drop.
            let _ = self.registration.deregister();
        }
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Registered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// An I/O object whose readiness runs a callback on the loop; see [`Epoll::watch`].
///
/// Dropping it deregisters: once the drop returns, the callback never runs again. The drop
/// waits for the callback if it is running on another thread (from inside the callback it
/// returns at once), so never drop it while holding a lock that the callback takes.
pub struct Watch<T: AsFd> {
    registered: Registered<T>,
}

impl<T: AsFd> Watch<T> {
    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.registered.get_ref()
    }

    /// Deregisters the I/O object and returns it (still in non-blocking mode). The callback
    /// never runs again.
    ///
    /// # Errors
    ///
    /// The error of `epoll_ctl(EPOLL_CTL_DEL)`, which does not happen for a valid registration.
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

impl Epoll {
    /// Registers `io` and runs `callback` on the loop (inside [`wait`](reactor::EventSource::wait))
    /// each time it becomes readable or writable; the fd is put in non-blocking mode.
    ///
    /// The registration is edge-triggered: the callback hears of each change once, so it should
    /// read (or write) until `WouldBlock`, or it will not be called again for data already
    /// there. For async tasks use [`Async`](crate::Async), which does this bookkeeping.
    ///
    /// # Errors
    ///
    /// - `AlreadyExists` if the fd is registered with this source already;
    /// - `Unsupported` for a regular file or a directory, which epoll cannot watch;
    /// - `InvalidInput` for a closed or invalid fd;
    /// - the error of setting non-blocking mode, or of `epoll_ctl`, otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use std::sync::mpsc;
    /// use reactor::EventSource;
    /// use reactor_epoll::Epoll;
    ///
    /// let epoll = Epoll::new()?;
    /// let (reader, mut writer) = UnixStream::pair()?;
    /// let (received, messages) = mpsc::channel();
    /// let watch = epoll.watch(reader.try_clone()?, move |readiness| {
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
    pub fn watch<T: AsFd>(
        &self,
        io: T,
        callback: impl FnMut(Readiness) + Send + 'static,
    ) -> io::Result<Watch<T>> {
        Ok(Watch { registered: Registered::new(io, self, Box::new(callback))? })
    }
}
