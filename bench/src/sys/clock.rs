//! CPU time of the process and of the calling thread, and the wall clocks a tracer stamps
//! its events with.

use std::time::Duration;

/// CPU time consumed so far by every thread of the process.
pub(crate) fn process_cpu() -> Duration {
    read_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time consumed so far by the calling thread.
pub(crate) fn thread_cpu() -> Duration {
    read_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// `CLOCK_MONOTONIC` now: the clock of `perf record -k CLOCK_MONOTONIC` timestamps.
pub(crate) fn monotonic() -> Duration {
    read_clock(libc::CLOCK_MONOTONIC)
}

/// `CLOCK_REALTIME` now: the clock of `strace -ttt` timestamps.
pub(crate) fn realtime() -> Duration {
    read_clock(libc::CLOCK_REALTIME)
}

fn read_clock(clock: libc::clockid_t) -> Duration {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `time` is a valid, writable timespec; the four clocks used here exist on every
    // Linux.
    let result = unsafe { libc::clock_gettime(clock, &mut time) };
    assert_eq!(result, 0, "clock_gettime failed");
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}
