//! The notify path through the ring: an eventfd with a multishot poll on it, and the core's
//! flag-plus-edge handshake ([`reactor::io::Handshake`]) answered edge-triggered.
//!
//! [`notify`](Notifier::notify) swaps a `pending` flag to true and writes the eventfd only if it
//! was false, so repeated notifies before the waiter answers cost one atomic swap each and no
//! system call. Every write wakes the eventfd's wait queue, and the multishot poll turns each
//! wake-up into a CQE under [`NOTIFY_KEY`], which ends the `io_uring_enter` the waiter blocks in
//! (or the next one). The waiter answers that CQE with [`on_edge`](Notifier::on_edge), an
//! acquiring swap of the flag back to false, before the executor re-checks its queues; the next
//! notify writes again. The eventfd is never read by the handshake: each write is a new wake-up
//! whatever its counter, as for epoll's edge-triggered registration of it.
//!
//! The handshake is the one `reactor-epoll` answers edge-triggered too, with the epoll set in
//! place of the ring's poll; its loom models (`epoll_notify`) check it, and its only assumption
//! about the kernel (each raise ends a wait in progress or the next one) holds for a multishot
//! poll as for `EPOLLET`.
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use reactor::io::{Edge, Handshake};

/// The user_data of the notifier's poll: a key no registration has.
pub(crate) const NOTIFY_KEY: u64 = reactor::io::Registry::UNUSED_KEYS[1] as u64;

/// The notifier's edge: a non-blocking, close-on-exec eventfd under a multishot poll.
#[derive(Debug)]
struct Eventfd(OwnedFd);

impl Edge for Eventfd {
    /// One write: a wake-up of the eventfd's wait queue, hence a CQE of its poll.
    fn raise(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our own eventfd. A full counter
        // (`EAGAIN`, after 2^64 - 2 writes) leaves it readable, which still wakes the poll
        // when it is re-armed; nothing else can fail for a valid eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// One read, which resets the counter; `false` when it was zero already.
    fn take(&self) -> io::Result<bool> {
        let mut counter = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer from our own non-blocking eventfd.
        let read = unsafe { libc::read(self.0.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
        if read >= 0 {
            return Ok(true); // an eventfd read only succeeds on a non-zero counter
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Ok(false)
        } else {
            Err(error)
        }
    }
}

/// The eventfd and its `pending` flag.
#[derive(Debug)]
pub(crate) struct Notifier {
    handshake: Handshake<Eventfd>,
}

impl Notifier {
    /// A non-blocking, close-on-exec eventfd with nothing pending.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain syscall with no pointers.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `eventfd` just returned this fd and nothing else owns it.
        let eventfd = Eventfd(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(Self { handshake: Handshake::new(eventfd) })
    }

    /// Ends the wait in progress, or makes the next one return at once; from any thread.
    pub(crate) fn notify(&self) {
        self.handshake.notify();
    }

    /// One write to the eventfd, outside the handshake (the multishot probe's own wake-up).
    pub(crate) fn raise(&self) {
        self.handshake.edge().raise();
    }

    /// Answers the notifier's CQE: to be called when the waiter reaps it, before the executor
    /// re-checks what it waits for. The next notify writes again.
    pub(crate) fn on_edge(&self) {
        self.handshake.on_edge();
    }

    /// Takes back the eventfd's counter (after the probe's own write), so that it is not left
    /// readable for nothing.
    pub(crate) fn drain(&self) {
        // An error (none happens for a valid eventfd) only leaves the counter readable: the
        // re-armed poll then reports one wake-up more, which the handshake answers as spurious.
        let _ = self.handshake.edge().take();
    }
}

impl AsFd for Notifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.handshake.edge().0.as_fd()
    }
}
