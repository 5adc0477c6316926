//! The calls std lacks for an arbitrary fd: non-blocking mode, and a socket read into
//! uninitialised memory.

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

/// `recv(2)` on the socket `fd` into `buf`, which need not be initialised; returns how many
/// bytes it filled (the first ones of `buf`).
///
/// `recv` with no flags, not `read`: on a socket both end in the same `sock_recvmsg`, but `read`
/// first goes through the VFS's checks for files (`rw_verify_area`, fsnotify), about 40 ns more
/// per call on Linux 6.1, once per request of an HTTP server. std's `TcpStream::read` and
/// `UnixStream::read` use `recv` too.
pub(crate) fn recv_uninit(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `recv` writes at most `buf.len()` bytes into `buf`'s memory, which is valid for
    // writes of that length; `MaybeUninit<u8>` has no validity requirement to break.
    let read = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    // A negative count is an error (errno); otherwise it fits `usize`.
    usize::try_from(read).map_err(|_| io::Error::last_os_error())
}
