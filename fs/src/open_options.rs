//! [`OpenOptions`]: std's options, opening on the blocking pool.

use std::io;
use std::path::Path;

use crate::{pool, File};

/// Options for opening a [`File`], mirroring [`std::fs::OpenOptions`] method for method; only
/// [`open`](Self::open) differs: it is async and runs on the blocking pool.
///
/// # Examples
///
/// ```
/// use futures_lite::AsyncWriteExt;
/// use reactor_fs::OpenOptions;
///
/// # let path = std::env::temp_dir().join(format!("reactor-fs-doc-options-{}", std::process::id()));
/// reactor_epoll::block_on(async {
///     let mut log = OpenOptions::new().append(true).create(true).open(&path).await?;
///     log.write_all(b"one line\n").await?;
///     log.flush().await?;
///     # reactor_fs::remove_file(&path).await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with everything off (as [`std::fs::OpenOptions::new`]): set at least `read`,
    /// `write` or `append` before opening.
    pub fn new() -> Self {
        Self(std::fs::OpenOptions::new())
    }

    /// Opens for reading.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.0.read(read);
        self
    }

    /// Opens for writing.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.0.write(write);
        self
    }

    /// Opens for appending: every write goes to the end of the file, wherever the file was
    /// seeked to (implies `write`).
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.0.append(append);
        self
    }

    /// Truncates an existing file to length 0 on opening (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.0.truncate(truncate);
        self
    }

    /// Creates the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.0.create(create);
        self
    }

    /// Creates the file, failing with `AlreadyExists` if it exists (atomically; needs `write`
    /// or `append`; `create` and `truncate` are then ignored).
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a file this creates, before the umask (as
    /// [`std::os::unix::fs::OpenOptionsExt::mode`]).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags, or-ed in (as [`std::os::unix::fs::OpenOptionsExt::custom_flags`]).
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// # Errors
    ///
    /// Those of [`std::fs::OpenOptions::open`]: `NotFound` for a missing file or parent
    /// directory, `AlreadyExists` with `create_new`, `InvalidInput` for contradictory options
    /// (`create` without `write`), `PermissionDenied`, ... And `NotFound` outside a reactor
    /// executor, `Other` if the blocking work panicked or was cancelled.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let (options, path) = (self.0.clone(), path.as_ref().to_owned());
        let std = pool::run("reactor_fs::OpenOptions::open", move || options.open(path)).await?;
        Ok(File::from_std(std))
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> Self {
        Self(options)
    }
}
