//! Non-blocking socket creation and connect, which std lacks (its `connect` blocks).

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A socket address in the kernel's layout.
pub(crate) struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    pub(crate) fn domain(&self) -> libc::c_int {
        self.storage.ss_family.into()
    }

    /// An IPv4 or IPv6 address.
    pub(crate) fn inet(addr: SocketAddr) -> Self {
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(addr) => {
                // Field by field on a zeroed value: the BSDs and macOS have a `sin_len` field
                // (left 0, which their kernels accept from `connect`), Linux has not.
                // SAFETY: all-zero bytes are a valid `sockaddr_in`.
                let mut inet: libc::sockaddr_in = unsafe { mem::zeroed() };
                inet.sin_family = libc::AF_INET as libc::sa_family_t;
                inet.sin_port = addr.port().to_be();
                inet.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(addr.ip().octets()) };
                // SAFETY: `sockaddr_storage` is large and aligned enough for any socket address.
                unsafe { std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in>().write(inet) };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(addr) => {
                // SAFETY: all-zero bytes are a valid `sockaddr_in6`.
                let mut inet6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
                inet6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                inet6.sin6_port = addr.port().to_be();
                inet6.sin6_flowinfo = addr.flowinfo();
                inet6.sin6_addr = libc::in6_addr { s6_addr: addr.ip().octets() };
                inet6.sin6_scope_id = addr.scope_id();
                // SAFETY: as above.
                unsafe { std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in6>().write(inet6) };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        Self { storage, len: len as libc::socklen_t }
    }

    /// A Unix socket address: a path, or (on Linux and Android) an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address, which nothing can connect to, and as
    /// [`unix`](Self::unix) for a path.
    pub(crate) fn unix_addr(addr: &std::os::unix::net::SocketAddr) -> io::Result<Self> {
        if let Some(path) = addr.as_pathname() {
            return Self::unix(path);
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            #[cfg(target_os = "android")]
            use std::os::android::net::SocketAddrExt;
            #[cfg(target_os = "linux")]
            use std::os::linux::net::SocketAddrExt;
            if let Some(name) = addr.as_abstract_name() {
                return Self::unix_bytes(&[&[0], name].concat());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an unnamed Unix socket address cannot be connected to or bound",
        ))
    }

    /// A Unix socket path.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path has a NUL byte or does not fit in `sockaddr_un`.
    pub(crate) fn unix(path: &Path) -> io::Result<Self> {
        let bytes = path.as_os_str().as_bytes();
        let capacity = mem::size_of::<libc::sockaddr_un>() - mem::offset_of!(libc::sockaddr_un, sun_path);
        if bytes.contains(&0) || bytes.len() >= capacity {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a Unix socket path must have no NUL byte and fewer than {capacity} bytes: {}",
                    path.display()
                ),
            ));
        }
        let mut with_nul = bytes.to_vec();
        with_nul.push(0);
        Self::unix_bytes(&with_nul)
    }

    /// A Unix socket address of the `sun_path` bytes `bytes` (a path with its NUL, or a NUL and
    /// an abstract name), which the callers have checked fit.
    fn unix_bytes(bytes: &[u8]) -> io::Result<Self> {
        // SAFETY: all-zero bytes are a valid `sockaddr_un`.
        let mut unix: libc::sockaddr_un = unsafe { mem::zeroed() };
        unix.sun_family = libc::AF_UNIX as libc::sa_family_t;
        if bytes.len() > unix.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a Unix socket address has at most {} bytes", unix.sun_path.len()),
            ));
        }
        for (dst, src) in unix.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let len = mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len();
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        // SAFETY: `sockaddr_storage` is large and aligned enough for any socket address.
        unsafe { std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_un>().write(unix) };
        Ok(Self { storage, len: len as libc::socklen_t })
    }
}

/// Creates a non-blocking, close-on-exec stream socket and starts connecting it to `addr`.
///
/// # Errors
///
/// The error of `socket`, or of `connect` unless it is `EINPROGRESS` (the connection completes
/// later; the socket turns writable then).
pub(crate) fn start_connect(addr: &RawAddr) -> io::Result<OwnedFd> {
    let socket = stream_socket(addr.domain())?;
    connect_nonblocking(&socket, addr)?;
    Ok(socket)
}

/// Starts connecting the non-blocking stream socket `socket` to `addr`.
///
/// # Errors
///
/// The error of `connect` unless it is `EINPROGRESS`.
pub(crate) fn connect_nonblocking(socket: &impl AsRawFd, addr: &RawAddr) -> io::Result<()> {
    // SAFETY: `addr.storage` holds a socket address of `addr.len` bytes, live for the call.
    let connected =
        unsafe { libc::connect(socket.as_raw_fd(), std::ptr::from_ref(&addr.storage).cast(), addr.len) };
    if connected < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(error);
        }
    }
    Ok(())
}

/// Reads into `buf` from the socket `fd` without taking the data from its receive queue
/// (`recv` with `MSG_PEEK`), for the socket types whose std `peek` is not stable yet.
///
/// # Errors
///
/// The error of `recv` (`WouldBlock` on a non-blocking socket with nothing queued).
pub(crate) fn peek(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
    let read = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    // Non-negative and at most `buf.len()`, so it fits.
    Ok(read as usize)
}

/// A non-blocking, close-on-exec stream socket: one `socket` call where the flags exist.
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos")))]
fn stream_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain syscall with no pointers.
    let fd = unsafe { libc::socket(domain, flags, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `socket` just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A non-blocking, close-on-exec stream socket, on Apple's kernels, which take no flags in
/// `socket`: close-on-exec and non-blocking mode are set after, and `SO_NOSIGPIPE` makes a write
/// to a closed connection fail with `EPIPE` instead of killing the process (Linux gets the same
/// from std's writes with `MSG_NOSIGNAL`).
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "tvos", target_os = "watchos"))]
fn stream_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with no pointers.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `socket` just returned this fd and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `F_SETFD` takes an integer argument; no pointers.
    if unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let on: libc::c_int = 1;
    // SAFETY: `SO_NOSIGPIPE` reads one `c_int` from a live local of the size passed.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            std::ptr::from_ref(&on).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set < 0 {
        return Err(io::Error::last_os_error());
    }
    crate::sys::set_nonblocking(socket.as_raw_fd())?;
    Ok(socket)
}
