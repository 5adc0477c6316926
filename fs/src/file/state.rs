//! The state machine behind [`File`]'s `AsyncRead`, `AsyncWrite` and `AsyncSeek`.
//!
//! A file has at most one operation on the blocking pool at a time ([`State::Busy`]); the buffer
//! travels with it to the pool thread and back, so no lock is ever shared with a pool thread.
//! Its invariants:
//!
//! - Idle, the buffer holds only **read-ahead**: bytes the OS cursor has passed that the user has
//!   not been given. The user's position is the OS cursor minus their count, so anything that
//!   moves or uses the OS cursor (a write, a seek, `set_len`, `into_std`) first drops them and
//!   moves the cursor back by as many (a write or `set_len` seeks back on the pool before
//!   writing; a `SeekFrom::Current` seek folds them into its offset).
//! - A write is started as soon as the bytes are copied into the buffer (at most [`MAX_BUF`] of
//!   them, so one huge write does not copy unbounded memory at once): `poll_write` returns then,
//!   and the write's outcome is picked up by whichever operation completes it next.
//! - An outcome nobody is waiting for is **settled**: a failed write (or a failed `set_len` /
//!   `sync_*` whose future was dropped) is kept in `error` and returned by the next operation,
//!   flush or close, once; read-ahead stays buffered. A failed read or seek nobody awaits changed
//!   nothing on disk and is dropped.

use std::cmp;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use reactor::Task;

use super::File;
use crate::pool;

/// The most bytes one operation moves to or from the pool: a write copies at most this much of
/// its input, a read asks the OS for at most this much.
pub(crate) const MAX_BUF: usize = 64 * 1024;

/// Bytes between the task and the pool thread: read-ahead (`data[pos..]` not yet handed out), or
/// a chunk on its way to be written.
#[derive(Debug, Default)]
pub(super) struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    /// Hands out read-ahead into `dst`.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = cmp::min(dst.len(), self.data.len() - self.pos);
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// How far the OS cursor is past the user's position (the read-ahead not handed out).
    fn ahead(&self) -> i64 {
        // A buffer never holds more than `MAX_BUF` bytes, far below `i64::MAX`.
        (self.data.len() - self.pos) as i64
    }

    /// Takes in (at most `MAX_BUF` of) `src` to be written; the buffer must be empty.
    fn copy_from(&mut self, src: &[u8]) -> usize {
        let n = cmp::min(src.len(), MAX_BUF);
        self.clear();
        self.data.extend_from_slice(&src[..n]);
        n
    }

    /// On the pool: reads at most `max` bytes from the OS cursor into the buffer.
    fn read_from(&mut self, mut file: &std::fs::File, max: usize) -> io::Result<usize> {
        self.data.clear();
        self.data.resize(max, 0);
        self.pos = 0;
        let result = loop {
            match file.read(&mut self.data) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => break result,
            }
        };
        self.data.truncate(*result.as_ref().unwrap_or(&0));
        result
    }

    /// On the pool: writes the whole buffer at the OS cursor, and empties it.
    fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let result = file.write_all(&self.data[self.pos..]);
        self.clear();
        result
    }
}

/// The outcome of an operation on the pool.
#[derive(Debug)]
pub(super) enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    /// The seek the user asked for (before read-ahead was folded in), and where it landed.
    Seek(SeekFrom, io::Result<u64>),
    /// `set_len`, `sync_all`, `sync_data`, or the seek-back of `into_std`.
    Call(io::Result<()>),
}

/// What is on the pool, to name the outcome if the work panicked or was cancelled.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Read,
    Write,
    Seek(SeekFrom),
    Call,
}

impl Kind {
    fn failed(self, error: io::Error) -> Op {
        match self {
            Kind::Read => Op::Read(Err(error)),
            Kind::Write => Op::Write(Err(error)),
            Kind::Seek(pos) => Op::Seek(pos, Err(error)),
            Kind::Call => Op::Call(Err(error)),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Read => "reading a reactor_fs::File",
            Kind::Write => "writing a reactor_fs::File",
            Kind::Seek(_) => "seeking a reactor_fs::File",
            Kind::Call => "an operation on a reactor_fs::File",
        }
    }
}

/// Idle with its buffer, or one operation on the pool.
#[derive(Debug)]
pub(super) enum State {
    Idle(Buf),
    Busy { task: Task<(Op, Buf)>, kind: Kind },
}

impl Drop for File {
    /// Lets the operation on the pool run to completion: dropping a file right after a write
    /// must not cancel the write. Its outcome is dropped with it; the pool thread closes the
    /// file when it is done.
    fn drop(&mut self) {
        if let State::Busy { task, .. } = mem::replace(&mut self.state, State::Idle(Buf::default())) {
            task.detach();
        }
    }
}

