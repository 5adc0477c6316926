//! [`IoHandle`], the ambient name of an I/O backend, and [`IoRegistration`], one fd registered
//! with it: the register and deregister sequences every backend shares.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
// std's `Arc` in every build, the model build too: the handle only shares the backend, no
// protocol depends on its count, and loom's `Arc` cannot be made a trait object by coercion.
use std::sync::Arc;

use super::{Callback, IoSource, Readiness};
use crate::EventSource;

/// Anything that names an I/O backend: an [`IoHandle`], or an event source that has one (an
/// `Epoll`, a composite of sources one of which is an I/O backend, your own). I/O objects take
/// one where they are given their backend explicitly.
pub trait AsIoHandle {
    /// The I/O backend, or `None` if `self` has none.
    fn io_handle(&self) -> Option<IoHandle>;
}

impl AsIoHandle for IoHandle {
    fn io_handle(&self) -> Option<IoHandle> {
        Some(self.clone())
    }
}

/// The handle the source (or one of its parts) answers [`EventSource::component`] with.
impl<S: EventSource + ?Sized> AsIoHandle for S {
    fn io_handle(&self) -> Option<IoHandle> {
        self.component(std::any::TypeId::of::<IoHandle>())?.downcast_ref::<IoHandle>().cloned()
    }
}

/// A shared handle to an I/O backend, which is how I/O objects find and keep their backend.
///
/// A backend answers [`EventSource::component`](crate::EventSource::component) for
/// `TypeId::of::<IoHandle>()` with one, so inside a task [`current`](Self::current) finds the
/// backend of the executor running it, whichever backend that is. Cloning is an `Arc` clone.
#[derive(Clone)]
pub struct IoHandle {
    source: Arc<dyn IoSource>,
}

impl IoHandle {
    /// A handle to `source`.
    pub fn new(source: Arc<dyn IoSource>) -> Self {
        Self { source }
    }

    /// The I/O backend of the executor running the current task (or `block_on` call), if its
    /// source has one.
    pub fn current() -> Option<Self> {
        crate::current_source::<Self>()
    }

    /// The backend.
    pub fn source(&self) -> &dyn IoSource {
        &*self.source
    }

    /// Whether both handles name the same backend.
    pub fn same_source(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.source), Arc::as_ptr(&other.source))
    }

    /// Registers `fd`: takes a key in the backend's registry for `callback`, then asks the
    /// backend to [`add`](IoSource::add) the fd under it. `callback` runs, on the thread waiting
    /// in the backend, for every readiness reported until the registration is
    /// [deregistered](IoRegistration::deregister).
    ///
    /// # Safety
    ///
    /// `fd` must stay open until the registration is deregistered
    /// ([`IoRegistration::deregister`], or its drop).
    ///
    /// # Errors
    ///
    /// `OutOfMemory` if the registry has no key left, and the backend's `add` errors (the key is
    /// given back).
    pub unsafe fn register(&self, fd: BorrowedFd<'_>, callback: Box<Callback>) -> io::Result<IoRegistration> {
        let registry = self.source.registry();
        let key = registry.insert(callback)?;
        // SAFETY: the caller keeps `fd` open until `deregister`, which deletes it.
        if let Err(error) = unsafe { self.source.add(fd, key) } {
            registry.remove(key);
            return Err(error);
        }
        Ok(IoRegistration {
            handle: self.clone(),
            key,
            fd: fd.as_raw_fd(),
            needs_rearm: self.source.needs_rearm(),
            reports_read_closed: self.source.reports_read_closed(),
            deregistered: false,
        })
    }
}

impl fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoHandle").field("registrations", &self.source.registry().count()).finish()
    }
}

/// One fd registered with an I/O backend. [`deregister`](Self::deregister) it (or drop it)
/// before the fd closes.
///
/// Deregistering waits for the callback if it is running on another thread, so never do it
/// (or drop the registration) while holding a lock that the callback takes.
#[derive(Debug)]
pub struct IoRegistration {
    handle: IoHandle,
    key: usize,
    /// The fd that was registered, which is the one to delete (its owner's `as_fd` may answer
    /// with another one by then: `AsFd` does not promise the same fd on every call). Open until
    /// the registration is deregistered, by the contract of [`IoHandle::register`].
    fd: RawFd,
    /// The backend's answers, asked once: they are asked again on every `WouldBlock`.
    needs_rearm: bool,
    reports_read_closed: bool,
    /// Whether `deregister` ran already (by hand, so the drop has nothing left to do).
    deregistered: bool,
}

impl IoRegistration {
    /// The registry key the backend reports this fd's events under.
    pub fn key(&self) -> usize {
        self.key
    }

    /// The number of the fd that was registered (and will be deleted).
    pub fn fd_number(&self) -> RawFd {
        self.fd
    }

    /// The backend it is registered with.
    pub fn handle(&self) -> &IoHandle {
        &self.handle
    }

    /// Whether the backend marks every hang-up with [`Readiness::READ_CLOSED`] (see
    /// [`IoSource::reports_read_closed`]).
    pub fn reports_read_closed(&self) -> bool {
        self.reports_read_closed
    }

    /// The registered fd.
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `IoHandle::register`'s caller keeps the fd open until the registration is
        // deregistered, which consumes it (or drops it), so it is open for as long as `self` is
        // borrowed here.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    /// Tells the backend that `directions` were found not ready and are to be watched again; a
    /// no-op for edge-triggered backends (see [`IoSource::rearm`]).
    ///
    /// # Errors
    ///
    /// The backend's error.
    #[inline]
    pub fn rearm(&self, directions: Readiness) -> io::Result<()> {
        if !self.needs_rearm || crate::sync::seeded!(ClearSkipsRearm) {
            return Ok(());
        }
        self.handle.source.rearm(self.fd(), self.key, directions)
    }

    /// Removes the registration: deletes the fd that was registered from the backend, then
    /// removes the callback. Once this returns, the callback never runs again (a call running on
    /// another thread is waited for; one running on this thread returns first). Dropping the
    /// registration does the same, and drops the error.
    ///
    /// # Errors
    ///
    /// The backend's `delete` error; the callback is removed regardless.
    pub fn deregister(mut self) -> io::Result<()> {
        self.deregistered = true;
        self.remove()
    }

    fn remove(&self) -> io::Result<()> {
        let deleted = self.handle.source.delete(self.fd(), self.key);
        self.handle.source.registry().remove(self.key);
        deleted
    }
}

impl Drop for IoRegistration {
    fn drop(&mut self) {
        if !self.deregistered {
            // Cannot fail for a live registration; there is nobody to report to in a drop.
            let _ = self.remove();
        }
    }
}
