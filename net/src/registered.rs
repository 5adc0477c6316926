//! An owned I/O object registered with an I/O backend: the I/O-safety half shared by
//! [`Async`](crate::Async) and [`Watch`](crate::Watch), and how both find their backend.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

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
