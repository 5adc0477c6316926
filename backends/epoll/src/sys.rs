//! The system calls of the epoll backend, which owns its epoll instance outright: creating it,
//! registration with `EPOLLRDHUP` (and deletion by the fd number recorded then), the wait
//! itself, eventfd, and the timer slack of the runtime's threads.
//!
//! The wait is one `epoll_wait` (or `epoll_pwait2` for a timeout that is not whole
//! milliseconds), where `polling::Poller::wait` costs five syscalls on every call (it re-arms a
//! timerfd and a one-shot notifier each time).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::sync::atomic::{AtomicBool, Ordering};

/// Waits on `epoll` for at most `timeout`, filling `events` (whose length is set to the number of
/// events). A wait interrupted by a signal reports no events. A timeout too long for the kernel
/// is cut to the longest it takes (24.8 days in milliseconds, or `time_t::MAX` seconds).
///
/// `pwait2_missing` caches whether `epoll_pwait2` turned out to be missing (Linux before 5.11);
/// the wait then rounds a sub-millisecond remainder up to the next millisecond.
pub(crate) fn epoll_wait(
    epoll: BorrowedFd<'_>,
    events: &mut Vec<libc::epoll_event>,
    timeout: Option<Duration>,
    pwait2_missing: &AtomicBool,
) -> io::Result<()> {
    events.clear();
    let capacity = i32::try_from(events.capacity()).unwrap_or(i32::MAX);
    let pointer = events.as_mut_ptr();
    let count = match timeout.map(|timeout| (timeout, timeout.subsec_nanos() % 1_000_000 == 0)) {
        None => plain_wait(epoll, pointer, capacity, -1),
        Some((timeout, true)) => {
            plain_wait(epoll, pointer, capacity, i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX))
        }
        // Relaxed: a cache of a fact about the kernel; a thread that misses it just tries again.
        Some((timeout, false)) if !pwait2_missing.load(Ordering::Relaxed) => {
            match precise_wait(epoll, pointer, capacity, timeout) {
                Err(error) if error.raw_os_error() == Some(libc::ENOSYS) => {
                    pwait2_missing.store(true, Ordering::Relaxed);
                    plain_wait(epoll, pointer, capacity, rounded_up_millis(timeout))
                }
                other => other,
            }
        }
        Some((timeout, false)) => plain_wait(epoll, pointer, capacity, rounded_up_millis(timeout)),
    };
    match count {
        Ok(count) => {
            // SAFETY: the kernel initialised the first `count` entries, and `count` is at most
            // `capacity`, which is at most the vector's capacity.
            unsafe { events.set_len(count) };
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(()),
        Err(error) => Err(error),
    }
}

/// `epoll_wait` with a timeout in milliseconds (-1: none).
fn plain_wait(
    epoll: BorrowedFd<'_>,
    events: *mut libc::epoll_event,
    capacity: i32,
    millis: i32,
) -> io::Result<usize> {
    // SAFETY: `events` points to a buffer of at least `capacity` entries that the kernel may
    // write; `epoll` is an open fd for the duration of the call.
    let count = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events, capacity, millis) };
    usize::try_from(count).map_err(|_| io::Error::last_os_error())
}

/// `epoll_pwait2`: a nanosecond timeout, so a composed timer's sub-millisecond deadline holds.
fn precise_wait(
    epoll: BorrowedFd<'_>,
    events: *mut libc::epoll_event,
    capacity: i32,
    timeout: Duration,
) -> io::Result<usize> {
    let seconds = libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX);
    let timespec = libc::timespec { tv_sec: seconds, tv_nsec: timeout.subsec_nanos().into() };
    // SAFETY: as in `plain_wait`; `timespec` outlives the call and a null signal mask means the
    // mask is left alone (the size argument is then ignored).
    let count = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epoll.as_raw_fd(),
            events,
            capacity,
            &timespec as *const libc::timespec,
            std::ptr::null::<libc::sigset_t>(),
            std::mem::size_of::<libc::sigset_t>(),
        )
    };
    usize::try_from(count).map_err(|_| io::Error::last_os_error())
}

