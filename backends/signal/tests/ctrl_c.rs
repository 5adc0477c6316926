//! Ctrl-C, sent as another process sends it, and what children of a listening process inherit.

mod common;

use std::process::Command;

use common::{disposition, run_bounded, runtime};
use futures_lite::future::poll_once;
use reactor_epoll::signal::{ctrl_c, Signals};
use reactor_epoll::Backend;

/// SIGINT: `kill -INT <pid>` from a child `sh`; once the future is done and dropped, Ctrl-C has
/// its default effect again.
#[test]
fn ctrl_c_completes_on_a_sigint_sent_by_kill_from_a_child_shell() {
    run_bounded("ctrl_c", || {
        let runtime = runtime(Backend::Epoll);
        runtime.block_on(async {
            let mut interrupted = std::pin::pin!(ctrl_c());
            // The first poll makes the listener: the SIGINT below comes after it.
            assert!(poll_once(interrupted.as_mut()).await.is_none());
            assert_ne!(disposition(libc::SIGINT), libc::SIG_DFL);
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -INT {}", std::process::id()))
                .status()
                .unwrap();
            assert!(status.success());
            interrupted.await.unwrap();
        });
        assert_eq!(disposition(libc::SIGINT), libc::SIG_DFL, "Ctrl-C ends the process again");
    });
}

/// SIGTERM: a program spawned while a listener exists starts with no signal blocked, and dies
/// of SIGTERM as any program does (what signalfd, which needs the signal blocked in every
/// thread, would break: the mask is inherited across exec).
#[cfg(target_os = "linux")]
#[test]
fn a_child_spawned_while_listening_starts_with_no_signal_blocked() {
    use std::os::unix::process::ExitStatusExt;

    run_bounded("child_mask", || {
        let runtime = runtime(Backend::Epoll);
        let listening = Signals::with_source(&[libc::SIGTERM], runtime.io()).unwrap();
        let output = Command::new("sh").arg("-c").arg("grep SigBlk /proc/self/status").output().unwrap();
        let mask = String::from_utf8(output.stdout).unwrap();
        assert_eq!(mask.trim(), "SigBlk:\t0000000000000000", "{mask}");
        // exec resets a caught signal to its default: the child's SIGTERM is not ours.
        let status = Command::new("sh").arg("-c").arg("kill -TERM $$; sleep 10").status().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        drop(listening);
    });
}
