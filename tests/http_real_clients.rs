//! The `http_server` and `websocket_echo` examples against real clients: curl and Python's
//! `http.client` as separate processes, and a tungstenite WebSocket client. The server is the
//! examples' own code (included below by path), started in-process on `127.0.0.1:0` on a reactor
//! `Runtime` whose worker threads serve it in the background.
//!
//! A test that needs curl or python3 prints why and returns when that program is absent. Every
//! wait is bounded: curl's `--max-time`, a deadline on each child process, timeouts on the
//! server's shutdown.

#[allow(dead_code)]
#[path = "../examples/http_server/app.rs"]
mod app;
#[allow(dead_code)]
#[path = "../examples/websocket_echo/echo.rs"]
mod echo;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use futures_lite::StreamExt;
use reactor_epoll::channel::oneshot;
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::{Runtime, Task};

/// How long anything that should finish promptly may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);
/// 10 MiB: the size of the big uploads and downloads.
const BIG: usize = 10 * 1024 * 1024;

/// The example's HTTP server on a runtime of its own, until [`stop`](Self::stop).
struct Server {
    runtime: Runtime,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<Task<io::Result<app::Shutdown>>>,
}

impl Server {
    /// Serves `app::route` on a free port; after a stop, connections get `grace` to finish.
    fn start(grace: Duration) -> Self {
        let runtime = Runtime::new().expect("a runtime");
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("a listener");
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = oneshot::<()>();
        let serving = runtime.spawn(app::serve(
            listener,
            async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            },
            grace,
        ));
        Self { runtime, addr, stop: Some(stop), serving: Some(serving) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Asks the server to shut down gracefully and waits for `serve` to return.
    fn stop(mut self) -> app::Shutdown {
        drop(self.stop.take());
        let serving = self.serving.take().expect("still serving");
        let result = self.runtime.block_on(self.runtime.timer().timeout(PATIENCE, serving));
        let joined = result.expect("the server shut down within PATIENCE");
        joined.expect("the server task did not panic").expect("serve returned Ok")
    }
}

/// The CRC-32 of `bytes`, by the example's own implementation.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = app::Crc32::new();
    crc.update(bytes);
    crc.value()
}

/// What `/download?bytes=length` must send.
fn download_body(length: usize) -> Vec<u8> {
    (0..length as u64).map(app::pattern_byte).collect()
}

/// `length` bytes that are not the download pattern (xorshift), so an upload test cannot pass by
/// echoing the other route.
fn upload_body(length: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// A file path of this test's own under the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!("reactor-http-{}-{unique}-{name}", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether `program` runs at all; if not, says which test is skipped and why.
fn have(program: &str, test: &str) -> bool {
    let found =
        Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        println!("SKIPPED {test}: `{program}` is not installed");
    }
    found
}

/// Runs `command` to completion, killing it and failing the test if it outlives `PATIENCE`.
fn run(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?} did not start: {error}"));
    // Drained on threads of their own, so a full pipe never blocks the child.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {PATIENCE:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output { status, stdout: out.join().expect("stdout"), stderr: err.join().expect("stderr") };
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// curl with the options every call here shares.
fn curl() -> Command {
    let mut command = Command::new("curl");
    command.args(["--silent", "--show-error", "--fail", "--max-time", "30"]);
    command
}

