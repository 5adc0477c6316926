//! [`read_dir`]: a directory's entries as a `Stream`, read on the pool in batches.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use reactor::Task;

use crate::pool;

/// How many entries one trip to the pool reads.
const BATCH: usize = 32;

/// Opens the directory `path` for reading its entries, as a [`ReadDir`] stream (as
/// [`std::fs::read_dir`]). The entries come in the OS's order, without `.` and `..`.
///
/// # Errors
///
/// Those of [`std::fs::read_dir`] (`NotFound`, `NotADirectory`, `PermissionDenied`), `NotFound`
/// outside a reactor executor, `Other` if the blocking work panicked or was cancelled.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
///
/// reactor_epoll::block_on(async {
///     let mut entries = reactor_fs::read_dir("/").await?;
///     let mut count = 0;
///     while let Some(entry) = entries.next().await {
///         let _name = entry?.file_name();
///         count += 1;
///     }
///     assert!(count > 0);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let dir = pool::run("reactor_fs::read_dir", move || std::fs::read_dir(path)).await?;
    Ok(ReadDir { state: State::Idle(Some(Batch { dir, entries: VecDeque::new(), done: false })) })
}

/// The entries read so far and the rest of the directory, travelling to the pool and back.
#[derive(Debug)]
struct Batch {
    dir: std::fs::ReadDir,
    entries: VecDeque<io::Result<std::fs::DirEntry>>,
    /// The OS reported the end: no more trips.
    done: bool,
}

impl Batch {
    /// On the pool: reads up to `BATCH` entries.
    fn fill(mut self) -> Self {
        for _ in 0..BATCH {
            match self.dir.next() {
                Some(entry) => self.entries.push_back(entry),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        self
    }
}

#[derive(Debug)]
enum State {
    /// `None` once the stream has ended (or its batch was lost to a panic or cancellation).
    Idle(Option<Batch>),
    Busy(Task<Batch>),
}

/// The entries of a directory, from [`read_dir`]: a [`Stream`] of `io::Result<DirEntry>`.
///
/// Entries are read on the blocking pool 32 at a time (one trip per batch, not per entry). An
/// error reading one entry is yielded in its place and the stream goes on, as
/// [`std::fs::ReadDir`] does. If the blocking work panicked or was cancelled, the stream yields
/// that error (kind `Other`) and ends. Polled outside a reactor executor, it yields a `NotFound`
/// error and can be polled again inside one. Dropping it while a batch is on the pool lets the
/// batch finish and closes the directory then.
#[derive(Debug)]
pub struct ReadDir {
    state: State,
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Idle(None) => return Poll::Ready(None),
                State::Idle(Some(batch)) => {
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(Some(entry.map(DirEntry::new)));
                    }
                    if batch.done {
                        this.state = State::Idle(None);
                        return Poll::Ready(None);
                    }
                    let handle = match pool::handle("reading a reactor_fs::ReadDir") {
                        Ok(handle) => handle,
                        Err(error) => return Poll::Ready(Some(Err(error))),
                    };
                    let State::Idle(Some(batch)) = std::mem::replace(&mut this.state, State::Idle(None))
                    else {
                        continue;
                    };
                    this.state = State::Busy(pool::spawn_on(&handle, move || batch.fill()));
                }
                State::Busy(task) => {
                    let result = ready!(Pin::new(task).poll(cx));
                    match result {
                        Ok(batch) => this.state = State::Idle(Some(batch)),
                        Err(error) => {
                            this.state = State::Idle(None);
                            let error = pool::join_error("reading a reactor_fs::ReadDir", error);
                            return Poll::Ready(Some(Err(error)));
                        }
                    }
                }
            }
        }
    }
}

impl Drop for ReadDir {
    fn drop(&mut self) {
        if let State::Busy(task) = std::mem::replace(&mut self.state, State::Idle(None)) {
            task.detach();
        }
    }
}

/// An entry of a directory, from [`ReadDir`] (as [`std::fs::DirEntry`]).
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    fn new(entry: std::fs::DirEntry) -> Self {
        Self(Arc::new(entry))
    }

    /// The full path: the directory given to [`read_dir`] joined with the file name.
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's metadata, on the pool, not following a symbolic link (as
    /// [`std::fs::DirEntry::metadata`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::DirEntry::metadata`] (`NotFound` if the entry was removed since),
    /// `NotFound` outside a reactor executor, `Other` if the blocking work panicked or was
    /// cancelled.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let entry = Arc::clone(&self.0);
        pool::run("reactor_fs::DirEntry::metadata", move || entry.metadata()).await
    }

    /// The entry's file type, not following a symbolic link (as
    /// [`std::fs::DirEntry::file_type`]); on the pool, since some file systems need a `stat`.
    ///
    /// # Errors
    ///
    /// As [`metadata`](Self::metadata).
    pub async fn file_type(&self) -> io::Result<FileType> {
        let entry = Arc::clone(&self.0);
        pool::run("reactor_fs::DirEntry::file_type", move || entry.file_type()).await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}
