//! Registrations: the table from watch descriptors to callbacks, and the [`Watch`] handle.

use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use reactor::source::CallbackSlot;

use super::event::{Event, Mask};
use super::{lock, sys, Shared};

/// One `watch` call: what it asked for and the callback to run.
pub(super) struct Registration {
    mask: Mask,
    callback: CallbackSlot<dyn FnMut(&Event) + Send>,
}

impl Registration {
    /// Runs the callback with `event` if the registration asked for its kind and is still
    /// registered; returns whether it ran.
    pub(super) fn deliver(&self, event: &Event) -> bool {
        self.mask.wants(event.mask) && self.callback.call(|callback| callback(event)).is_some()
    }
}

/// The registrations of every live watch descriptor.
///
/// The kernel gives the same descriptor to every watch of one inode, so one descriptor may carry
/// several registrations; its kernel mask is the union of theirs (`IN_MASK_ADD`), and each
/// registration filters for its own kinds. A descriptor leaves the table when its last
/// registration is dropped (which removes the kernel watch) or when the kernel ends the watch
/// itself (`IN_IGNORED`: the path was deleted or unmounted). The kernel allocates descriptors
/// cyclically, so a stale event never meets a new watch that reused its number.
#[derive(Default)]
pub(super) struct WatchTable {
    /// Locked across `inotify_add_watch` and `inotify_rm_watch`, so that a descriptor's last
    /// registration leaving (and removing the kernel watch) cannot interleave with a new
    /// registration joining it. Never locked while a callback runs.
    by_wd: Mutex<HashMap<i32, Vec<Arc<Registration>>>>,
}

impl WatchTable {
    /// Watches `path` for `mask` and registers `callback` for those events.
    pub(super) fn add(
        &self,
        inotify: &File,
        path: &Path,
        mask: Mask,
        callback: Box<dyn FnMut(&Event) + Send>,
    ) -> io::Result<(i32, Arc<Registration>)> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("path {} contains a NUL byte", path.display()),
            )
        })?;
        let registration = Arc::new(Registration { mask, callback: CallbackSlot::new(callback) });
        let mut by_wd = lock(&self.by_wd);
        let wd =
            sys::add_watch(inotify, &c_path, mask.bits()).map_err(|error| add_watch_error(path, error))?;
        by_wd.entry(wd).or_default().push(registration.clone());
        Ok((wd, registration))
    }

    /// Unregisters `registration` from `wd`, removing the kernel watch if it was the last one.
    fn remove(&self, inotify: &File, wd: i32, registration: &Arc<Registration>) {
        let mut by_wd = lock(&self.by_wd);
        let Some(registrations) = by_wd.get_mut(&wd) else {
            return; // the kernel ended the watch already (`end`)
        };
        registrations.retain(|other| !Arc::ptr_eq(other, registration));
        if registrations.is_empty() {
            by_wd.remove(&wd);
            // The only failure is EINVAL, when the kernel ended the watch and its IN_IGNORED
            // is not dispatched yet: the watch is gone either way.
            let _ = sys::rm_watch(inotify, wd);
        }
    }

    /// The registrations an event of `wd` goes to; -1 (an overflow) goes to all.
    pub(super) fn registrations(&self, wd: i32) -> Vec<Arc<Registration>> {
        let by_wd = lock(&self.by_wd);
        if wd == -1 {
            return by_wd.values().flatten().cloned().collect();
        }
        by_wd.get(&wd).cloned().unwrap_or_default()
    }

    /// Forgets `wd`, whose watch the kernel ended (`IN_IGNORED`), and returns its registrations.
    pub(super) fn end(&self, wd: i32) -> Vec<Arc<Registration>> {
        lock(&self.by_wd).remove(&wd).unwrap_or_default()
    }
}

/// `inotify_add_watch`'s error, with the path, and the kind of the OS error kept.
fn add_watch_error(path: &Path, error: io::Error) -> io::Error {
    let hint = match error.raw_os_error() {
        Some(libc::ENOSPC) => " (the fs.inotify.max_user_watches limit)",
        _ => "",
    };
    io::Error::new(error.kind(), format!("cannot watch {}: {error}{hint}", path.display()))
}

/// A registered watch: its callback runs on the loop for each event it asked for.
///
/// Dropping it unregisters the callback; once `drop` returns, the callback never runs again (a
/// dispatch running it on another thread is waited for; dropping the watch from inside its own
/// callback returns at once). The closure itself is dropped by `drop`, or, when a dispatch was
/// running it, by that dispatch right after it returns. The last watch of a path removes the
/// kernel watch. Since the drop waits for a callback running on another thread, never drop a
/// watch while holding a lock that its callback takes.
pub(crate) struct Watch {
    shared: Arc<Shared>,
    wd: i32,
    registration: Arc<Registration>,
}

impl Watch {
    pub(super) fn new(shared: Arc<Shared>, wd: i32, registration: Arc<Registration>) -> Self {
        Self { shared, wd, registration }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // First the callback, so that no dispatch that already took the registration out of
        // the table can run it after this returns.
        self.registration.callback.remove();
        self.shared.watches.remove(&self.shared.inotify, self.wd, &self.registration);
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").field("wd", &self.wd).field("mask", &self.registration.mask).finish()
    }
}
