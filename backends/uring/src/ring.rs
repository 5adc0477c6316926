//! The ring: the io_uring instance, its submission queue as [`Polls`](crate::polls::Polls)
//! drives it, the waiter's `io_uring_enter` (submission and wait in one call, the timeout to
//! the nanosecond through `IORING_ENTER_EXT_ARG`), and the reaping of the completion queue.
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::polls::{Submission, INTERNAL_KEY};

/// `io_uring_enter` flags (`include/uapi/linux/io_uring.h`), which the binding keeps private.
const IORING_ENTER_GETEVENTS: u32 = 1;
const IORING_ENTER_EXT_ARG: u32 = 1 << 3;

/// Submission queue entries; the completion queue has [`CQ_ENTRIES`]. A full submission queue
/// is not an error (entries wait in a backlog), so this only bounds a batch.
pub(crate) const SQ_ENTRIES: u32 = 256;
/// Completion queue entries: room for a burst of events from many fds before the kernel has to
/// keep them in its overflow list.
const CQ_ENTRIES: u32 = 4096;

/// `struct __kernel_timespec`.
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// `struct io_uring_getevents_arg`, the argument of an `IORING_ENTER_EXT_ARG` enter.
#[repr(C)]
struct GetEventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

/// One completion, copied out of the ring.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cqe {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
    /// Whether the request stays armed (`IORING_CQE_F_MORE`).
    pub(crate) more: bool,
}

/// The io_uring instance, shared by the waiter (entering, reaping) and the submission queue.
pub(crate) struct Ring {
    uring: Arc<IoUring>,
}

impl Ring {
    /// A new ring, no request in it.
    ///
    /// # Errors
    ///
    /// The error of `io_uring_setup`.
    pub(crate) fn new() -> io::Result<Self> {
        // Cooperative task running (Linux 5.19): a poll's completion is queued for the thread
        // that submitted it without the signal-style interruption (and its inter-processor
        // interrupt) the kernel otherwise sends; it runs when that thread next enters the
        // kernel, which the waiter does for every wait. On TCP echo this halved the server's
        // CPU per round trip (12.3 to 6.3 us on one thread). The price: a completion whose
        // submitter is busy in user space without a system call waits for its next kernel
        // entry or timer tick. Older kernels refuse the flag with EINVAL: they get the plain
        // ring.
        let build = |coop: bool| {
            let mut builder = IoUring::builder();
            if coop {
                builder.setup_coop_taskrun();
            }
            builder.setup_clamp().setup_cqsize(CQ_ENTRIES).build(SQ_ENTRIES)
        };
        let uring = match build(true) {
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => build(false)?,
            result => result?,
        };
        Ok(Self { uring: Arc::new(uring) })
    }

    /// The io_uring instance.
    pub(crate) fn uring(&self) -> &IoUring {
        &self.uring
    }

    /// The submission queue, for [`Polls`](crate::polls::Polls) to own.
    pub(crate) fn queue(&self) -> RingQueue {
        RingQueue { uring: self.uring.clone(), backlog: VecDeque::new() }
    }

    /// The waiter's one `io_uring_enter`: submits `to_submit` entries and, if `block`, waits for
    /// at least one completion for at most `timeout` (`None`: no limit). `flush` asks the kernel
    /// to move completions from its overflow list into the ring. A wait ended by a signal, its
    /// timeout, an overflow that could not be flushed yet (`EBUSY`: the ring is full; reaping
    /// makes room) or dropped completions (`EBADR`) is not an error: the caller reaps whatever
    /// is there.
    ///
    /// # Errors
    ///
    /// Any other error of `io_uring_enter`.
    pub(crate) fn enter(
        &self,
        to_submit: u32,
        block: bool,
        timeout: Option<Duration>,
        flush: bool,
    ) -> io::Result<()> {
        if to_submit == 0 && !block && !flush {
            return Ok(()); // nothing for the kernel: no system call
        }
        let getevents = if block || flush { IORING_ENTER_GETEVENTS } else { 0 };
        let min_complete = u32::from(block);
        let submitter = self.uring.submitter();
        let result = match timeout.filter(|_| block) {
            Some(timeout) => {
                let ts = KernelTimespec {
                    tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: timeout.subsec_nanos().into(),
                };
                let arg = GetEventsArg {
                    sigmask: 0,
                    sigmask_sz: 0,
                    min_wait_usec: 0,
                    ts: &ts as *const KernelTimespec as u64,
                };
                // SAFETY: `arg` is a valid `io_uring_getevents_arg` (its size is passed with it)
                // whose `ts` points to a timespec alive for the call; no signal mask.
                unsafe {
                    submitter.enter(to_submit, min_complete, getevents | IORING_ENTER_EXT_ARG, Some(&arg))
                }
            }
            // SAFETY: no argument; the flags are valid for this ring.
            None => unsafe { submitter.enter::<libc::sigset_t>(to_submit, min_complete, getevents, None) },
        };
        match result {
            Ok(_) => Ok(()),
            Err(error) if ends_a_wait(&error) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Moves every completion out of the ring into `cqes`; returns the kernel's count of the
    /// completions it had to drop so far (it keeps them in an overflow list instead, with
    /// `IORING_FEAT_NODROP`, unless it cannot allocate one).
    ///
    /// # Safety
    ///
    /// Only one thread at a time reaps (the waiter, under its buffers' lock).
    pub(crate) unsafe fn reap(&self, cqes: &mut Vec<Cqe>) -> u32 {
        // SAFETY: the caller is the only thread reaping, and nothing else reads the completion
        // queue.
        let mut completions = unsafe { self.uring.completion_shared() };
        completions.sync();
        let dropped = completions.overflow();
        cqes.extend(completions.map(|cqe| Cqe {
            user_data: cqe.user_data(),
            result: cqe.result(),
            more: cqueue::more(cqe.flags()),
        }));
        // Dropping `completions` hands the reaped slots back to the kernel.
        dropped
    }

    /// Whether completions wait in the ring.
    ///
    /// # Safety
    ///
    /// As [`reap`](Self::reap).
    pub(crate) unsafe fn has_completions(&self) -> bool {
        // SAFETY: as in `reap`.
        let mut completions = unsafe { self.uring.completion_shared() };
        completions.sync();
        !completions.is_empty()
    }
}

/// Whether an error of the waiter's `io_uring_enter` only ends the wait: a signal (`EINTR`), the
/// timeout (`ETIME`), a full completion queue (`EBUSY`, `EAGAIN`: reaping makes room), or
/// completions the kernel dropped (`EBADR`, returned once after it could not even keep them in
/// its overflow list: the reap that follows sees the ring's dropped count go up and reports
/// every registration ready).
fn ends_a_wait(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN | libc::EBADR))
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the ring's fd stays open while `self.uring` lives, which outlives the borrow.
        unsafe { BorrowedFd::borrow_raw(self.uring.as_raw_fd()) }
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring").field("fd", &self.uring.as_raw_fd()).finish_non_exhaustive()
    }
}

