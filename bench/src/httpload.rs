//! The HTTP load generator: the bench binary re-executed with `--http-load`, so that it runs in
//! a process of its own and the server's process holds nothing but the server. One thread, its
//! own level-triggered epoll, one GET in flight per keep-alive connection (closed loop, nothing
//! pipelined), each response parsed by its `Content-Length` and its body checked.
//!
//! The parent and the child talk over the child's stdin and stdout: the child connects every
//! connection and prints `connected`; the parent starts measuring and writes `go`; the child
//! sends the first requests, runs until every connection has had its answers, closes the
//! connections, and prints `<requests> <elapsed nanoseconds>`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sys::epoll::Epoll;
use crate::workloads::Failure;

/// The request every connection sends, again and again.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: reactor-bench\r\n\r\n";

/// The body every response must carry: what the servers' one handler answers.
pub(crate) const BODY: &[u8] = b"hello world\n";

/// Room for one response's head and body; hyper's answer here is about 90 bytes.
const RESPONSE_ROOM: usize = 1024;

/// What the generator measured.
#[derive(Debug)]
pub(crate) struct HttpLoad {
    /// Requests answered, every answer checked.
    pub(crate) requests: u64,
    /// From the first request sent to the last answer read.
    pub(crate) elapsed: Duration,
}

/// The parent's handle on a running generator process.
#[derive(Debug)]
pub(crate) struct Generator {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Generator {
    /// Starts the generator against `addr` with `connections` connections of `requests`
    /// requests each, and returns once every connection is established.
    pub(crate) fn start(addr: SocketAddr, connections: usize, requests: u32) -> Result<Self, Failure> {
        let exe = std::env::current_exe().map_err(|error| format!("own executable: {error}"))?;
        let mut child = Command::new(exe)
            .args(["--http-load", &addr.to_string(), &connections.to_string(), &requests.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("starting the HTTP load generator: {error}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut generator = Self { child, stdin, stdout };
        let line = generator.line()?;
        if line != "connected" {
            return Err(format!("the HTTP load generator said {line:?}, not \"connected\""));
        }
        Ok(generator)
    }

    /// Lets the generator send its first requests.
    pub(crate) fn go(&mut self) -> Result<(), Failure> {
        let stdin = self.stdin.as_mut().expect("go is called once");
        stdin
            .write_all(b"go\n")
            .and_then(|()| stdin.flush())
            .map_err(|error| format!("HTTP load generator: {error}"))
    }

    /// Waits for the generator's result and for its exit.
    pub(crate) fn finish(mut self) -> Result<HttpLoad, Failure> {
        let line = self.line()?;
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|error| format!("HTTP load generator: {error}"))?;
        if !status.success() {
            return Err(format!("the HTTP load generator failed: {status}"));
        }
        let parse = |value: Option<&str>| -> Result<u64, Failure> {
            value
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("the HTTP load generator's result {line:?} is not two numbers"))
        };
        let mut values = line.split_whitespace();
        let requests = parse(values.next())?;
        let elapsed = Duration::from_nanos(parse(values.next())?);
        Ok(HttpLoad { requests, elapsed })
    }

    /// The generator's next line; its exit status if it ended without one.
    fn line(&mut self) -> Result<String, Failure> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let status = self.child.wait().map_err(|error| error.to_string())?;
                Err(format!("the HTTP load generator ended without a result: {status}"))
            }
            Ok(_) => Ok(line.trim().to_string()),
        }
    }
}

