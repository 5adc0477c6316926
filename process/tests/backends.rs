//! The same children on the portable backend, edge-triggered and one-shot (the path of event
//! ports and `poll(2)`, where the pidfd is re-armed after each `WouldBlock`).

mod common;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::{EventSource, Executor};
use reactor_polling::{PollingSource, Triggering};
use reactor_process::{Command, Stdio};

use common::{children, serial, WATCHDOG};

/// Runs [`wait_talk_and_kill`] in `block_on` of an executor over `source`, on a thread of its
/// own, failing if it has not finished within the watchdog; then checks that no child is left.
fn run_on(source: impl EventSource + 'static) {
    let _serial = serial();
    let executor = Executor::new(Arc::new(source) as Arc<dyn EventSource>).unwrap();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let result = executor.block_on(wait_talk_and_kill());
        let _ = done.send(result.map_err(|error| error.to_string()));
    });
    let result = finished.recv_timeout(WATCHDOG).expect("the test hung (or panicked)");
    result.expect("the test failed");
    assert_eq!(children(), vec![], "children left behind");
}

/// Waits for the exits of a child that exits on its own, of one that reads its stdin to the
/// end, and of a killed one.
async fn wait_talk_and_kill() -> io::Result<()> {
    assert_eq!(Command::new("sh").args(["-c", "exit 5"]).status().await?.code(), Some(5));

    let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    assert!(!cat.uses_fallback());
    let mut stdin = cat.stdin.take().unwrap();
    stdin.write_all(b"ping").await?;
    drop(stdin);
    let mut echoed = Vec::new();
    cat.stdout.take().unwrap().read_to_end(&mut echoed).await?;
    assert_eq!(echoed, b"ping");
    assert!(cat.wait().await?.success());

    let mut sleep = Command::new("sleep").arg("1000").spawn()?;
    sleep.kill()?;
    assert_eq!(sleep.wait().await?.signal(), Some(libc::SIGKILL));
    Ok(())
}

#[test]
fn children_are_awaited_on_the_edge_triggered_portable_backend() {
    let source = PollingSource::new().unwrap();
    assert_eq!(source.triggering(), Triggering::Edge);
    run_on(source);
}

#[test]
fn children_are_awaited_on_the_one_shot_portable_backend() {
    run_on(PollingSource::with_triggering(Triggering::Oneshot).unwrap());
}
