//! The registry: which callback an epoll event belongs to, and the guarantee that a removed
//! callback never runs again.
//!
//! Each registered fd gets a slot in a slab. Its epoll key packs the slot index with the slot's
//! generation, which is bumped every time the slot is freed, so an event that was already queued
//! in the kernel for a deregistered fd (and then delivered after its slot was reused) names an
//! old generation and is ignored instead of reaching the new registration.
//!
//! Dispatch looks the keys up under the table lock, then runs the callbacks outside it (so that a
//! callback may register or deregister). Removal takes the entry out of the table, then removes
//! its [`CallbackSlot`], which waits for a call already in progress: a dispatch that looked the
//! entry up before the removal finds the slot empty or finishes before `remove` returns.
#![cfg_attr(not(reactor_loom), allow(unreachable_pub))] // public only for the loom models

use std::fmt;
use std::io;

use reactor::source::CallbackSlot;

use crate::readiness::Readiness;
use crate::sync::{Arc, Mutex};

/// Bits of a key that hold the slot index; the rest hold the generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slot indices stop below this, so that no key equals [`NOTIFY_KEY`] or polling's own
/// `usize::MAX`.
const MAX_SLOTS: usize = INDEX_MASK - 1;

/// The key of the epoll source's own notification eventfd: never a registration's key.
pub(crate) const NOTIFY_KEY: usize = usize::MAX - 1;

/// What runs when a registered fd becomes ready.
pub(crate) type Callback = dyn FnMut(Readiness) + Send;

/// Registered callbacks by key.
#[derive(Default)]
pub struct Registry {
    table: Mutex<Table>,
}

/// Scratch space of [`Registry::dispatch`], reused from one wait to the next.
#[derive(Default)]
pub struct DispatchBuffer {
    /// Entries found live for the events of one dispatch, with their readiness.
    ready: Vec<(Arc<Entry>, Readiness)>,
}

/// One registration's callback, shared between the table and a dispatch in progress.
struct Entry {
    callback: CallbackSlot<Callback>,
}

impl Registry {
    /// Registers `callback`; returns its key.
    ///
    /// # Errors
    ///
    /// `OutOfMemory` if every slot index is taken (2^32 - 2 registrations on 64-bit targets).
    pub fn insert(&self, callback: Box<Callback>) -> io::Result<usize> {
        let entry = Arc::new(Entry { callback: CallbackSlot::new(callback) });
        self.table.lock().insert(entry)
    }

    /// Removes the registration under `key`. Once this returns its callback never runs again: a
    /// call in progress on another thread is waited for; one on this thread (the callback
    /// removing itself) finishes right after. A stale key removes nothing.
    pub fn remove(&self, key: usize) {
        let entry = self.table.lock().remove(key);
        if let Some(entry) = entry {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::RemoveSkipsCallbackSlot) {
                return;
            }
            entry.callback.remove();
        }
    }

    /// Runs the callback of each `(key, readiness)` event whose registration is still live;
    /// returns how many ran.
    pub fn dispatch(
        &self,
        events: impl Iterator<Item = (usize, Readiness)>,
        buffer: &mut DispatchBuffer,
    ) -> usize {
        {
            let table = self.table.lock();
            let live = events.filter_map(|(key, readiness)| Some((table.get(key)?.clone(), readiness)));
            buffer.ready.extend(live);
        }
        buffer
            .ready
            .drain(..)
            .filter(|(entry, readiness)| entry.callback.call(|callback| callback(*readiness)).is_some())
            .count()
    }

    /// Number of live registrations.
    pub fn count(&self) -> usize {
        self.table.lock().len()
    }
}

impl fmt::Debug for DispatchBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchBuffer").field("capacity", &self.ready.capacity()).finish()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("registrations", &self.count()).finish()
    }
}

/// A slab of entries addressed by generation-checked keys.
#[derive(Default)]
struct Table {
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
    fn insert(&mut self, entry: Arc<Entry>) -> io::Result<usize> {
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

    fn get(&self, key: usize) -> Option<&Arc<Entry>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        if slot.generation != key >> INDEX_BITS {
            return None;
        }
        slot.entry.as_ref()
    }

    fn remove(&mut self, key: usize) -> Option<Arc<Entry>> {
        self.get(key)?;
        let index = key & INDEX_MASK;
        let slot = &mut self.slots[index];
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        self.free.push(index);
        slot.entry.take()
    }

    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(runs: &std::sync::Arc<AtomicUsize>) -> Box<Callback> {
        let runs = runs.clone();
        Box::new(move |_| {
            runs.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[test]
    fn a_stale_key_reaches_nothing_after_its_slot_is_reused() {
        let registry = Registry::default();
        let (old_runs, new_runs) = Default::default();
        let old = registry.insert(counting(&old_runs)).unwrap();
        registry.remove(old);
        let new = registry.insert(counting(&new_runs)).unwrap();
        assert_eq!(new & INDEX_MASK, old & INDEX_MASK, "the slot is reused");
        let mut buffer = DispatchBuffer::default();
        assert_eq!(registry.dispatch([(old, Readiness::READABLE)].into_iter(), &mut buffer), 0);
        registry.remove(old);
        assert_eq!(registry.count(), 1, "a stale key removes nothing");
        assert_eq!(registry.dispatch([(new, Readiness::READABLE)].into_iter(), &mut buffer), 1);
        assert_eq!((old_runs.load(Ordering::SeqCst), new_runs.load(Ordering::SeqCst)), (0, 1));
    }

    #[test]
    fn no_key_collides_with_the_notify_key() {
        let registry = Registry::default();
        let key = registry.insert(Box::new(|_| {})).unwrap();
        assert_ne!(key, NOTIFY_KEY);
        let events = [(NOTIFY_KEY, Readiness::READABLE), (usize::MAX, Readiness::READABLE)];
        assert_eq!(registry.dispatch(events.into_iter(), &mut DispatchBuffer::default()), 0);
    }

    #[test]
    fn hang_up_makes_both_directions_ready() {
        let readiness = Readiness::from_epoll(libc::EPOLLHUP as u32);
        assert!(readiness.contains(Readiness::READABLE | Readiness::WRITABLE));
        assert_eq!(Readiness::from_epoll(libc::EPOLLOUT as u32), Readiness::WRITABLE);
    }
}
