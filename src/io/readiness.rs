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
