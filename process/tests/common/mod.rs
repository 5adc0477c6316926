//! The harness of the process tests: one test at a time, bounded, and checked for children
//! left behind.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::future::Future;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use reactor_epoll::{time, Runtime};

/// How long one test may run before it fails (and then again for its children to be reaped).
/// Never reached when the test passes; it turns a lost wake-up into a failure, not a hang.
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Tests run one at a time: each checks that no child of this process is left, which a test
/// running beside it would break.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `test` on a fresh default runtime under the watchdog, then waits (under the watchdog)
/// until this process has no child left, running or zombie, while the runtime (and so any
/// reaper task) still runs.
pub fn run<F: Future<Output = io::Result<()>>>(test: impl FnOnce() -> F) {
    let _serial = serial();
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        time::timeout(WATCHDOG, test()).await.expect("the test hung").expect("the test failed");
        if time::timeout(WATCHDOG, no_children_left()).await.is_err() {
            panic!("children left behind (pid, state): {:?}", children());
        }
    });
}

/// Holds the other tests of this binary off (see `SERIAL`).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until this process has no children at all.
async fn no_children_left() {
    while !children().is_empty() {
        time::sleep(Duration::from_millis(5)).await;
    }
}

/// This process's children, as (pid, state) with state `'Z'` for a zombie, from `/proc`.
pub fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        // Gone between the listing and the read: not ours any more anyway.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
        let Some(after_comm) = stat.rfind(')').map(|end| &stat[end + 1..]) else { continue };
        let mut fields = after_comm.split_whitespace();
        let state = fields.next().and_then(|state| state.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|ppid| ppid.parse::<u32>().ok());
        if ppid == Some(me) {
            children.push((pid, state));
        }
    }
    children
}

/// The state of process `pid` (`'Z'` for a zombie), or `None` once it is gone (reaped).
pub fn state_of(pid: u32) -> Option<char> {
    children().into_iter().find(|&(child, _)| child == pid).map(|(_, state)| state)
}

/// Waits until `pid` is gone: reaped, not merely exited.
pub async fn reaped(pid: u32) {
    while state_of(pid).is_some() {
        time::sleep(Duration::from_millis(5)).await;
    }
}
