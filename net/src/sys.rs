//! The one call std lacks for an arbitrary fd: non-blocking mode.

use std::io;
use std::os::fd::RawFd;

/// Puts `fd` in non-blocking mode: one `ioctl(FIONBIO)`, which every Unix kernel handles for
/// every kind of file (`fcntl` would need a read and a write of the flags).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `FIONBIO` reads one `c_int` from a live local.
    if unsafe { libc::ioctl(fd, libc::FIONBIO, &on) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
