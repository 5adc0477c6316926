//! Helpers shared by the integration tests: a fresh temporary directory per test and a watchdog.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use reactor_epoll::Runtime;

/// How long one test may run before the watchdog fails it. Never reached when the test passes;
/// it turns a lost wake-up into a failure instead of a hung test run.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// A directory of its own for one test, removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<temp>/reactor-fs-<test>-<pid>-<n>`.
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("reactor-fs-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `test` on a thread of its own named `name`, and fails if it panics or has not returned
/// within [`WATCHDOG`] (the thread is then left behind; the test binary exits without it).
pub fn bounded(name: &str, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            test();
            let _ = done.send(());
        })
        .unwrap();
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => thread.join().unwrap(),
        // The test thread panicked (dropping `done`): report its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: still running after {WATCHDOG:?}"),
    }
}

/// Runs the future `test` builds on a fresh default runtime, under the watchdog, with a fresh
/// temporary directory that is removed afterwards.
pub fn run<F, Fut>(name: &'static str, test: F)
where
    F: FnOnce(TempDir) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<()>>,
{
    run_on(name, Runtime::new, test);
}

/// As [`run`], on the runtime `runtime` builds.
pub fn run_on<F, Fut>(name: &'static str, runtime: fn() -> io::Result<Runtime>, test: F)
where
    F: FnOnce(TempDir) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<()>>,
{
    bounded(name, move || {
        let dir = TempDir::new(name);
        let runtime = runtime().unwrap();
        runtime.block_on(test(dir)).unwrap();
    });
}

/// A runtime whose blocking pool has one thread, so that [`PoolHold`] decides when queued work
/// runs.
pub fn one_pool_thread() -> io::Result<Runtime> {
    Runtime::builder().max_blocking_threads(1).build()
}

/// Occupies the only thread of a [`one_pool_thread`] runtime's pool until released: work
/// submitted meanwhile stays queued behind it, in order.
#[derive(Debug)]
pub struct PoolHold(mpsc::Sender<()>);

impl PoolHold {
    /// Queues the job that holds the pool (call inside the runtime).
    pub fn new() -> Self {
        let (release, held) = mpsc::channel::<()>();
        let handle = reactor_epoll::Handle::current().unwrap();
        handle.spawn_blocking(move || held.recv_timeout(WATCHDOG)).detach();
        Self(release)
    }

    /// Lets the pool go without waiting (for use outside the runtime).
    pub fn let_go(self) {
        drop(self.0);
    }

    /// Lets the pool go, and waits until everything queued before this call has run: a job
    /// queued now runs after them on the one thread.
    pub async fn release(self) {
        drop(self.0);
        let handle = reactor_epoll::Handle::current().unwrap();
        handle.spawn_blocking(|| ()).await.unwrap();
    }
}

/// A small deterministic generator (xorshift64*), so that a failing sequence is reproducible.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a nonzero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next number below `bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }

    /// `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.below(256) as u8).collect()
    }
}

/// FNV-1a over `bytes`, continuing from `hash` (start at [`FNV_START`]).
pub fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100_0000_01b3);
    }
    hash
}

/// The start value of [`fnv`].
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The name of an error kind, as `Debug` prints it: compares kinds std stabilized after our
/// minimum Rust version (`StorageFull`, `IsADirectory`, `DirectoryNotEmpty`) by name.
pub fn kind_name(error: &io::Error) -> String {
    format!("{:?}", error.kind())
}
