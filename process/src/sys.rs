//! The calls std lacks: `pidfd_open(2)` and a non-blocking `waitpid(2)` on a pid we own.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// A pidfd: a file descriptor that refers to one process and becomes readable when it exits
/// (Linux 5.3+). It names the process itself, never a later one that reuses its pid.
#[derive(Debug)]
pub(crate) struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a pidfd for `pid`, which must be our unreaped child (then its pid cannot have been
    /// reused, and the pidfd names it).
    ///
    /// # Errors
    ///
    /// `pidfd_open`'s: `ENOSYS` before Linux 5.3 (or off Linux), `EPERM` under some seccomp
    /// policies, `EMFILE`/`ENFILE` without a free fd, `ESRCH` if someone else reaped the child.
    pub(crate) fn open(pid: u32) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            let pid = libc::pid_t::try_from(pid)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range of pid_t"))?;
            // SAFETY: `pidfd_open` takes a pid and a flags word and returns a new fd or -1; it
            // touches no memory of ours.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = i32::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned a bad fd"))?;
            // SAFETY: the kernel just returned `fd` as a new fd that nothing else owns.
            Ok(Self(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            Err(io::Error::from_raw_os_error(libc::ENOSYS))
        }
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Reaps `pid` if it has exited: `waitpid(pid, WNOHANG)`.
///
/// Only for a child of ours that nobody has reaped yet (std's `Child` was dropped without
/// waiting): once reaped, its pid may be reused by an unrelated child, which this must never
/// reap, so the caller stops calling it after the first `Some` (or error).
pub(crate) fn try_reap(pid: u32) -> io::Result<Option<ExitStatus>> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range of pid_t"))?;
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `waitpid` writes one `c_int` through the pointer, which points at a live local.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        match reaped {
            0 => return Ok(None),
            r if r == pid => return Ok(Some(ExitStatus::from_raw(status))),
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}
