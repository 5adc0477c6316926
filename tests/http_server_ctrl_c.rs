//! The `http_server` example's program in a process of its own, stopped by a real SIGINT: the
//! response in flight finishes, then the process exits with status 0.
//!
//! The test runs its own binary again as the server (selected by an environment variable), which
//! calls the example's `app::run` exactly as the example's `main` does; so the process under test
//! runs the example's code, and the test needs no separately built example binary.

#[allow(dead_code)]
#[path = "../examples/http_server/app.rs"]
mod app;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Set in the environment of the child that plays the server.
const CHILD: &str = "REACTOR_HTTP_SERVER_EXAMPLE_CHILD";
/// How long the whole exchange may take before the watchdog kills the server and the test fails.
const PATIENCE: Duration = Duration::from_secs(60);
const TEST: &str = "ctrl_c_lets_the_response_in_flight_finish_then_the_server_exits_0";

#[test]
fn ctrl_c_lets_the_response_in_flight_finish_then_the_server_exits_0() {
    if std::env::var_os(CHILD).is_some() {
        // The server: what the example's `main` runs, on a free port.
        reactor_epoll::block_on(app::run("127.0.0.1:0")).expect("the example's server ran");
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("this test's binary"))
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server process started");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // The watchdog: a hung server is killed, which ends its stdout and so every read below.
    let (finished, watched) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watched.recv_timeout(PATIENCE).is_err() {
            // SAFETY: kill(2) on our own child, not yet waited for (`finished` is sent only
            // after `wait` returned, and this thread is joined before that).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });

    let mut output = BufReader::new(child.stdout.take().expect("piped"));
    let mut printed = String::new();
    let addr: SocketAddr = loop {
        let mut line = String::new();
        let read = output.read_line(&mut line).expect("the server's output");
        assert!(read > 0, "the server ended before it served; it printed:\n{printed}");
        printed.push_str(&line);
        // libtest's "test <name> ... " comes first on the line, without a line break.
        if let Some((_, addr)) = line.trim().split_once("serving HTTP/1.1 and HTTP/2 (h2c) on http://") {
            break addr.parse().expect("the address it printed");
        }
    };

    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    stream.write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n").expect("write");
    let mut response = String::new();
    let mut buffer = [0; 4096];
    while !response.contains(&app::stream_line(0)) {
        let read = stream.read(&mut buffer).expect("the first line of /stream");
        assert!(read > 0, "the server closed early: {response:?}");
        response.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }

    // The request is in flight: Ctrl-C.
    // SAFETY: kill(2) on our own child, which has not been waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "SIGINT sent");
    stream.read_to_string(&mut response).expect("the rest of the response, then the end");
    for index in 0..app::STREAM_CHUNKS {
        assert!(response.contains(&app::stream_line(index)), "line {index} missing: {response:?}");
    }
    assert!(response.ends_with("0\r\n\r\n"), "the chunked body did not end: {response:?}");

    output.read_to_string(&mut printed).expect("the rest of the server's output");
    let status = child.wait().expect("the server's exit status");
    let _ = finished.send(());
    assert!(!watchdog.join().expect("the watchdog"), "the server hung: killed after {PATIENCE:?}");
    assert!(status.success(), "the server exited with {status}; it printed:\n{printed}");
    assert!(printed.contains("Ctrl-C: finishing the requests in flight"), "{printed}");
    assert!(printed.contains("every connection finished; bye"), "{printed}");
}
