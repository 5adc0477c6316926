//! The few OS calls the harness makes itself: epoll for the load generator and the raw server,
//! CPU clocks, memory high-water marks and socket options.

pub(crate) mod clock;
pub(crate) mod epoll;
pub(crate) mod memory;
pub(crate) mod socket;

use std::io;

/// Turns a `-1` return of a libc call into the thread's `errno`.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}
