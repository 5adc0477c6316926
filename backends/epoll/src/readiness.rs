//! Which directions of an fd are ready.

/// Which directions an fd is ready in, as reported by one epoll event.
///
/// A hang-up or an error makes both directions ready, so that the next read or write runs and
/// reports the EOF or the error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness(u8);

impl Readiness {
    /// A read would not block (data, EOF, an error or a pending connection).
    pub const READABLE: Self = Self(1);
    /// A write would not block (buffer space, a completed connect, an error).
    pub const WRITABLE: Self = Self(2);
    /// The peer hung up or the fd failed: reads return EOF or the error from now on, so a short
    /// read does not mean that the next one would block (see `IoState::clear_drained`).
    pub(crate) const READ_CLOSED: Self = Self(4);

    /// The readiness of an epoll event's flags. Hang-up and error count as both directions, so
    /// that a pending read or write runs and sees the EOF or the error.
    pub(crate) fn from_epoll(flags: u32) -> Self {
        let both = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
        let read = (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP) as u32 | both;
        let write = libc::EPOLLOUT as u32 | both;
        let mut readiness = Self(0);
        if flags & read != 0 {
            readiness = readiness | Self::READABLE;
        }
        if flags & write != 0 {
            readiness = readiness | Self::WRITABLE;
        }
        if flags & (libc::EPOLLRDHUP as u32 | both) != 0 {
            readiness = readiness | Self::READ_CLOSED;
        }
        readiness
    }

    /// Whether a read would not block.
    pub fn is_readable(self) -> bool {
        self.contains(Self::READABLE)
    }

    /// Whether a write would not block.
    pub fn is_writable(self) -> bool {
        self.contains(Self::WRITABLE)
    }

    /// Whether every direction of `other` is ready in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the directions of `other` not ready.
    pub(crate) fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}
