//! Real children (`cat`, `sh`, `sleep`, `true`, `false`) spawned, streamed through, waited
//! for, killed and dropped; after every test, no child of this process is left (checked in
//! `/proc`).

mod common;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use reactor_epoll::{spawn, time};
use reactor_process::{Command, Stdio};

use common::{reaped, run, state_of};

/// A command whose children use the pidfd, or the fallback if `fallback`.
fn command(program: &str, fallback: bool) -> Command {
    let mut command = Command::new(program);
    command.force_fallback(fallback);
    command
}

fn sh(script: &str, fallback: bool) -> Command {
    let mut command = command("sh", fallback);
    command.args(["-c", script]);
    command
}

/// 1 MiB of bytes that are not a repeating pattern a short pipe buffer could fake.
fn payload() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn a_mebibyte_streams_through_cat_written_and_read_by_two_tasks() {
    run(|| async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        assert!(!child.uses_fallback(), "this kernel has pidfd_open");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let sent = payload();
        let to_send = sent.clone();
        let writer = spawn(async move {
            stdin.write_all(&to_send).await?;
            drop(stdin); // end of input: cat exits after echoing it all
            io::Result::Ok(())
        });
        let reader = spawn(async move {
            let mut received = Vec::new();
            stdout.read_to_end(&mut received).await?;
            io::Result::Ok(received)
        });
        writer.await.unwrap()?;
        let received = reader.await.unwrap()?;
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "cat echoed different bytes");
        assert!(child.wait().await?.success());
        Ok(())
    });
}

fn exit_codes_are_reported(fallback: bool) {
    run(|| async move {
        assert_eq!(sh("exit 3", fallback).status().await?.code(), Some(3));
        assert!(command("true", fallback).status().await?.success());
        let status = command("false", fallback).status().await?;
        assert_eq!((status.success(), status.code(), status.signal()), (false, Some(1), None));
        Ok(())
    });
}

#[test]
fn exit_codes_are_reported_with_pidfd() {
    exit_codes_are_reported(false);
}

#[test]
fn exit_codes_are_reported_with_the_fallback() {
    exit_codes_are_reported(true);
}

fn a_killed_child_reports_sigkill_and_a_second_kill_is_ok(fallback: bool) {
    run(|| async move {
        let mut child = command("sleep", fallback).arg("1000").spawn()?;
        assert_eq!(child.uses_fallback(), fallback);
        assert_eq!(child.try_wait()?, None, "sleep 1000 still runs");
        // A child that never exits: `wait` pends until a timeout ends it ...
        assert!(time::timeout(Duration::from_millis(20), child.wait()).await.is_err());
        // ... and `kill` then `wait` reaps it.
        child.kill()?;
        let status = child.wait().await?;
        assert_eq!((status.code(), status.signal()), (None, Some(libc::SIGKILL)));
        assert_eq!(state_of(child.id()), None, "reaped by wait");
        // std's documented behaviour: killing a reaped child is Ok and signals nobody.
        child.kill()?;
        assert_eq!(child.try_wait()?, Some(status));
        assert_eq!(child.wait().await?, status, "the status stays");
        Ok(())
    });
}

#[test]
fn a_killed_child_reports_sigkill_and_a_second_kill_is_ok_with_pidfd() {
    a_killed_child_reports_sigkill_and_a_second_kill_is_ok(false);
}

#[test]
fn a_killed_child_reports_sigkill_and_a_second_kill_is_ok_with_the_fallback() {
    a_killed_child_reports_sigkill_and_a_second_kill_is_ok(true);
}

#[test]
fn death_by_another_signal_is_reported() {
    run(|| async {
        let status = sh("kill -TERM $$", false).status().await?;
        assert_eq!((status.code(), status.signal()), (None, Some(libc::SIGTERM)));
        Ok(())
    });
}

fn kill_on_drop_kills_and_reaps(fallback: bool) {
    run(|| async move {
        let child = command("sleep", fallback).arg("1000").kill_on_drop(true).spawn()?;
        let pid = child.id();
        drop(child);
        // `run` checks that no child is left; this names the one that matters.
        reaped(pid).await;
        Ok(())
    });
}

