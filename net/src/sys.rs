//! The calls std lacks for an arbitrary fd: non-blocking mode, a read into uninitialised memory.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

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

/// `read(2)` into `buf`, which need not be initialised; returns how many bytes it filled (the
/// first ones of `buf`).
pub(crate) fn read_uninit(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `read` writes at most `buf.len()` bytes into `buf`'s memory, which is valid for
    // writes of that length; `MaybeUninit<u8>` has no validity requirement to break.
    let read = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    // A negative count is an error (errno); otherwise it fits `usize`.
    usize::try_from(read).map_err(|_| io::Error::last_os_error())
}
