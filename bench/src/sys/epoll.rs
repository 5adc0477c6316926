//! A minimal level-triggered epoll instance, written directly on the syscalls: the load
//! generator and the raw echo server both use it, so the floor involves no runtime at all.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::sys::check;

/// An epoll instance; each registered fd carries a `u64` key chosen by the caller.
#[derive(Debug)]
pub(crate) struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    /// A new instance able to return up to `capacity` events per wait.
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        // SAFETY: plain syscall with a valid flag.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: epoll_create1 succeeded, so `fd` is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd, events: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)] })
    }

    /// Watches `fd` for readability (level-triggered), reporting it under `key`.
    pub(crate) fn add_readable(&self, fd: RawFd, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: key };
        // SAFETY: both fds are open (the caller keeps `fd` open while registered); `event` is a
        // valid epoll_event.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) })?;
        Ok(())
    }

    /// Stops watching `fd`.
    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: both fds are open; a null event is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        check(unsafe {
            libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut())
        })?;
        Ok(())
    }

    /// Blocks until at least one fd is ready and replaces `keys` with the keys of the ready fds.
    pub(crate) fn wait(&mut self, keys: &mut Vec<u64>) -> io::Result<()> {
        let capacity = libc::c_int::try_from(self.events.len()).unwrap_or(libc::c_int::MAX);
        let ready = loop {
            // SAFETY: `events` is a writable buffer of at least `capacity` entries.
            let result =
                unsafe { libc::epoll_wait(self.fd.as_raw_fd(), self.events.as_mut_ptr(), capacity, -1) };
            match check(result) {
                Ok(ready) => break ready as usize,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        keys.clear();
        keys.extend(self.events[..ready].iter().map(|event| event.u64));
        Ok(())
    }
}
