//! [`File`]: a `std::fs::File` whose reads, writes and seeks run on the blocking pool.

mod state;

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use self::state::{Buf, State};
use crate::{pool, OpenOptions};

/// An open file whose reads, writes and seeks run on the blocking pool, as `AsyncRead`,
/// `AsyncWrite` and `AsyncSeek`.
///
/// It behaves as `tokio::fs::File` does:
///
/// - **One operation on the pool at a time.** A read, write, seek or call first waits for the one
///   in flight.
/// - **Buffered.** A read asks the OS for up to 64 KiB, no more than the caller's buffer (so
///   many small reads are as many trips to the pool: wrap the file in a `BufReader` for those),
///   and keeps what it did not hand out (the bytes of a read given up on); a write copies up to
///   64 KiB of its input and **returns once copied**, while the pool writes it. A seek, a write,
///   `set_len` or `into_std` after such a read accounts for the bytes read ahead: positions are
///   always those a `std::fs::File` would have.
/// - **Flush waits for the write.** [`poll_flush`](AsyncWrite::poll_flush) (`flush().await`),
///   and `close`, return once the pool has written everything, with its error if it failed. A
///   write error is never lost: it is returned by the next operation of any kind, or by flush or
///   close, exactly once. (`metadata` and `set_permissions`, which take `&self`, are not ordered
///   with writes: flush first.)
/// - **Dropping a file lets a write in flight complete**, even one still queued on the pool (its
///   outcome is then unobservable; flush first to see it). The file closes when the pool is done
///   with it. An executor's shutdown cancels work still queued on its pool (a running write
///   finishes): a write cancelled so is reported as an `Other` error by the next operation, on
///   any executor.
///
/// Every operation needs a reactor executor on the calling thread (it reaches the blocking pool
/// through it): outside one it fails with `NotFound` and changes nothing. Work that panicked or
/// was cancelled on the pool is reported as an `io::Error` of kind `Other` saying which.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
/// use reactor_fs::File;
///
/// # let path = std::env::temp_dir().join(format!("reactor-fs-doc-file-{}", std::process::id()));
/// reactor_epoll::block_on(async {
///     let mut file = File::options().read(true).write(true).create(true).open(&path).await?;
///     file.write_all(b"hello, file").await?;
///     file.seek(SeekFrom::Start(7)).await?;
///     let mut word = String::new();
///     file.read_to_string(&mut word).await?;
///     assert_eq!(word, "file");
///     # reactor_fs::remove_file(&path).await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    /// Shared with the pool thread running an operation (or `metadata`), never used by two
    /// buffered operations at once.
    std: Arc<std::fs::File>,
    state: State,
    /// The error of an operation nobody waited for (see `state`), returned by the next one.
    error: Option<io::Error>,
}

impl File {
    /// Opens `path` read-only (as [`std::fs::File::open`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::open`] (`NotFound` for a missing file, `PermissionDenied`), and
    /// `NotFound` outside a reactor executor, `Other` if the blocking work panicked or was
    /// cancelled.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it (as [`std::fs::File::create`]).
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::create`] (`NotFound` for a missing parent directory,
    /// `IsADirectory`, `PermissionDenied`), and those of [`File::open`] outside an executor.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().write(true).create(true).truncate(true).open(path).await
    }

    /// Creates `path` read-write, failing with `AlreadyExists` if it exists (as
    /// [`std::fs::File::create_new`]).
    ///
    /// # Errors
    ///
    /// `AlreadyExists`, and those of [`File::create`].
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path).await
    }

    /// The [`OpenOptions`] to open a file with (as [`std::fs::File::options`]).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`; reads, writes and seeks start at its current position.
    /// Never fails: the blocking pool is only reached by the first operation.
    pub fn from_std(file: std::fs::File) -> File {
        File { std: Arc::new(file), state: State::Idle(Buf::default()), error: None }
    }

