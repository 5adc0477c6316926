//! The errors of the broadcast channel's receives (its send reuses [`SendError`](crate::SendError)).

use std::error::Error;
use std::fmt;

/// [`Receiver::recv`](super::Receiver::recv) found no message for this receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and this receiver has received every message kept for it: none will
    /// ever arrive.
    Closed,
    /// This receiver fell behind by more than the channel's capacity: the number inside is how
    /// many messages it missed. Its next receive returns the oldest message the channel still
    /// keeps.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("receiving on a closed broadcast channel"),
            Self::Lagged(missed) => write!(f, "receiver lagged and missed {missed} messages"),
        }
    }
}

impl Error for RecvError {}

/// [`Receiver::try_recv`](super::Receiver::try_recv) found no message for this receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message is waiting for this receiver now; one may arrive later.
    Empty,
    /// Every sender is gone and this receiver has received every message kept for it.
    Closed,
    /// This receiver missed the number of messages inside (see [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("receiving on an empty broadcast channel"),
            Self::Closed => f.write_str("receiving on a closed broadcast channel"),
            Self::Lagged(missed) => write!(f, "receiver lagged and missed {missed} messages"),
        }
    }
}

impl Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(error: RecvError) -> Self {
        match error {
            RecvError::Closed => Self::Closed,
            RecvError::Lagged(missed) => Self::Lagged(missed),
        }
    }
}

/// The error item of the broadcast [`Receiver`](super::Receiver)'s `Stream`: the receiver
/// missed the number of messages inside, and the next item is the oldest message the channel
/// still keeps (tokio's `BroadcastStreamRecvError::Lagged`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged(pub u64);

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "receiver lagged and missed {} messages", self.0)
    }
}

impl Error for Lagged {}