/// The child's side: `--http-load <addr> <connections> <requests>`.
pub(crate) fn child(addr: &str, connections: &str, requests: &str) -> Result<(), Failure> {
    let addr: SocketAddr = addr.parse().map_err(|error| format!("address {addr:?}: {error}"))?;
    let connections: usize =
        connections.parse().map_err(|error| format!("connections {connections:?}: {error}"))?;
    let requests: u32 = requests.parse().map_err(|error| format!("requests {requests:?}: {error}"))?;
    let mut epoll = Epoll::new(connections).map_err(|error| format!("load generator epoll: {error}"))?;
    let mut open = (0..connections)
        .map(|index| connect(addr, &epoll, index).map_err(|error| format!("load generator connect: {error}")))
        .collect::<Result<Vec<_>, _>>()?;
    let say = |line: &str| -> Result<(), Failure> {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{line}").and_then(|()| stdout.flush()).map_err(|error| error.to_string())
    };
    say("connected")?;
    let mut go = String::new();
    io::stdin().lock().read_line(&mut go).map_err(|error| format!("waiting for go: {error}"))?;
    if go.trim() != "go" {
        return Err(format!("the load generator was told {go:?}, not \"go\""));
    }

    let start = Instant::now();
    for (index, connection) in open.iter_mut().enumerate() {
        connection.send(index)?;
    }
    let mut answered = 0;
    let mut active = if requests == 0 { 0 } else { connections };
    let mut ready = Vec::with_capacity(connections);
    while active > 0 {
        epoll.wait(&mut ready).map_err(|error| format!("load generator epoll_wait: {error}"))?;
        for &key in &ready {
            let index = key as usize;
            let connection = &mut open[index];
            if !connection.receive(index)? {
                continue;
            }
            answered += 1;
            connection.answered += 1;
            if connection.answered == requests {
                active -= 1;
                epoll
                    .delete(connection.stream.as_raw_fd())
                    .map_err(|error| format!("load generator epoll_ctl: {error}"))?;
            } else {
                connection.send(index)?;
            }
        }
    }
    let elapsed = start.elapsed();
    drop(open); // the servers see each connection close and finish
    say(&format!("{answered} {}", elapsed.as_nanos()))
}

fn connect(addr: SocketAddr, epoll: &Epoll, index: usize) -> io::Result<Connection> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    epoll.add_readable(stream.as_raw_fd(), index as u64)?;
    Ok(Connection { stream, response: [0; RESPONSE_ROOM], filled: 0, answered: 0 })
}

/// One keep-alive connection and the response arriving on it.
struct Connection {
    stream: TcpStream,
    response: [u8; RESPONSE_ROOM],
    filled: usize,
    answered: u32,
}

impl Connection {
    /// Sends the next request (the previous one is answered: nothing is pipelined).
    fn send(&mut self, index: usize) -> Result<(), Failure> {
        match self.stream.write(REQUEST) {
            Ok(written) if written == REQUEST.len() => Ok(()),
            Ok(written) => {
                Err(format!("load generator: short write of {written} bytes on connection {index}"))
            }
            Err(error) => Err(format!("load generator send on connection {index}: {error}")),
        }
    }

    /// Reads what has arrived; `true` once a whole response is in and checked.
    fn receive(&mut self, index: usize) -> Result<bool, Failure> {
        match self.stream.read(&mut self.response[self.filled..]) {
            Ok(0) => return Err(format!("the HTTP server closed connection {index} early")),
            Ok(read) => self.filled += read,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) => return Err(format!("load generator receive on connection {index}: {error}")),
        }
        let received = &self.response[..self.filled];
        let Some(length) = complete_response(received)
            .map_err(|why| format!("connection {index}: {why}: {:?}", String::from_utf8_lossy(received)))?
        else {
            if self.filled == RESPONSE_ROOM {
                return Err(format!("connection {index}: a response over {RESPONSE_ROOM} bytes"));
            }
            return Ok(false);
        };
        if length != self.filled {
            return Err(format!("connection {index}: {} bytes past the response", self.filled - length));
        }
        self.filled = 0;
        Ok(true)
    }
}

/// The length of the whole response at the start of `received` once it is all there (`None`
/// before), after checking its status and body; the minimal parse a load generator needs.
fn complete_response(received: &[u8]) -> Result<Option<usize>, &'static str> {
    let Some(head) = received.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head_text = std::str::from_utf8(&received[..head]).map_err(|_| "a response head not in UTF-8")?;
    let mut lines = head_text.split("\r\n");
    if !lines.next().is_some_and(|status| status.starts_with("HTTP/1.1 200 ")) {
        return Err("not a 200 response");
    }
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or("a response without a Content-Length")?;
    let end = head + 4 + length;
    if received.len() < end {
        return Ok(None);
    }
    if &received[head + 4..end] != BODY {
        return Err("a response whose body is not the handler's");
    }
    Ok(Some(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_complete_once_its_body_is_in() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\ndate: x\r\n\r\nhello world\n";
        assert_eq!(complete_response(response), Ok(Some(response.len())));
        assert_eq!(complete_response(&response[..response.len() - 1]), Ok(None));
        assert_eq!(complete_response(&response[..20]), Ok(None));
    }

    #[test]
    fn a_wrong_response_is_refused() {
        assert!(complete_response(b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n").is_err());
        assert!(complete_response(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(complete_response(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello World\n").is_err());
    }
}