#[test]
fn kill_on_drop_kills_and_reaps_with_pidfd() {
    kill_on_drop_kills_and_reaps(false);
}

#[test]
fn kill_on_drop_kills_and_reaps_with_the_fallback() {
    kill_on_drop_kills_and_reaps(true);
}

fn a_dropped_child_is_reaped_when_it_exits_later(fallback: bool) {
    run(|| async move {
        let mut child = sh("read line", fallback).stdin(Stdio::piped()).spawn()?;
        let pid = child.id();
        let stdin = child.stdin.take().unwrap();
        drop(child); // not killed: it waits for a line
        assert!(matches!(state_of(pid), Some(state) if state != 'Z'), "still running after the drop");
        drop(stdin); // end of input: `read` fails, sh exits, the reaper task reaps it
        reaped(pid).await;
        Ok(())
    });
}

#[test]
fn a_dropped_child_is_reaped_when_it_exits_later_with_pidfd() {
    a_dropped_child_is_reaped_when_it_exits_later(false);
}

#[test]
fn a_dropped_child_is_reaped_when_it_exits_later_with_the_fallback() {
    a_dropped_child_is_reaped_when_it_exits_later(true);
}

#[test]
fn output_collects_large_stdout_and_stderr_side_by_side() {
    run(|| async {
        // Fills the stderr pipe (64 KiB) long before writing stdout: reading stdout first and
        // alone would deadlock.
        let script = "head -c 1048576 /dev/zero | tr '\\0' e >&2; head -c 1048576 /dev/zero | tr '\\0' o";
        let output = sh(script, false).output().await?;
        assert!(output.status.success());
        assert_eq!(output.stdout.len(), 1 << 20);
        assert_eq!(output.stderr.len(), 1 << 20);
        assert!(output.stdout.iter().all(|&byte| byte == b'o'));
        assert!(output.stderr.iter().all(|&byte| byte == b'e'));
        Ok(())
    });
}

#[test]
fn output_nulls_stdin_unless_set() {
    run(|| async {
        // `cat` with a null stdin reads end-of-file at once.
        let output = Command::new("cat").output().await?;
        assert!(output.status.success());
        assert!(output.stdout.is_empty() && output.stderr.is_empty());
        Ok(())
    });
}

fn a_hundred_concurrent_children_each_report_their_own_code(fallback: bool) {
    run(|| async move {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                spawn(async move {
                    let mut child = sh(&format!("exit {i}"), fallback).spawn()?;
                    assert_eq!(child.uses_fallback(), fallback);
                    io::Result::Ok((i, child.wait().await?))
                })
            })
            .collect();
        for task in tasks {
            let (i, status) = task.await.unwrap()?;
            assert_eq!(status.code(), Some(i));
        }
        Ok(())
    });
}

#[test]
fn a_hundred_concurrent_children_each_report_their_own_code_with_pidfd() {
    a_hundred_concurrent_children_each_report_their_own_code(false);
}

/// Coalesced `SIGCHLD`s (a hundred exits, far fewer deliveries) lose no exit.
#[test]
fn a_hundred_concurrent_children_each_report_their_own_code_with_the_fallback() {
    a_hundred_concurrent_children_each_report_their_own_code(true);
}

#[test]
fn a_missing_program_is_not_found() {
    run(|| async {
        let error = Command::new("/nonexistent/reactor-process-test").spawn().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let error = Command::new("reactor-process-no-such-program").spawn().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        Ok(())
    });
}

#[test]
fn a_file_that_is_not_executable_is_permission_denied() {
    run(|| async {
        let path = std::env::temp_dir().join(format!("reactor-process-not-exec-{}", std::process::id()));
        std::fs::write(&path, "#!/bin/sh\nexit 0\n")?; // mode 0644: not executable
        let error = Command::new(&path).spawn().unwrap_err();
        std::fs::remove_file(&path)?;
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        Ok(())
    });
}

#[test]
fn a_current_dir_that_does_not_exist_is_not_found() {
    run(|| async {
        let error = Command::new("true").current_dir("/nonexistent/reactor-process-dir").spawn().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        Ok(())
    });
}

