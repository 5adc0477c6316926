//! Socket setup shared by the servers and the clients.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use crate::sys::check;

/// A listener on an ephemeral loopback port whose accept queue holds `backlog` connections, so
/// that clients connecting faster than the server accepts are never made to retry a SYN.
pub(crate) fn listen_loopback(backlog: usize) -> io::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    // SAFETY: the fd is a listening socket owned by `listener`; calling listen(2) again on it
    // only resizes its accept queue.
    check(unsafe { libc::listen(listener.as_raw_fd(), backlog) })?;
    Ok(listener)
}

/// Makes closing `stream` reset the connection instead of leaving it in TIME_WAIT, so that
/// thousands of connections per run do not pile up across repetitions.
pub(crate) fn reset_on_close(stream: &TcpStream) -> io::Result<()> {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: the fd is a socket owned by `stream`; `linger` is a valid SO_LINGER value of the
    // size passed.
    check(unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    })?;
    Ok(())
}
