//! The system resolver (`getaddrinfo`), called directly rather than through std's
//! `ToSocketAddrs`: std reports every resolver failure as one uncategorized error, and a caller
//! needs to tell "no such name" (`NotFound`) from a resolver that is down.

use std::ffi::{CStr, CString};
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ptr;

/// Resolves `host` with `getaddrinfo` (blocking: run it on the blocking pool) and gives each of
/// its addresses the port `port`, in the resolver's order, without duplicates. May be empty.
///
/// # Errors
///
/// - `NotFound` when the name does not exist or has no address (`EAI_NONAME`, `EAI_NODATA`);
/// - `InvalidInput` for a host with a NUL byte;
/// - `OutOfMemory` for `EAI_MEMORY`, the OS error for `EAI_SYSTEM`;
/// - `Other` for the rest (`EAI_AGAIN`: the name server did not answer, `EAI_FAIL`: it
///   failed), with the resolver's message.
pub(crate) fn lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let c_host = CString::new(host).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("a host name has no NUL byte: {host:?}"))
    })?;
    // SAFETY: all-zero bytes are a valid `addrinfo` (null pointers, no flags).
    let mut hints: libc::addrinfo = unsafe { mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    // One entry per address (not one per socket type).
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: `c_host` is a NUL-terminated string and `hints` a valid `addrinfo`, both live for
    // the call; `list` receives a list that is freed below.
    let code = unsafe { libc::getaddrinfo(c_host.as_ptr(), ptr::null(), &hints, &mut list) };
    if code != 0 {
        return Err(error(code, host));
    }
    let mut addrs = Vec::new();
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list `getaddrinfo` returned, not freed yet.
        let info = unsafe { &*entry };
        // SAFETY: `ai_addr` points to `ai_addrlen` bytes of a socket address of `ai_family`.
        if let Some(addr) = unsafe { socket_addr(info, port) } {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        entry = info.ai_next;
    }
    // SAFETY: `list` came from a successful `getaddrinfo` and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(addrs)
}

/// The IPv4 or IPv6 address of `info`, with `port`.
///
/// # Safety
///
/// `info.ai_addr` is null or points to `info.ai_addrlen` readable bytes.
unsafe fn socket_addr(info: &libc::addrinfo, port: u16) -> Option<SocketAddr> {
    let len = info.ai_addrlen as usize;
    if info.ai_addr.is_null() {
        return None;
    }
    match info.ai_family {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the caller's promise; `read_unaligned` needs no alignment.
            let inet = unsafe { info.ai_addr.cast::<libc::sockaddr_in>().read_unaligned() };
            let ip = Ipv4Addr::from(inet.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddrV4::new(ip, port).into())
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above.
            let inet6 = unsafe { info.ai_addr.cast::<libc::sockaddr_in6>().read_unaligned() };
            let ip = Ipv6Addr::from(inet6.sin6_addr.s6_addr);
            Some(SocketAddrV6::new(ip, port, inet6.sin6_flowinfo, inet6.sin6_scope_id).into())
        }
        _ => None,
    }
}

/// The error of a failed `getaddrinfo`, naming `host`.
fn error(code: libc::c_int, host: &str) -> io::Error {
    if code == libc::EAI_SYSTEM {
        let os = io::Error::last_os_error();
        return io::Error::new(os.kind(), format!("could not resolve the host name {host:?}: {os}"));
    }
    // SAFETY: `gai_strerror` returns a static NUL-terminated string for any code.
    let message = unsafe { CStr::from_ptr(libc::gai_strerror(code)) }.to_string_lossy();
    let kind = match code {
        libc::EAI_NONAME => io::ErrorKind::NotFound,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::EAI_NODATA => io::ErrorKind::NotFound,
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("could not resolve the host name {host:?}: {message}"))
}
