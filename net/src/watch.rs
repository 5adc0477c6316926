//! [`Watch`]: an fd whose readiness runs a callback on the loop.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::sync::Arc;

use reactor::io::{AsIoHandle, IoHandle, Readiness};
use reactor::sync::Mutex;

use crate::registered::{backend_of, Registered};

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
    /// should read until `WouldBlock`, or it will not be called again for data already there.
    /// For async tasks use [`Async`](crate::Async), which does this bookkeeping.
    ///
    /// On a backend that re-arms ([`IoSource::needs_rearm`](reactor::io::IoSource::needs_rearm):
    /// one-shot registrations, `poll`), the watch re-arms readability after each callback that
    /// was told of it, which is why the callback must have read until `WouldBlock` by then.
    /// Writability is reported once there, after registration: a callback cannot say when it
    /// has filled the buffer, and re-arming a writable fd would report it again at once, in a
    /// loop. Wait for writability with [`Async::writable`](crate::Async::writable) instead.
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
        if !backend.source().needs_rearm() {
            return Ok(Self { registered: Registered::new(io, &backend, Box::new(callback))? });
        }
        let rearm = Arc::new(Mutex::new(Rearm::default()));
        let callback = rearming(callback, rearm.clone());
        let registered = Registered::new(io, &backend, callback)?;
        let registration = registered.registration();
        let mut rearm = rearm.lock();
        rearm.target = Some((backend.clone(), registration.fd_number(), registration.key()));
        let missed = std::mem::replace(&mut rearm.missed, Readiness::NONE);
        if missed != Readiness::NONE {
            registration.rearm(missed)?;
        }
        drop(rearm);
        Ok(Self { registered })
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

/// How a watch on a re-arming backend re-arms from inside its callback.
#[derive(Default)]
struct Rearm {
    /// The registration, once `register` has returned.
    target: Option<(IoHandle, RawFd, usize)>,
    /// Directions a callback that ran before then could not re-arm.
    missed: Readiness,
}

/// `callback`, followed by re-arming the readability it was told of (see [`Watch::new`]).
fn rearming(
    mut callback: impl FnMut(Readiness) + Send + 'static,
    rearm: Arc<Mutex<Rearm>>,
) -> Box<dyn FnMut(Readiness) + Send> {
    Box::new(move |readiness| {
        callback(readiness);
        if !readiness.is_readable() {
            return;
        }
        let mut rearm = rearm.lock();
        match &rearm.target {
            Some((backend, fd, key)) => {
                // SAFETY: a callback runs only while its registration is live (the registry
                // guarantees none runs once deregistration returns), and the `Watch` keeps its
                // fd open until it has deregistered.
                let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
                // A failure leaves the fd unwatched; there is nobody to tell from here, as with
                // an epoll registration whose fd the kernel dropped.
                let _ = backend.source().rearm(fd, *key, Readiness::READABLE);
            }
            None => rearm.missed = rearm.missed | Readiness::READABLE,
        }
    })
}
