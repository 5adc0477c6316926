//! [`Epoll::watch`]: a callback on the loop for an fd's readiness.

use std::io;
use std::os::fd::AsFd;

use reactor::io::Readiness;
use reactor_net::Watch;

use crate::Epoll;

impl Epoll {
    /// Registers `io` and runs `callback` on the loop (inside [`wait`](reactor::EventSource::wait))
    /// each time it becomes readable or writable; the fd is put in non-blocking mode. The same
    /// as [`Watch::new`] with this source.
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
        Watch::new(io, self.io_handle(), callback)
    }
}
