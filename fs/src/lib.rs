//! Async files and file-system calls for [`reactor`], run on the executor's blocking pool.
//!
//! Operating systems offer no readiness for regular files (epoll refuses them; they are always
//! "ready" and then block), so, as `tokio::fs` and `async-fs` do, every call here runs its
//! `std::fs` counterpart on the blocking pool of the executor running the caller (reached
//! through [`reactor::Handle::current`]) and wakes the task when it is done.
//!
//! - [`File`]: `AsyncRead`, `AsyncWrite` and `AsyncSeek` (futures-io), buffered, one operation
//!   on the pool at a time, with the semantics of `tokio::fs::File` (writes return once buffered,
//!   flush waits for them and reports their errors).
//! - [`OpenOptions`], mirroring [`std::fs::OpenOptions`].
//! - [`read_dir`]: a [`Stream`](futures_core::Stream) of entries read in batches.
//! - The free functions of `std::fs`: [`read`], [`write()`], [`metadata`], [`rename`], ...
//!
//! # Errors
//!
//! Every function fails the way its `std::fs` counterpart does, with the same
//! [`io::ErrorKind`](std::io::ErrorKind) (`NotFound`, `PermissionDenied`, `IsADirectory`,
//! `DirectoryNotEmpty`, `StorageFull`, ...), and in two ways of its own:
//!
//! - `NotFound`, naming the call, outside a reactor executor (inside a task, `block_on` or
//!   `#[reactor_epoll::main]`): there is no blocking pool to run on;
//! - `Other`, saying so, when the work on the pool panicked or was cancelled because the
//!   executor shut down before the pool ran it.
//!
//! Nothing here panics on bad input. When the pool is at its thread limit, calls wait in its
//! queue: they are slower, never refused.
//!
//! # Examples
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! let dir = std::env::temp_dir().join(format!("reactor-fs-doc-{}", std::process::id()));
//! reactor_epoll::block_on(async {
//!     reactor_fs::create_dir_all(&dir).await?;
//!     let path = dir.join("greeting.txt");
//!
//!     let mut file = reactor_fs::File::create(&path).await?;
//!     file.write_all(b"hello from the blocking pool").await?;
//!     file.flush().await?; // waits for the write and reports its error
//!
//!     let mut text = String::new();
//!     reactor_fs::File::open(&path).await?.read_to_string(&mut text).await?;
//!     assert_eq!(text, "hello from the blocking pool");
//!     assert_eq!(reactor_fs::metadata(&path).await?.len(), 28);
//!
//!     let missing = reactor_fs::read(dir.join("missing")).await.unwrap_err();
//!     assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
//!
//!     reactor_fs::remove_dir_all(&dir).await
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod file;
mod functions;
mod open_options;
mod pool;
mod read_dir;

pub use file::{File, IntoStdError};
pub use functions::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, try_exists, write,
};
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
