//! [`TempDir`]: a fresh directory for the example and its tests, removed on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use std::{env, fs, io, process};

/// A new, empty directory under the system's temporary directory, removed with its contents
/// when dropped.
#[derive(Debug)]
pub(crate) struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `reactor-custom-source-<pid>-<nanos>-<n>`: the process id and a counter make it
    /// unique within a run, the time unique across runs that reuse a process id.
    pub(crate) fn new() -> io::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // Relaxed: only the uniqueness of the value matters, not its ordering.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.subsec_nanos());
        let path = env::temp_dir().join(format!("reactor-custom-source-{}-{nanos}-{n}", process::id()));
        fs::create_dir(&path)?;
        Ok(Self { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a test may have removed it already, and a leftover temp dir is harmless.
        let _ = fs::remove_dir_all(&self.path);
    }
}