/// The ring's submission queue, with a backlog for entries that did not fit: only ever used
/// under the `Polls` lock, which makes it the queue's only producer.
pub(crate) struct RingQueue {
    uring: Arc<IoUring>,
    backlog: VecDeque<squeue::Entry>,
}

impl RingQueue {
    fn push(&mut self, entry: squeue::Entry) {
        self.backlog.push_back(entry);
        self.fill();
    }

    /// Moves the backlog into the queue, as far as it fits, and publishes it; submits (without
    /// waiting) to make room while the backlog does not fit. Returns the queue's length.
    fn fill(&mut self) -> u32 {
        loop {
            // SAFETY: only used under the `Polls` lock, so no other `SubmissionQueue` of this
            // ring exists meanwhile (the waiter's enter reads no queue of ours).
            let mut queue = unsafe { self.uring.submission_shared() };
            while let Some(entry) = self.backlog.front() {
                // SAFETY: our entries are polls and removals, whose buffers (none) and fds stay
                // valid for the request's life (the fd until its removal is submitted).
                if unsafe { queue.push(entry) }.is_err() {
                    break;
                }
                self.backlog.pop_front();
            }
            queue.sync();
            let queued = u32::try_from(queue.len()).unwrap_or(u32::MAX);
            drop(queue);
            if self.backlog.is_empty() || self.enter_submit(queued).map_or(true, |taken| taken == 0) {
                return queued;
            }
        }
    }

    fn enter_submit(&self, count: u32) -> io::Result<usize> {
        // SAFETY: no argument; submission only.
        unsafe { self.uring.submitter().enter::<libc::sigset_t>(count, 0, 0, None) }
    }

    /// Whether the kernel keeps completions in its overflow list (`IORING_SQ_CQ_OVERFLOW`): the
    /// next enter must ask for them (`GETEVENTS`).
    pub(crate) fn cq_overflow(&mut self) -> bool {
        // SAFETY: as in `fill`.
        unsafe { self.uring.submission_shared() }.cq_overflow()
    }
}

impl Submission for RingQueue {
    fn poll(&mut self, fd: RawFd, key: u64, mask: u32) {
        self.push(opcode::PollAdd::new(types::Fd(fd), mask).multi(true).build().user_data(key));
    }

    fn remove(&mut self, key: u64) {
        self.push(opcode::PollRemove::new(key).build().user_data(INTERNAL_KEY));
    }

    fn submit(&mut self) -> io::Result<()> {
        let queued = self.fill();
        if queued == 0 {
            return Ok(());
        }
        loop {
            match self.enter_submit(queued) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map(drop),
            }
        }
    }

    fn publish(&mut self) -> u32 {
        self.fill()
    }
}

impl fmt::Debug for RingQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingQueue").field("backlog", &self.backlog.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_completions_end_a_wait_and_other_errors_fail_it() {
        let errno = |code| io::Error::from_raw_os_error(code);
        for code in [libc::EINTR, libc::ETIME, libc::EBUSY, libc::EAGAIN, libc::EBADR] {
            assert!(ends_a_wait(&errno(code)), "errno {code} only ends the wait");
        }
        for code in [libc::EBADF, libc::EFAULT, libc::EINVAL, libc::EOPNOTSUPP] {
            assert!(!ends_a_wait(&errno(code)), "errno {code} is an error of the wait");
        }
    }
}