    /// Waits for the operation in flight, gives the read-ahead back (the std file's position is
    /// this file's), and returns the `std::fs::File`.
    ///
    /// # Errors
    ///
    /// [`IntoStdError`], handing this file back, if a write (or other operation) nobody awaited
    /// had failed (the error is reported once: a second `into_std` succeeds), if seeking back
    /// over the read-ahead failed, or outside a reactor executor when there was read-ahead. If a
    /// dropped `metadata` future still holds the file on the pool, the fd is duplicated
    /// (`try_clone`), which can fail with the OS's error (`EMFILE`...).
    pub async fn into_std(mut self) -> Result<std::fs::File, IntoStdError> {
        let mut done = poll_fn(|cx| self.poll_idle(cx)).await;
        if done.is_ok() && self.ahead() > 0 {
            let mut rewind = Some(|_: &std::fs::File| Ok(()));
            done = poll_fn(|cx| self.poll_call_inner(cx, &mut rewind, true)).await;
        }
        if let Err(error) = done {
            return Err(IntoStdError { file: self, error });
        }
        let std = Arc::clone(&self.std);
        drop(self);
        match Arc::try_unwrap(std) {
            Ok(file) => Ok(file),
            Err(shared) => shared
                .try_clone()
                .map_err(|error| IntoStdError { file: File::from_std_shared(shared), error }),
        }
    }

    fn from_std_shared(std: Arc<std::fs::File>) -> File {
        File { std, state: State::Idle(Buf::default()), error: None }
    }

    /// The file's metadata, on the pool (as [`std::fs::File::metadata`]). It does not wait for a
    /// write in flight: flush first for a length that includes every write.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::metadata`], `NotFound` outside a reactor executor, `Other` if the
    /// blocking work panicked or was cancelled.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = Arc::clone(&self.std);
        pool::run("reactor_fs::File::metadata", move || std.metadata()).await
    }

    /// Sets the file's permissions, on the pool (as [`std::fs::File::set_permissions`]). Like
    /// [`metadata`](Self::metadata) it does not wait for a write in flight.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::File::set_permissions`] (`PermissionDenied` when not the owner), and
    /// those of [`metadata`](Self::metadata) outside an executor.
    pub async fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        let std = Arc::clone(&self.std);
        pool::run("reactor_fs::File::set_permissions", move || std.set_permissions(permissions)).await
    }

    /// Truncates or extends the file to `size` bytes (as [`std::fs::File::set_len`]), after the
    /// write in flight; the position is unchanged.
    ///
    /// # Errors
    ///
    /// A kept write error first (the resize is then not done), those of
    /// [`std::fs::File::set_len`] (`InvalidInput` for a file not open for writing), and `NotFound`
    /// outside a reactor executor, `Other` if the blocking work panicked or was cancelled.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        let mut call = Some(move |file: &std::fs::File| file.set_len(size));
        poll_fn(|cx| self.poll_call_inner(cx, &mut call, true)).await
    }

    /// Waits for the write in flight, then flushes data and metadata to the device (as
    /// [`std::fs::File::sync_all`]).
    ///
    /// # Errors
    ///
    /// A kept write error first (the sync is then not done), those of `fsync(2)` (`EIO`), and
    /// those of [`set_len`](Self::set_len) outside an executor.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        let mut call = Some(|file: &std::fs::File| file.sync_all());
        poll_fn(|cx| self.poll_call_inner(cx, &mut call, false)).await
    }

    /// Waits for the write in flight, then flushes the data (not necessarily the metadata) to
    /// the device (as [`std::fs::File::sync_data`]).
    ///
    /// # Errors
    ///
    /// As [`sync_all`](Self::sync_all).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        let mut call = Some(|file: &std::fs::File| file.sync_data());
        poll_fn(|cx| self.poll_call_inner(cx, &mut call, false)).await
    }
}

impl AsyncRead for File {
    /// Hands out read-ahead, or reads up to `min(buf.len(), 64 KiB)` on the pool.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl AsyncWrite for File {
    /// Waits for the write in flight (returning its error), then copies up to 64 KiB of `buf`,
    /// starts writing it on the pool and returns.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    /// Waits for the operation in flight; returns a write error nobody has seen yet.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }

    /// As flush: the file itself closes when dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }
}

impl AsyncSeek for File {
    /// Waits for the operation in flight (returning a write error), then seeks on the pool,
    /// counting read-ahead in a `SeekFrom::Current` offset.
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> Self {
        File::from_std(file)
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("busy", &matches!(self.state, State::Busy { .. }))
            .field("error", &self.error)
            .finish()
    }
}

/// Why [`File::into_std`] failed, with the file handed back.
#[derive(Debug)]
pub struct IntoStdError {
    file: File,
    error: io::Error,
}

impl IntoStdError {
    /// The error.
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The file and the error.
    pub fn into_parts(self) -> (File, io::Error) {
        (self.file, self.error)
    }
}

impl fmt::Display for IntoStdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reactor_fs::File::into_std: {}", self.error)
    }
}

impl std::error::Error for IntoStdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<IntoStdError> for io::Error {
    fn from(error: IntoStdError) -> Self {
        error.error
    }
}
