//! The registration table: which callback an epoll event belongs to.
//!
//! Each registered fd gets a slot in a slab. Its epoll key packs the slot index with the slot's
//! generation, which is bumped every time the slot is freed, so an event that was already queued
//! in the kernel for a deregistered fd (and then delivered after its slot was reused) names an
//! old generation and is ignored instead of reaching the new registration.

use std::fmt;
use std::io;

use reactor::source::CallbackSlot;

use crate::sync::Arc;

/// Bits of a key that hold the slot index; the rest hold the generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slot indices stop below this, so that no key equals [`NOTIFY_KEY`] or polling's own
/// `usize::MAX`.
const MAX_SLOTS: usize = INDEX_MASK - 1;

/// The key of the source's own notification eventfd: never a registration's key.
pub(crate) const NOTIFY_KEY: usize = usize::MAX - 1;

/// Which directions an fd is ready in, as reported by one epoll event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Readiness(u8);

impl Readiness {
    pub(crate) const READABLE: Self = Self(1);
    pub(crate) const WRITABLE: Self = Self(2);

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
        readiness
    }

    pub(crate) fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

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

/// What runs when a registered fd becomes ready.
pub(crate) type Callback = dyn FnMut(Readiness) + Send;

/// One registration's callback, shared between the table and the handle that removes it.
pub(crate) struct Entry {
    pub(crate) callback: CallbackSlot<Callback>,
}

impl Entry {
    pub(crate) fn new(callback: Box<Callback>) -> Arc<Self> {
        Arc::new(Self { callback: CallbackSlot::new(callback) })
    }
}

/// A slab of registrations addressed by generation-checked keys.
#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Slot>,
    /// Indices of free slots.
    free: Vec<usize>,
}

#[derive(Default)]
struct Slot {
    /// Bumped (wrapping) each time the slot is freed.
    generation: usize,
    entry: Option<Arc<Entry>>,
}

impl Table {
    /// Stores `entry`; returns its key.
    ///
    /// # Errors
    ///
    /// `OutOfMemory` if every slot index is taken (2^31 - 2 registrations on 64-bit targets).
    pub(crate) fn insert(&mut self, entry: Arc<Entry>) -> io::Result<usize> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < MAX_SLOTS => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "the epoll source has no registration slot left",
                ))
            }
        };
        let slot = &mut self.slots[index];
        slot.entry = Some(entry);
        Ok(index | (slot.generation << INDEX_BITS))
    }

    /// The entry registered under `key`, unless it was removed since.
    pub(crate) fn get(&self, key: usize) -> Option<&Arc<Entry>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        if slot.generation != key >> INDEX_BITS {
            return None;
        }
        slot.entry.as_ref()
    }

    /// Removes the entry registered under `key`; a stale key removes nothing.
    pub(crate) fn remove(&mut self, key: usize) -> Option<Arc<Entry>> {
        self.get(key)?;
        let index = key & INDEX_MASK;
        let slot = &mut self.slots[index];
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        self.free.push(index);
        slot.entry.take()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("registrations", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Arc<Entry> {
        Entry::new(Box::new(|_| {}))
    }

    #[test]
    fn a_stale_key_finds_nothing_after_its_slot_is_reused() {
        let mut table = Table::default();
        let old = table.insert(entry()).unwrap();
        assert!(table.remove(old).is_some());
        let new = table.insert(entry()).unwrap();
        assert_eq!(new & INDEX_MASK, old & INDEX_MASK, "the slot is reused");
        assert!(table.get(old).is_none());
        assert!(table.remove(old).is_none());
        assert!(table.get(new).is_some());
    }

    #[test]
    fn no_key_collides_with_the_notify_key() {
        let mut table = Table::default();
        let key = table.insert(entry()).unwrap();
        assert_ne!(key, NOTIFY_KEY);
        assert!(table.get(NOTIFY_KEY).is_none());
        assert!(table.get(usize::MAX).is_none());
    }

    #[test]
    fn hang_up_makes_both_directions_ready() {
        let readiness = Readiness::from_epoll(libc::EPOLLHUP as u32);
        assert!(readiness.contains(Readiness::READABLE | Readiness::WRITABLE));
        assert_eq!(Readiness::from_epoll(libc::EPOLLOUT as u32), Readiness::WRITABLE);
    }
}
