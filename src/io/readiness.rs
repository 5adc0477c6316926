//! Which directions of an fd are ready.

/// Which directions an fd is ready in, as one event of an I/O backend reports it.
///
/// A backend reports a hang-up or an error as both directions ready (and [`READ_CLOSED`]), so
/// that the next read or write runs and reports the EOF or the error.
///
/// [`READ_CLOSED`]: Self::READ_CLOSED
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness(u8);

impl Readiness {
    /// A read would not block (data, EOF, an error or a pending connection).
    pub const READABLE: Self = Self(1);
    /// A write would not block (buffer space, a completed connect, an error).
    pub const WRITABLE: Self = Self(2);
    /// The peer hung up or the fd failed: reads return EOF or the error from now on, so a short
    /// read does not mean that the next one would block (see [`IoState::clear_drained`]).
    ///
    /// [`IoState::clear_drained`]: super::IoState::clear_drained
    pub const READ_CLOSED: Self = Self(4);

    /// No direction.
    pub const NONE: Self = Self(0);

    /// The readiness of one OS event, from what it reported, already decoded from the OS's own
    /// flags (`poll`'s `revents`, epoll's `events`, a poll CQE's result; the same bits on Linux):
    ///
    /// - `readable`: data or a pending connection (`POLLIN`, `POLLPRI`): [`READABLE`].
    /// - `writable`: buffer space or a completed connect (`POLLOUT`): [`WRITABLE`].
    /// - `read_hang_up`: the peer shut its writing half down (`POLLRDHUP`): [`READABLE`] and
    ///   [`READ_CLOSED`], so a read runs and sees the EOF.
    /// - `hang_up`: the fd hung up or failed (`POLLHUP`, `POLLERR`): every direction and
    ///   [`READ_CLOSED`], so that a pending read or write runs and sees the EOF or the error.
    ///
    /// ```
    /// use reactor::io::Readiness;
    ///
    /// let data_and_eof = Readiness::from_event(true, false, true, false);
    /// assert_eq!(data_and_eof, Readiness::READABLE | Readiness::READ_CLOSED);
    /// let error = Readiness::from_event(false, false, false, true);
    /// assert!(error.is_readable() && error.is_writable() && error.contains(Readiness::READ_CLOSED));
    /// ```
    ///
    /// [`READABLE`]: Self::READABLE
    /// [`WRITABLE`]: Self::WRITABLE
    /// [`READ_CLOSED`]: Self::READ_CLOSED
    pub fn from_event(readable: bool, writable: bool, read_hang_up: bool, hang_up: bool) -> Self {
        let mut readiness = Self::NONE;
        if readable || read_hang_up || hang_up {
            readiness = readiness | Self::READABLE;
        }
        if writable || hang_up {
            readiness = readiness | Self::WRITABLE;
        }
        if read_hang_up || hang_up {
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
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl std::ops::BitAnd for Readiness {
    type Output = Self;

    /// The directions ready in both.
    fn bitand(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Readiness;

    #[test]
    fn each_reported_condition_maps_to_the_directions_it_wakes() {
        let (r, w, closed) = (Readiness::READABLE, Readiness::WRITABLE, Readiness::READ_CLOSED);
        assert_eq!(Readiness::from_event(false, false, false, false), Readiness::NONE);
        assert_eq!(Readiness::from_event(true, false, false, false), r);
        assert_eq!(Readiness::from_event(false, true, false, false), w);
        assert_eq!(Readiness::from_event(false, false, true, false), r | closed);
        assert_eq!(Readiness::from_event(false, false, false, true), r | w | closed);
        assert_eq!(Readiness::from_event(false, true, true, false), r | w | closed);
    }
}
