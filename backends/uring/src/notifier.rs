//! The notify path through the ring: an eventfd with a multishot poll on it, and the
//! flag-plus-eventfd handshake of `reactor-epoll`'s `FdNotifier` (answered edge-triggered).
//!
//! [`notify`](Notifier::notify) swaps a `pending` flag to true and writes the eventfd only if it
//! was false, so repeated notifies before the waiter answers cost one atomic swap each and no
//! system call. Every write wakes the eventfd's wait queue, and the multishot poll turns each
//! wake-up into a CQE under [`NOTIFY_KEY`], which ends the `io_uring_enter` the waiter blocks in
//! (or the next one). The waiter answers that CQE with [`on_edge`](Notifier::on_edge), an
//! acquiring swap of the flag back to false, before the executor re-checks its queues; the next
//! notify writes again. The eventfd is never read: each write is a new wake-up whatever its
//! counter, as for epoll's edge-triggered registration of it.
//!
//! This is `reactor-epoll`'s `Handshake::on_edge` protocol with the epoll set replaced by the
//! ring's poll; its loom models (`epoll_notify`) check the protocol, whose only assumption about
//! the kernel (each write ends a wait in progress or the next one) holds for a multishot poll as
//! for `EPOLLET`.
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::sync::atomic::{AtomicBool, Ordering};

/// The user_data of the notifier's poll: a key no registration has.
pub(crate) const NOTIFY_KEY: u64 = reactor::io::Registry::UNUSED_KEYS[1] as u64;

/// The eventfd and its `pending` flag.
pub(crate) struct Notifier {
    /// Whether a write was made (or is about to be) that the waiter has not answered yet.
    pending: AtomicBool,
    eventfd: OwnedFd,
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
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { pending: AtomicBool::new(false), eventfd })
    }

    /// Ends the wait in progress, or makes the next one return at once; from any thread.
    pub(crate) fn notify(&self) {
        // AcqRel: Release publishes the caller's writes to the waiter's clearing swap (Acquire);
        // a read-modify-write, so it reads the latest value and never takes a notification the
        // waiter already answered for a pending one.
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.raise();
        }
    }

    /// One write to the eventfd: a wake-up of its wait queue, hence a CQE of its poll.
    pub(crate) fn raise(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our own eventfd. A full counter
        // (`EAGAIN`, after 2^64 - 2 writes) leaves it readable, which still wakes the poll
        // when it is re-armed; nothing else can fail for a valid eventfd.
        unsafe { libc::write(self.eventfd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Answers the notifier's CQE: to be called when the waiter reaps it, before the executor
    /// re-checks what it waits for. The next notify writes again.
    pub(crate) fn on_edge(&self) {
        // Acquire: the writes of every notify coalesced into this wake-up are visible to the
        // re-check that follows (each notify's swap is a read-modify-write heading a release
        // sequence that this swap reads from; see `reactor_epoll::FdNotifier`).
        self.pending.swap(false, Ordering::Acquire);
    }

    /// Takes back the eventfd's counter (after the probe's own write), so that it is not left
    /// readable for nothing.
    pub(crate) fn drain(&self) {
        let mut counter = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer from our own non-blocking eventfd;
        // `EAGAIN` (nothing to read) is fine.
        unsafe { libc::read(self.eventfd.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
    }
}

impl AsFd for Notifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.eventfd.as_fd()
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier").field("eventfd", &self.eventfd).finish_non_exhaustive()
    }
}