impl File {
    /// Waits for the operation on the pool, if any, and returns its outcome with the file idle.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Option<Op>> {
        let State::Busy { task, kind } = &mut self.state else { return Poll::Ready(None) };
        let kind = *kind;
        let (op, buf) = match ready!(Pin::new(task).poll(cx)) {
            Ok(done) => done,
            Err(error) => (kind.failed(pool::join_error(kind.what(), error)), Buf::default()),
        };
        // The task is finished: replacing it detaches nothing.
        self.state = State::Idle(buf);
        Poll::Ready(Some(op))
    }

    /// Keeps the outcome of an operation nobody is waiting for (see the module docs).
    fn settle(&mut self, op: Op) {
        let error = match op {
            Op::Write(Err(error)) | Op::Call(Err(error)) => error,
            Op::Read(_) | Op::Write(Ok(())) | Op::Seek(..) | Op::Call(Ok(())) => return,
        };
        // The first error wins: a later one is most likely its consequence.
        self.error.get_or_insert(error);
    }

    /// Waits until nothing is on the pool, then reports a kept error once. This is flush.
    pub(super) fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(op) = ready!(self.poll_complete(cx)) {
            self.settle(op);
        }
        Poll::Ready(self.error.take().map_or(Ok(()), Err))
    }

    /// Starts `work` on the pool with the file's buffer; the file must be idle.
    fn start<W>(&mut self, kind: Kind, work: W) -> io::Result<()>
    where
        W: FnOnce(&std::fs::File, Buf) -> (Op, Buf) + Send + 'static,
    {
        let handle = pool::handle(kind.what())?;
        let State::Idle(buf) = &mut self.state else {
            return Err(io::Error::other("reactor_fs::File: an operation is already in flight"));
        };
        let (buf, std) = (mem::take(buf), Arc::clone(&self.std));
        let task = pool::spawn_on(&handle, move || work(&std, buf));
        self.state = State::Busy { task, kind };
        Ok(())
    }

    /// The idle buffer's read-ahead count (0 when busy).
    pub(super) fn ahead(&self) -> i64 {
        match &self.state {
            State::Idle(buf) => buf.ahead(),
            State::Busy { .. } => 0,
        }
    }

    fn drop_read_ahead(&mut self) {
        if let State::Idle(buf) = &mut self.state {
            buf.clear();
        }
    }

    pub(super) fn poll_read_inner(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match ready!(self.poll_complete(cx)) {
                Some(Op::Read(Ok(_))) => {
                    if let Some(error) = self.error.take() {
                        return Poll::Ready(Err(error));
                    }
                    let State::Idle(buf) = &mut self.state else { continue };
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
                Some(Op::Read(Err(error))) => return Poll::Ready(Err(error)),
                Some(op) => {
                    self.settle(op);
                    continue;
                }
                None => {}
            }
            ready!(self.poll_idle(cx))?;
            let State::Idle(buf) = &mut self.state else { continue };
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let max = cmp::min(dst.len(), MAX_BUF);
            self.start(Kind::Read, move |file, mut buf| {
                let result = buf.read_from(file, max);
                (Op::Read(result), buf)
            })?;
        }
    }

    pub(super) fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_idle(cx))?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Before touching the buffer: outside an executor, the read-ahead must stay.
        pool::handle(Kind::Write.what())?;
        let back = self.ahead();
        let State::Idle(buf) = &mut self.state else {
            return Poll::Ready(Err(io::Error::other("reactor_fs::File: an operation is in flight")));
        };
        let n = buf.copy_from(src);
        self.start(Kind::Write, move |mut file, mut buf| {
            let mut write = || {
                if back > 0 {
                    file.seek(SeekFrom::Current(-back))?;
                }
                buf.write_to(file)
            };
            let result = write();
            // A failed seek-back leaves the chunk unwritten: it is dropped with the error.
            buf.clear();
            (Op::Write(result), buf)
        })?;
        Poll::Ready(Ok(n))
    }

    pub(super) fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_complete(cx)) {
                // The outcome of this seek, started by an earlier poll. (A seek future dropped
                // before completing, followed by an identical `SeekFrom::Current` seek, would
                // take the first one's outcome: the cursor moves once, not twice.)
                Some(Op::Seek(asked, result)) if asked == pos => return Poll::Ready(result),
                Some(op) => {
                    self.settle(op);
                    continue;
                }
                None => {}
            }
            ready!(self.poll_idle(cx))?;
            let target = match pos {
                SeekFrom::Current(offset) => match offset.checked_sub(self.ahead()) {
                    Some(offset) => SeekFrom::Current(offset),
                    None => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "reactor_fs::File: seek offset overflows an i64",
                        )))
                    }
                },
                absolute => absolute,
            };
            pool::handle(Kind::Seek(pos).what())?;
            self.drop_read_ahead();
            self.start(Kind::Seek(pos), move |mut file, buf| {
                let result = file.seek(target);
                (Op::Seek(pos, result), buf)
            })?;
        }
    }

    /// Starts `call` on the pool once the file is idle (read-ahead given back to the OS cursor
    /// first, when `rewind`), and waits for its outcome.
    pub(super) fn poll_call_inner<C>(
        &mut self,
        cx: &mut Context<'_>,
        call: &mut Option<C>,
        rewind: bool,
    ) -> Poll<io::Result<()>>
    where
        C: FnOnce(&std::fs::File) -> io::Result<()> + Send + 'static,
    {
        loop {
            if call.is_none() {
                // Started: the operation on the pool is ours (we hold `&mut File` throughout).
                match ready!(self.poll_complete(cx)) {
                    Some(Op::Call(result)) => return Poll::Ready(result),
                    Some(op) => self.settle(op),
                    None => {
                        return Poll::Ready(Err(io::Error::other(
                            "reactor_fs::File: the outcome of the operation was lost",
                        )))
                    }
                }
                continue;
            }
            ready!(self.poll_idle(cx))?;
            pool::handle(Kind::Call.what())?;
            let back = if rewind { self.ahead() } else { 0 };
            if rewind {
                self.drop_read_ahead();
            }
            let Some(call) = call.take() else { continue };
            self.start(Kind::Call, move |mut file, buf| {
                let run = || {
                    if back > 0 {
                        file.seek(SeekFrom::Current(-back))?;
                    }
                    call(file)
                };
                (Op::Call(run()), buf)
            })?;
        }
    }
}