/// A timeout in whole milliseconds, never shorter than `timeout`, except that one too long for
/// the kernel is cut to `i32::MAX` ms (about 24.8 days): an early return is allowed, a late one
/// is not.
fn rounded_up_millis(timeout: Duration) -> i32 {
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    i32::try_from(millis).unwrap_or(i32::MAX)
}

/// A new epoll instance, close-on-exec.
pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with no pointers.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `epoll_create1` just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds `fd` to `epoll`, edge-triggered, for reads (with the peer's hang-up, `EPOLLRDHUP`) and
/// writes, reporting `key`. `polling` has no way to ask for `EPOLLRDHUP` (its "interrupt" is
/// `EPOLLHUP`), and without it a stream whose data and end arrive together reports one event,
/// after which a short read cannot tell that EOF is next (see `IoState::clear_drained`).
///
/// # Safety
///
/// `fd` must stay open until it is deleted from `epoll` again.
pub(crate) unsafe fn epoll_add(epoll: BorrowedFd<'_>, fd: RawFd, key: u64) -> io::Result<()> {
    let interest = libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLOUT | libc::EPOLLET;
    let mut event = libc::epoll_event { events: interest as u32, u64: key };
    // SAFETY: `event` is a live local the kernel only reads; the caller keeps `fd` open while
    // it is registered.
    if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Deletes `fd` from `epoll`.
///
/// Takes the fd number recorded when it was added, not a fresh `as_fd()` of its owner: `AsFd`
/// does not promise the same fd on every call, and deleting another fd would leave this one in
/// the epoll set for as long as its file stays open.
pub(crate) fn epoll_delete(epoll: BorrowedFd<'_>, fd: RawFd) -> io::Result<()> {
    // SAFETY: no pointers (`EPOLL_CTL_DEL` ignores the event argument, null since Linux 2.6.9);
    // for an fd number that is not in the set the kernel only returns an error.
    if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with no pointers.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `eventfd` just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's counter. A counter about to overflow (2^64 - 2 increments without a
/// read) is read back to zero first.
pub(crate) fn eventfd_increment(fd: BorrowedFd<'_>) {
    let one = 1u64.to_ne_bytes();
    for _ in 0..2 {
        // SAFETY: writes 8 bytes from a live local buffer to an open fd.
        let written = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        if written >= 0 {
            return;
        }
        let mut counter = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live local buffer from an open fd.
        unsafe { libc::read(fd.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
    }
}

/// Reads an eventfd's counter back to zero; returns whether it was non-zero (`false` when the
/// read would block). Retries a read interrupted by a signal.
pub(crate) fn eventfd_read(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut counter = [0u8; 8];
    loop {
        // SAFETY: reads at most 8 bytes into a live local buffer from an open fd.
        let read = unsafe { libc::read(fd.as_raw_fd(), counter.as_mut_ptr().cast(), counter.len()) };
        if read >= 0 {
            return Ok(true); // an eventfd read only succeeds on a non-zero counter
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(false),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(error),
        }
    }
}

/// Asks the kernel to wake this thread's timed waits with the least slack it allows (1 ns)
/// instead of the default 50 µs, so timer deadlines are honoured to a few microseconds. Returns
/// the previous slack, for [`restore_timer_slack`].
///
/// Failure only leaves the current slack, so it is ignored.
pub(crate) fn minimise_timer_slack() -> libc::c_ulong {
    // SAFETY: PR_GET_TIMERSLACK takes no argument and only reads this thread's timer slack.
    let previous = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) };
    let nanoseconds: libc::c_ulong = 1;
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and only changes this thread's timer
    // slack; it touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, nanoseconds) };
    libc::c_ulong::try_from(previous).unwrap_or(nanoseconds)
}

/// Puts back the timer slack [`minimise_timer_slack`] returned.
pub(crate) fn restore_timer_slack(previous: libc::c_ulong) {
    // SAFETY: as in `minimise_timer_slack`.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, previous) };
}
