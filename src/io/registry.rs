//! The registry: which callback an I/O backend's event belongs to, and the guarantee that a
//! removed callback never runs again.
//!
//! Each registered fd gets a slot in a slab. Its key packs the slot index with the slot's
//! generation, which is bumped every time the slot is freed, so an event that was already queued
//! in the kernel for a deregistered fd (and then delivered after its slot was reused) names an
//! old generation and is ignored instead of reaching the new registration.
//!
//! Dispatch looks the keys up under the table lock, then runs the callbacks outside it (so that a
//! callback may register or deregister). Removal takes the entry out of the table, then removes
//! its [`CallbackSlot`], which waits for a call already in progress: a dispatch that looked the
//! entry up before the removal finds the slot empty or finishes before `remove` returns.
use std::fmt;
use std::io;

use super::Readiness;
use crate::source::CallbackSlot;
use crate::sync::{Arc, Mutex};

/// Bits of a key that hold the slot index; the rest hold the generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slot indices stop below this, so that no key equals one of [`Registry::UNUSED_KEYS`].
const MAX_SLOTS: usize = INDEX_MASK - 1;

/// What runs when a registered fd becomes ready.
pub type Callback = dyn FnMut(Readiness) + Send;

/// Registered callbacks by generation-checked key: the part of every I/O backend that decides
/// which callback an event belongs to.
///
/// A backend reports each event it observes to [`dispatch`](Self::dispatch); a key that was
/// removed (even if its slot was reused since) reaches nothing, and once
/// [`remove`](Self::remove) returns its callback never runs again.
#[derive(Default)]
pub struct Registry {
    table: Mutex<Table>,
}

/// Scratch space of [`Registry::dispatch`], reused from one wait to the next so that a wait
/// allocates nothing.
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
    /// Keys that no registration ever has: a backend may report its own fds (a notification
    /// eventfd) under them and skip them before dispatching.
    pub const UNUSED_KEYS: [usize; 2] = [usize::MAX, usize::MAX - 1];

    /// Registers `callback`; returns its key. [`IoHandle::register`](super::IoHandle::register)
    /// calls it; a backend only reads keys.
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
            if crate::sync::seeded!(RemoveSkipsCallbackSlot) {
                return;
            }
            entry.callback.remove();
        }
    }

    /// Runs the callback of each `(key, readiness)` event whose registration is still live;
    /// returns how many ran. Keys that are stale, unknown or [unused](Self::UNUSED_KEYS) are
    /// skipped.
    ///
    /// Callbacks run outside the registry's lock, so one may register or deregister; a panic in
    /// one propagates after the callbacks before it ran, and the slot stays usable.
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
                    "the I/O backend's registry has no registration slot left",
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
    fn no_key_collides_with_the_unused_keys() {
        let registry = Registry::default();
        let key = registry.insert(Box::new(|_| {})).unwrap();
        assert!(!Registry::UNUSED_KEYS.contains(&key));
        let events = Registry::UNUSED_KEYS.map(|key| (key, Readiness::READABLE));
        assert_eq!(registry.dispatch(events.into_iter(), &mut DispatchBuffer::default()), 0);
    }
}
