//! What a watch reports: [`Event`], its [`Mask`], and decoding the kernel's event records.

use std::ffi::OsStr;
use std::fmt;
use std::mem;
use std::ops::BitOr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A set of inotify event kinds: what a watch asks for, and what an event is.
///
/// Built from the constants with `|`, so it is never empty and holds only kinds the kernel knows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mask(u32);

impl Mask {
    /// A file or directory was created in the watched directory.
    pub(crate) const CREATE: Self = Self(libc::IN_CREATE);
    /// A file was written to.
    pub(crate) const MODIFY: Self = Self(libc::IN_MODIFY);
    /// A file or directory was deleted from the watched directory.
    pub(crate) const DELETE: Self = Self(libc::IN_DELETE);
    /// The watch ended: it was removed, or the watched path was deleted or unmounted. Always
    /// reported, whatever the watch asked for; it is the last event of its watch.
    pub(crate) const IGNORED: Self = Self(libc::IN_IGNORED);
    /// Events were lost: the kernel's queue (`fs.inotify.max_queued_events`) or a stream's
    /// buffer overflowed. Always reported, with no name.
    pub(crate) const OVERFLOW: Self = Self(libc::IN_Q_OVERFLOW);

    /// The kinds the kernel reports to every watch, asked for or not.
    const ALWAYS: Self = Self(libc::IN_IGNORED | libc::IN_Q_OVERFLOW | libc::IN_UNMOUNT);

    /// The raw bits, as `inotify_add_watch(2)` takes them.
    pub(super) fn bits(self) -> u32 {
        self.0
    }

    /// Whether every kind in `other` is in `self`.
    pub(crate) fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a watch asking for `self` is to be told about an event of kind `event`.
    pub(super) fn wants(self, event: Self) -> bool {
        (self.0 | Self::ALWAYS.0) & event.0 != 0
    }
}

impl BitOr for Mask {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Names of the kernel's event bits, for `Debug`; a bit it adds later prints in hex.
const NAMES: [(u32, &str); 16] = [
    (libc::IN_ACCESS, "ACCESS"),
    (libc::IN_MODIFY, "MODIFY"),
    (libc::IN_ATTRIB, "ATTRIB"),
    (libc::IN_CLOSE_WRITE, "CLOSE_WRITE"),
    (libc::IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"),
    (libc::IN_OPEN, "OPEN"),
    (libc::IN_MOVED_FROM, "MOVED_FROM"),
    (libc::IN_MOVED_TO, "MOVED_TO"),
    (libc::IN_CREATE, "CREATE"),
    (libc::IN_DELETE, "DELETE"),
    (libc::IN_DELETE_SELF, "DELETE_SELF"),
    (libc::IN_MOVE_SELF, "MOVE_SELF"),
    (libc::IN_UNMOUNT, "UNMOUNT"),
    (libc::IN_Q_OVERFLOW, "OVERFLOW"),
    (libc::IN_IGNORED, "IGNORED"),
    (libc::IN_ISDIR, "ISDIR"),
];

impl fmt::Debug for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut separator = "";
        for (bit, name) in NAMES {
            if rest & bit != 0 {
                write!(f, "{separator}{name}")?;
                separator = " | ";
                rest &= !bit;
            }
        }
        if rest != 0 {
            write!(f, "{separator}{rest:#x}")?;
        }
        Ok(())
    }
}

/// One inotify event, as a watch's callback or stream receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// What happened (`CREATE`, `MODIFY`, ..., plus `ISDIR` when the subject is a directory).
    pub(crate) mask: Mask,
    /// The entry of the watched directory it happened to; `None` when it happened to the watched
    /// path itself (a watched file modified, the watch ended, an overflow).
    pub(crate) name: Option<PathBuf>,
}

/// One record of the kernel's event stream, before it is matched to its watches.
pub(super) struct Record {
    /// The watch descriptor, or -1 for a queue overflow, which concerns every watch.
    pub(super) wd: i32,
    pub(super) event: Event,
}

/// The size of `struct inotify_event` without its name: `wd`, `mask`, `cookie` and `len`.
const HEADER: usize = mem::size_of::<libc::inotify_event>();

/// Decodes the records in `bytes`, as one `read(2)` of an inotify descriptor returned them.
///
/// Each record is the header (native-endian `i32 wd`, `u32 mask`, `u32 cookie`, `u32 len`)
/// followed by `len` bytes of name, NUL-padded. The kernel only returns whole records; a
/// truncated one would end the iteration.
pub(super) fn records(mut bytes: &[u8]) -> impl Iterator<Item = Record> + '_ {
    std::iter::from_fn(move || {
        let (header, rest) = bytes.split_first_chunk::<HEADER>()?;
        let name_len = usize::try_from(u32::from_ne_bytes(field(header, 12))).ok()?;
        let name = rest.get(..name_len)?;
        bytes = &rest[name_len..];
        let name = name.split(|&byte| byte == 0).next().filter(|name| !name.is_empty());
        Some(Record {
            wd: i32::from_ne_bytes(field(header, 0)),
            event: Event {
                mask: Mask(u32::from_ne_bytes(field(header, 4))),
                name: name.map(|name| PathBuf::from(OsStr::from_bytes(name))),
            },
        })
    })
}

/// The 4-byte field at `offset` of a record header.
fn field(header: &[u8; HEADER], offset: usize) -> [u8; 4] {
    [header[offset], header[offset + 1], header[offset + 2], header[offset + 3]]
}