#[test]
fn spawning_outside_an_executor_is_not_found_and_spawns_nothing() {
    let error = Command::new("true").spawn().unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().contains("Command::spawn needs a reactor executor"), "{error}");
}

#[test]
fn builder_settings_reach_the_child() {
    run(|| async {
        // An inherited variable, removed (cargo sets this one for the test's process).
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let output = sh("echo \"$A $B ${CARGO_PKG_NAME:-removed}\"; pwd", false)
            .env("A", "a")
            .envs([("B", "b")])
            .env_remove("CARGO_PKG_NAME")
            .current_dir("/")
            .output()
            .await?;
        assert_eq!(String::from_utf8_lossy(&output.stdout), "a b removed\n/\n");
        let output = Command::new("/usr/bin/env").env_clear().env("ONLY", "this").output().await?;
        assert_eq!(String::from_utf8_lossy(&output.stdout), "ONLY=this\n");
        Ok(())
    });
}

#[test]
fn a_child_stdout_pipes_into_another_child() {
    run(|| async {
        let mut first = sh("echo through a pipeline", false).stdout(Stdio::piped()).spawn()?;
        let stdout = first.stdout.take().unwrap().into_stdio()?;
        let output = Command::new("cat").stdin(stdout).output().await?;
        assert_eq!(output.stdout, b"through a pipeline\n");
        assert!(first.wait().await?.success());
        Ok(())
    });
}

#[test]
fn wait_is_cancel_safe() {
    run(|| async {
        let mut child = sh("read line; exit 7", false).stdin(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        // A wait dropped before the exit loses nothing.
        let first = future::poll_once(child.wait()).await;
        assert!(first.is_none());
        stdin.write_all(b"go\n").await?;
        assert_eq!(child.wait().await?.code(), Some(7));
        Ok(())
    });
}

#[test]
fn a_child_dropped_on_another_thread_is_killed_and_reaped_by_its_executor() {
    run(|| async {
        let child = Command::new("sleep").arg("1000").kill_on_drop(true).spawn()?;
        let pid = child.id();
        std::thread::spawn(move || drop(child)).join().unwrap();
        reaped(pid).await;
        Ok(())
    });
}

#[test]
fn the_types_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Command>();
    send_and_sync::<reactor_process::Child>();
    send_and_sync::<reactor_process::ChildStdin>();
    send_and_sync::<reactor_process::ChildStdout>();
    send_and_sync::<reactor_process::ChildStderr>();
}

#[test]
fn writing_to_a_child_that_exited_is_a_broken_pipe() {
    run(|| async {
        let mut child = Command::new("true").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        assert!(child.wait().await?.success());
        let error = stdin.write_all(b"nobody reads this").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        let mut rest = Vec::new();
        assert_eq!(child.stdout.take().unwrap().read_to_end(&mut rest).await?, 0, "end-of-file");
        Ok(())
    });
}

#[test]
fn a_std_command_converts_and_keeps_its_settings() {
    run(|| async {
        let mut std = std::process::Command::new("sh");
        std.args(["-c", "echo $FROM_STD"]).env("FROM_STD", "kept");
        let mut command = Command::from(std);
        assert_eq!(command.as_std().get_program(), "sh");
        let output = command.output().await?;
        assert_eq!(output.stdout, b"kept\n");
        Ok(())
    });
}

fn a_child_can_be_waited_for_off_the_executor_while_it_runs(fallback: bool) {
    run(|| async move {
        let mut child = sh("read line; exit 4", fallback).stdin(Stdio::piped()).spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        // A plain blocking wait on a pool thread: the exit still arrives through the backend
        // of the runtime that spawned the child, which its workers drive.
        let waiter = reactor_epoll::spawn_blocking(move || future::block_on(child.wait()));
        stdin.write_all(b"go\n").await?;
        assert_eq!(waiter.await.unwrap()?.code(), Some(4));
        Ok(())
    });
}

#[test]
fn a_child_can_be_waited_for_off_the_executor_while_it_runs_with_pidfd() {
    a_child_can_be_waited_for_off_the_executor_while_it_runs(false);
}

#[test]
fn a_child_can_be_waited_for_off_the_executor_while_it_runs_with_the_fallback() {
    a_child_can_be_waited_for_off_the_executor_while_it_runs(true);
}
