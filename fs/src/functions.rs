//! The free functions: each runs its `std::fs` counterpart once on the blocking pool.
//!
//! Every one fails the way its `std::fs` counterpart does (same `io::ErrorKind`, same message),
//! plus two ways of its own: `NotFound` when called outside a reactor executor (there is no
//! blocking pool to run on), and `Other` when the blocking work panicked or was cancelled because
//! its executor shut down first. None of them panics.

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use crate::pool;

/// Reads the whole file at `path` into a `Vec` (as [`std::fs::read`]).
///
/// # Errors
///
/// Those of [`std::fs::read`] (`NotFound`, `PermissionDenied`, `IsADirectory`, ...), and those
/// every function of this crate has (see the [crate docs](crate#errors)).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::read", move || std::fs::read(path)).await
}

/// Reads the whole file at `path` into a `String` (as [`std::fs::read_to_string`]).
///
/// # Errors
///
/// Those of [`std::fs::read_to_string`] (`InvalidData` when the file is not UTF-8), and those
/// every function of this crate has (see the [crate docs](crate#errors)).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::read_to_string", move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole content of the file at `path`, creating or truncating it (as
/// [`std::fs::write`]). The bytes are copied once, to move them to the pool thread.
///
/// # Errors
///
/// Those of [`std::fs::write`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let (path, contents) = (path.as_ref().to_owned(), contents.as_ref().to_owned());
    pool::run("reactor_fs::write", move || std::fs::write(path, contents)).await
}

/// The metadata of `path`, following symbolic links (as [`std::fs::metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::metadata`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::metadata", move || std::fs::metadata(path)).await
}

/// The metadata of `path` itself, not following a symbolic link (as
/// [`std::fs::symlink_metadata`]).
///
/// # Errors
///
/// Those of [`std::fs::symlink_metadata`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::symlink_metadata", move || std::fs::symlink_metadata(path)).await
}

/// The absolute form of `path` with every link resolved (as [`std::fs::canonicalize`]).
///
/// # Errors
///
/// Those of [`std::fs::canonicalize`] (`NotFound` for a missing component), and those every
/// function of this crate has (see the [crate docs](crate#errors)).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::canonicalize", move || std::fs::canonicalize(path)).await
}

/// Copies the content and permissions of `from` to `to`, returning the bytes copied (as
/// [`std::fs::copy`]).
///
/// # Errors
///
/// Those of [`std::fs::copy`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    pool::run("reactor_fs::copy", move || std::fs::copy(from, to)).await
}

/// Creates the directory `path`; its parent must exist (as [`std::fs::create_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir`] (`AlreadyExists`, `NotFound` for a missing parent), and
/// those every function of this crate has (see the [crate docs](crate#errors)).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::create_dir", move || std::fs::create_dir(path)).await
}

/// Creates the directory `path` and every missing parent (as [`std::fs::create_dir_all`]).
///
/// # Errors
///
/// Those of [`std::fs::create_dir_all`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::create_dir_all", move || std::fs::create_dir_all(path)).await
}

/// Removes the file (or symbolic link) `path` (as [`std::fs::remove_file`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_file`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::remove_file", move || std::fs::remove_file(path)).await
}

/// Removes the empty directory `path` (as [`std::fs::remove_dir`]).
///
/// # Errors
///
/// Those of [`std::fs::remove_dir`] (`DirectoryNotEmpty` when it has entries), and those every
/// function of this crate has (see the [crate docs](crate#errors)).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::remove_dir", move || std::fs::remove_dir(path)).await
}

/// Removes the directory `path` and everything in it (as [`std::fs::remove_dir_all`]); one
/// trip to the pool for the whole tree.
///
/// # Errors
///
/// Those of [`std::fs::remove_dir_all`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::remove_dir_all", move || std::fs::remove_dir_all(path)).await
}

/// Renames `from` to `to`, replacing `to` if it exists (as [`std::fs::rename`]).
///
/// # Errors
///
/// Those of [`std::fs::rename`] (`CrossesDevices` across file systems), and those every function
/// of this crate has (see the [crate docs](crate#errors)).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    pool::run("reactor_fs::rename", move || std::fs::rename(from, to)).await
}

/// Creates `link` as a new hard link to `original` (as [`std::fs::hard_link`]).
///
/// # Errors
///
/// Those of [`std::fs::hard_link`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    pool::run("reactor_fs::hard_link", move || std::fs::hard_link(original, link)).await
}

/// The target of the symbolic link `path` (as [`std::fs::read_link`]).
///
/// # Errors
///
/// Those of [`std::fs::read_link`] (`InvalidInput` when `path` is not a link), and those every
/// function of this crate has (see the [crate docs](crate#errors)).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::read_link", move || std::fs::read_link(path)).await
}

/// Sets the permissions of `path` (as [`std::fs::set_permissions`]).
///
/// # Errors
///
/// Those of [`std::fs::set_permissions`], and those every function of this crate has (see the
/// [crate docs](crate#errors)).
pub async fn set_permissions(path: impl AsRef<Path>, permissions: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::set_permissions", move || std::fs::set_permissions(path, permissions)).await
}

/// Whether `path` exists: `Ok(false)` for a path that does not (or a broken symbolic link), an
/// error when that cannot be told (as [`Path::try_exists`]).
///
/// # Errors
///
/// Those of [`Path::try_exists`] (`PermissionDenied` on a parent), and those every function of
/// this crate has (see the [crate docs](crate#errors)).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    pool::run("reactor_fs::try_exists", move || path.try_exists()).await
}
