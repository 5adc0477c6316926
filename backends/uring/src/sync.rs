#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // `Bug`: public to the loom models only
//! The loom shim of the crate: its locks come from `reactor::sync`, which becomes
//! loom's in the model build (`--cfg reactor_loom --cfg loom`), and the seeded bugs of its
//! negative controls.

pub(crate) use reactor::sync::Mutex;

/// The seeded-bug switch (see `reactor::sync::seeded_bug`): in the model build a test switches a
/// [`Bug`] on for its own thread; elsewhere `is_active` is a constant `false`.
pub(crate) mod seeded_bug {
    pub(crate) use reactor::sync::seeded_bug::is_active;
}

/// A bug the crate can be told to contain, for the negative controls of the loom models in
/// `loom-tests/` (switch one on with `reactor::sync::seeded_bug::with`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bug {
    /// `Polls::complete` decides to re-arm an ended poll ("is the key live?") under the lock,
    /// lets it go, and pushes the `POLL_ADD` under it again: a delete in between finds no poll
    /// to remove and returns, and the re-arm then arms a poll for the deleted registration.
    RearmChecksOutsideLock,
    /// A `POLL_REMOVE` refused with `-EALREADY` (the kernel was processing a wake-up of the
    /// poll) is not retried: the poll stays armed on the deleted registration's fd.
    RemoveNotRetried,
}