#[test]
fn curl_reuses_one_connection_for_two_requests() {
    if !have("curl", "curl_reuses_one_connection_for_two_requests") {
        return;
    }
    let server = Server::start(PATIENCE);
    let output = run(curl().arg("--verbose").arg(server.url("/")).arg(server.url("/")));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "Hello, world!\nHello, world!\n");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("Re-using existing"), "the second request opened a new connection:\n{log}");
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn curl_receives_the_stream_in_chunks() {
    if !have("curl", "curl_receives_the_stream_in_chunks") {
        return;
    }
    let server = Server::start(PATIENCE);
    let output = run(curl().arg("--verbose").arg(server.url("/stream")));
    let expected: String = (0..app::STREAM_CHUNKS).map(app::stream_line).collect();
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    let log = String::from_utf8_lossy(&output.stderr).to_ascii_lowercase();
    assert!(log.contains("< transfer-encoding: chunked"), "not sent chunked:\n{log}");
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn curl_uploads_and_downloads_ten_mebibytes_with_matching_checksums() {
    if !have("curl", "curl_uploads_and_downloads_ten_mebibytes_with_matching_checksums") {
        return;
    }
    let server = Server::start(PATIENCE);

    let upload = upload_body(BIG);
    let file = TempFile::new("upload");
    std::fs::write(&file.0, &upload).expect("write the upload");
    let mut data = std::ffi::OsString::from("@");
    data.push(&file.0);
    let output = run(curl().arg("--data-binary").arg(data).arg(server.url("/upload")));
    assert_eq!(String::from_utf8_lossy(&output.stdout), app::upload_answer(BIG as u64, crc32(&upload)));

    let downloaded = TempFile::new("download");
    run(curl().arg("--output").arg(&downloaded.0).arg(server.url(&format!("/download?bytes={BIG}"))));
    let body = std::fs::read(&downloaded.0).expect("read the download");
    assert_eq!(body.len(), BIG);
    assert_eq!(crc32(&body), crc32(&download_body(BIG)), "the downloaded bytes differ");
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn curl_speaks_http2_with_prior_knowledge() {
    if !have("curl", "curl_speaks_http2_with_prior_knowledge") {
        return;
    }
    let server = Server::start(PATIENCE);
    let output = run(curl().args(["--http2-prior-knowledge", "--include"]).arg(server.url("/")));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/2 200"), "not an HTTP/2 answer:\n{text}");
    assert!(text.ends_with("Hello, world!\n"), "{text}");

    // A body larger than HTTP/2's initial flow-control window (64 KiB). One URL per curl: the
    // curl 7.88 of Debian 12 fails a second request on a reused prior-knowledge connection
    // ("Error in the HTTP2 framing layer", curl/curl#10634, fixed in curl 8.0).
    let length = 1024 * 1024 + 7;
    let downloaded = TempFile::new("h2-download");
    let output = run(curl()
        .args(["--http2-prior-knowledge", "--verbose", "--output"])
        .arg(&downloaded.0)
        .arg(server.url(&format!("/download?bytes={length}"))));
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("< HTTP/2 200"), "{log}");
    let body = std::fs::read(&downloaded.0).expect("read the download");
    assert_eq!(body, download_body(length));
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

/// Several streams at once on one HTTP/2 connection, both directions past the 64 KiB initial
/// window. Done with hyper's client because this machine's curl cannot (see above).
#[test]
fn http2_streams_run_concurrently_on_one_connection() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper::{Method, Request};
    use reactor_hyper::{HyperIo, ReactorExecutor};

    let server = Server::start(PATIENCE);
    let addr = server.addr;
    let fetch = |sender: &hyper::client::conn::http2::SendRequest<Full<Bytes>>, method, path: &str, body| {
        let mut sender = sender.clone();
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        async move {
            let response = sender.send_request(request).await.map_err(io::Error::other)?;
            assert_eq!(response.version(), hyper::Version::HTTP_2);
            let body = response.into_body().collect().await.map_err(io::Error::other)?;
            Ok::<_, io::Error>(body.to_bytes())
        }
    };
    let upload = upload_body(1024 * 1024);
    let expected_upload = app::upload_answer(upload.len() as u64, crc32(&upload));
    let download = 300_000;
    let outcome = server.runtime.block_on(server.runtime.timer().timeout(PATIENCE, async {
        let stream = TcpStream::connect(addr).await?;
        let (sender, connection) =
            hyper::client::conn::http2::handshake(ReactorExecutor::current()?, HyperIo::new(stream))
                .await
                .map_err(io::Error::other)?;
        reactor_epoll::spawn(connection).detach();
        let streamed = fetch(&sender, Method::GET, "/stream", Vec::new());
        let uploaded = fetch(&sender, Method::POST, "/upload", upload);
        let downloaded = fetch(&sender, Method::GET, &format!("/download?bytes={download}"), Vec::new());
        let ((streamed, uploaded), downloaded) =
            futures_lite::future::zip(futures_lite::future::zip(streamed, uploaded), downloaded).await;
        Ok::<_, io::Error>((streamed?, uploaded?, downloaded?))
    }));
    let (streamed, uploaded, downloaded) = outcome.expect("answered within PATIENCE").expect("no error");
    let lines: String = (0..app::STREAM_CHUNKS).map(app::stream_line).collect();
    assert_eq!(streamed, lines.as_bytes());
    assert_eq!(uploaded, expected_upload.as_bytes());
    assert_eq!(downloaded, download_body(download));
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

/// Runs a Python script with `HOST` and `PORT` defined before it; returns its standard output.
fn python(server: &Server, script: &str) -> String {
    let prelude = format!("HOST = {:?}\nPORT = {}\n", server.addr.ip().to_string(), server.addr.port());
    let output = run(Command::new("python3").arg("-c").arg(prelude + script));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn python_http_client_keeps_the_connection_alive() {
    if !have("python3", "python_http_client_keeps_the_connection_alive") {
        return;
    }
    let server = Server::start(PATIENCE);
    let printed = python(
        &server,
        r#"
import http.client
conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
answers = []
for _ in range(2):
    conn.request("GET", "/")
    response = conn.getresponse()
    body = response.read()
    # The socket's own port: the same on both requests if the connection was kept.
    answers.append((response.status, body, conn.sock.getsockname()))
print(answers[0][0], answers[1][0], answers[0][1] == answers[1][1] == b"Hello, world!\n",
      answers[0][2] == answers[1][2])
"#,
    );
    assert_eq!(printed.trim(), "200 200 True True");
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn python_http_client_uploads_chunked() {
    if !have("python3", "python_http_client_uploads_chunked") {
        return;
    }
    let server = Server::start(PATIENCE);
    let length = 3 * 1024 * 1024 + 17;
    let printed = python(
        &server,
        &format!(
            r#"
import http.client
LENGTH = {length}
data = (bytes(range(251)) * (LENGTH // 251 + 1))[:LENGTH]
def chunks():
    # Uneven chunk sizes, from one byte up.
    at, size = 0, 1
    while at < LENGTH:
        yield data[at:at + size]
        at += size
        size = size * 3 + 1 if size < 100000 else 1
conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
conn.request("POST", "/upload", body=chunks(), encode_chunked=True)
response = conn.getresponse()
print(response.status, response.read().decode(), end="")
"#
        ),
    );
    let expected = format!("200 {}", app::upload_answer(length as u64, crc32(&download_body(length))));
    assert_eq!(printed, expected);
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn python_http_client_downloads_ten_mebibytes_with_the_right_checksum() {
    if !have("python3", "python_http_client_downloads_ten_mebibytes_with_the_right_checksum") {
        return;
    }
    let server = Server::start(PATIENCE);
    let printed = python(
        &server,
        &format!(
            r#"
import http.client, zlib
conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
conn.request("GET", "/download?bytes={BIG}")
response = conn.getresponse()
body = response.read()
print(response.status, response.getheader("content-length"), len(body), "%08x" % zlib.crc32(body))
"#
        ),
    );
    let expected = format!("200 {BIG} {BIG} {:08x}", crc32(&download_body(BIG)));
    assert_eq!(printed.trim(), expected);
    assert_eq!(server.stop(), app::Shutdown::Drained);
}

#[test]
fn websocket_client_gets_text_and_binary_back_and_closes_cleanly() {
    let runtime = Runtime::new().expect("a runtime");
    let outcome = runtime.block_on(runtime.timer().timeout(PATIENCE, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // The example's echo, on the one connection this test makes.
        let server = reactor_epoll::spawn(async move {
            let (stream, _) = listener.accept().await?;
            echo::echo(stream).await.map_err(io::Error::other)
        });

        let stream = TcpStream::connect(addr).await?;
        let (mut socket, _) = async_tungstenite::client_async(format!("ws://{addr}/"), stream)
            .await
            .map_err(io::Error::other)?;
        let large: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let messages = [
            Message::text("hello, reactor"),
            Message::binary(vec![0u8, 1, 2, 254, 255]),
            // Larger than one read or write: split into frames and reassembled.
            Message::binary(large),
        ];
        for message in messages {
            socket.send(message.clone()).await.map_err(io::Error::other)?;
            let echoed = socket.next().await.expect("an echo, not the end").map_err(io::Error::other)?;
            assert_eq!(echoed, message);
        }
        socket.close(None).await.map_err(io::Error::other)?;
        // The server's answer to the close, then the end of the stream.
        let mut rest = Vec::new();
        while let Some(message) = socket.next().await {
            rest.push(message.map_err(io::Error::other)?);
        }
        assert!(matches!(rest.as_slice(), [Message::Close(_)]), "after the close: {rest:?}");
        let echoed = server.await.expect("the echo task did not panic")?;
        Ok::<_, io::Error>(echoed)
    }));
    let echoed = outcome.expect("the round trip finished within PATIENCE").expect("no I/O error");
    assert_eq!(echoed, 3);
}

/// Reads from `stream` until `needle` has arrived; returns everything read.
fn read_until(stream: &mut std::net::TcpStream, needle: &str) -> String {
    let mut text = String::new();
    let mut buffer = [0; 4096];
    while !text.contains(needle) {
        let read = stream.read(&mut buffer).expect("a read within the read timeout");
        assert!(read > 0, "the server closed before {needle:?}; got {text:?}");
        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    text
}

/// A blocking client connection with a bounded read.
fn connect(addr: SocketAddr) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    stream
}

#[test]
fn graceful_shutdown_finishes_the_response_in_flight_then_refuses_connections() {
    let server = Server::start(PATIENCE);
    let addr = server.addr;
    // An idle kept-alive connection (one answered request) must not hold the shutdown up.
    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").expect("write");
    read_until(&mut idle, "Hello, world!\n");
    // A connection that has not sent anything yet must not either.
    let _silent = connect(addr);

    let mut streaming = connect(addr);
    streaming.write_all(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n").expect("write");
    let mut text = read_until(&mut streaming, &app::stream_line(0));

    let stopping = std::thread::spawn(move || server.stop());
    // The rest of the response arrives, and then the server closes the connection.
    streaming.read_to_string(&mut text).expect("the rest of the response, then the end");
    for index in 0..app::STREAM_CHUNKS {
        assert!(text.contains(&app::stream_line(index)), "line {index} missing: {text:?}");
    }
    assert!(text.ends_with("0\r\n\r\n"), "the chunked body did not end: {text:?}");
    assert_eq!(stopping.join().expect("stop did not panic"), app::Shutdown::Drained);

    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).expect("the idle connection closed"), 0);
    let refused = std::net::TcpStream::connect(addr).expect_err("the listener is closed");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn graceful_shutdown_gives_up_on_a_stalled_response_at_the_deadline() {
    let server = Server::start(Duration::from_millis(200));
    let mut stalled = connect(server.addr);
    // A gibibyte this client never reads: once the socket buffers are full the response stalls,
    // in flight for good.
    stalled.write_all(b"GET /download?bytes=1073741824 HTTP/1.1\r\nhost: test\r\n\r\n").expect("write");
    read_until(&mut stalled, "HTTP/1.1 200 OK");
    assert_eq!(server.stop(), app::Shutdown::DeadlinePassed);
    drop(stalled);
}
