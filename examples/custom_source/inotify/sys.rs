//! The libc calls std has no wrapper for: creating the inotify descriptor, adding and removing
//! watches, and `ppoll`. Reads go through `std::fs::File`; the eventfd that ends a wait is
//! `reactor_epoll::FdNotifier`'s.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::ptr;
use std::time::Duration;

/// A new inotify instance, non-blocking and close-on-exec.
pub(super) fn inotify_init() -> io::Result<File> {
    // SAFETY: no pointer arguments; the flags are valid for inotify_init1(2).
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    owned(fd)
}

/// Watches `path` for the events in `mask`, adding them to any mask the path's inode is already
/// watched for (`IN_MASK_ADD`), and returns the watch descriptor.
pub(super) fn add_watch(inotify: &File, path: &CStr, mask: u32) -> io::Result<i32> {
    // SAFETY: `inotify` is an open inotify descriptor for the duration of the call and `path` is
    // a NUL-terminated string that outlives it; the kernel only reads it.
    let wd = unsafe { libc::inotify_add_watch(inotify.as_raw_fd(), path.as_ptr(), mask | libc::IN_MASK_ADD) };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(wd)
}

/// Removes the watch `wd`; the kernel then queues an `IN_IGNORED` event for it.
pub(super) fn rm_watch(inotify: &File, wd: i32) -> io::Result<()> {
    // SAFETY: no pointer arguments; an unknown `wd` is reported as EINVAL, not undefined.
    if unsafe { libc::inotify_rm_watch(inotify.as_raw_fd(), wd) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Blocks until one of `fds` is readable or `timeout` passed (`None`: no limit), and returns
/// which are readable. An error or hang-up counts as readable: the read reports it.
///
/// `ppoll` takes the timeout as a `timespec`, so it is exact: it never rounds a sub-millisecond
/// timeout down to zero as `poll`'s milliseconds would, and never returns early.
///
/// # Errors
///
/// `ErrorKind::Interrupted` when a signal arrived first.
pub(super) fn poll_readable<const N: usize>(
    fds: [BorrowedFd<'_>; N],
    timeout: Option<Duration>,
) -> io::Result<[bool; N]> {
    let mut fds = fds.map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
    // A timeout beyond `time_t` (billions of years) is no limit.
    let timespec = timeout.and_then(|timeout| {
        Some(libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).ok()?,
            // Below one billion, which fits every `c_long`.
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        })
    });
    let timespec_ptr = timespec.as_ref().map_or(ptr::null(), ptr::from_ref);
    // SAFETY: `fds` is an array of `N` initialised pollfds that the kernel may write `revents`
    // into, and stays alive for the call; `timespec_ptr` is null (no limit) or points to
    // `timespec`, alive for the call; a null sigmask leaves the signal mask unchanged.
    let ready = unsafe { libc::ppoll(fds.as_mut_ptr(), N as libc::nfds_t, timespec_ptr, ptr::null()) };
    if ready < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fds.map(|fd| fd.revents != 0))
}

/// Takes ownership of a descriptor a libc call returned, or of its error.
fn owned(fd: libc::c_int) -> io::Result<File> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned open by the kernel and nothing else owns it.
    Ok(unsafe { File::from_raw_fd(fd) })
}
