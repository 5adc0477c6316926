//! A runtime with no thread of its own, driven by a plain `poll(2)` host loop: what embedding
//! reactor in a GUI toolkit's main loop, winit or a Wayland compositor's calloop looks like.
//!
//! The host loop watches two fds: the runtime's fd (its I/O backend's: the epoll instance, or
//! the portable backend's poller), and a pipe of the host's own (here a helper thread writes
//! "clicks" to it, standing in for a toolkit's input events). It runs a turn of the runtime
//! whenever the runtime's fd is readable or the last turn's timeout passes, and
//! handles its own events in between. The runtime runs a TCP echo server (serving a plain client
//! thread), a timer task, and a `!Send` task per click, spawned from the host's own handler.
//!
//! Exits on its own once the demo is over (about half a second), or after 10 s as a failure.
//! The optional argument picks the backend: `epoll` (the default on Linux), `polling` or
//! `polling-oneshot`; the results are the same on each.
//!
//! ```sh
//! cargo run -p reactor-epoll --example host_loop -- polling
//! ```

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::{AsyncBufReadExt, AsyncWriteExt};
use reactor_epoll::net::TcpListener;
use reactor_epoll::{time, Backend, Runtime};

/// The demo fails instead of hanging if it has not finished by then.
const GIVE_UP_AFTER: Duration = Duration::from_secs(10);

fn main() -> io::Result<()> {
    let backend = backend_from_args()?;
    let started = Instant::now();
    let runtime = Runtime::builder().backend(backend).worker_threads(0).build()?;
    println!("host: runtime on {backend:?}");
    let host = runtime.host()?;

    // The runtime's tasks: an echo server and a timer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let listener = TcpListener::from_std(listener, runtime.io())?;
    let server = runtime.spawn(async move {
        let (stream, peer) = listener.accept().await?;
        println!("server: connection from {peer}");
        let (reader, mut writer) = stream.into_split();
        let mut lines = futures_lite::io::BufReader::new(reader).lines();
        let mut echoed = 0;
        while let Some(line) = futures_lite::StreamExt::next(&mut lines).await {
            let line = line?;
            println!("server: echoing {line:?}");
            writer.write_all(format!("{line}\n").as_bytes()).await?;
            echoed += 1;
        }
        Ok::<_, io::Error>(echoed)
    });
    let ticker = runtime.spawn(async {
        for tick in 1..=4 {
            time::sleep(Duration::from_millis(100)).await;
            println!("timer: tick {tick}");
        }
    });

    // The host's own event source: a pipe that a helper thread writes clicks to.
    let (mut clicks_in, clicks_out) = UnixStream::pair()?;
    clicks_in.set_nonblocking(true)?;
    let clicker = thread::spawn(move || clicks(clicks_out));
    let client = thread::spawn(move || echo_client(addr));

    // State of the host's own, shared with the `!Send` tasks it spawns.
    let handled: Rc<RefCell<Vec<u8>>> = Rc::default();
    let mut clicks_seen = 0;
    let mut clicks_open = true;
    let mut stats = Stats::default();
    loop {
        let turn = host.turn(64)?;
        stats.turns += 1;
        stats.tasks += turn.tasks_run();
        if server.is_finished() && ticker.is_finished() && handled.borrow().len() == 3 {
            break;
        }
        if started.elapsed() > GIVE_UP_AFTER {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the demo did not finish"));
        }
        // Once the pipe is at its end it would stay readable for ever: stop watching it.
        let clicks_fd = if clicks_open { clicks_in.as_raw_fd() } else { -1 };
        let [runtime_ready, clicks_ready] =
            poll([runtime.as_fd().as_raw_fd(), clicks_fd], poll_timeout_ms(turn.timeout()))?;
        stats.count(runtime_ready, clicks_ready);
        if clicks_ready {
            let (clicks, open) = read_clicks(&mut clicks_in)?;
            clicks_open = open;
            // The host's own event: spawn a `!Send` task for it, which runs in the next turns.
            for click in clicks {
                clicks_seen += 1;
                println!("host: click {click} ({clicks_seen} so far), handing it to a local task");
                let handled = handled.clone();
                host.spawn_local(async move {
                    time::sleep(Duration::from_millis(20)).await;
                    handled.borrow_mut().push(click);
                    println!("local task: handled click {click}");
                })
                .detach();
            }
        }
    }
    drop(host);
    let echoed = runtime.block_on(server).map_err(|error| io::Error::other(error.to_string()))??;
    let replies = client.join().map_err(|_| io::Error::other("the client panicked"))??;
    clicker.join().map_err(|_| io::Error::other("the clicker panicked"))??;
    println!("client: got back {replies:?}");
    println!(
        "done in {:?}: {} turns ran {} tasks; the host polled {} times (runtime's fd readable {}, \
         clicks {}, timed out {}); {echoed} lines echoed, clicks handled {:?}",
        started.elapsed(),
        stats.turns,
        stats.tasks,
        stats.polls,
        stats.runtime_ready,
        stats.clicks_ready,
        stats.timeouts,
        handled.borrow(),
    );
    Ok(())
}

/// What the host loop did.
#[derive(Default)]
struct Stats {
    turns: usize,
    tasks: usize,
    polls: usize,
    runtime_ready: usize,
    clicks_ready: usize,
    timeouts: usize,
}

impl Stats {
    fn count(&mut self, runtime_ready: bool, clicks_ready: bool) {
        self.polls += 1;
        self.runtime_ready += usize::from(runtime_ready);
        self.clicks_ready += usize::from(clicks_ready);
        self.timeouts += usize::from(!runtime_ready && !clicks_ready);
    }
}

/// The backend named by the first argument, if any; the default backend without one.
fn backend_from_args() -> io::Result<Backend> {
    match std::env::args().nth(1).as_deref() {
        None => Ok(Backend::Automatic),
        Some("epoll") => Ok(Backend::Epoll),
        Some("polling") => Ok(Backend::Polling),
        Some("polling-oneshot") => Ok(Backend::PollingOneshot),
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown backend {other:?}; use epoll, polling or polling-oneshot"),
        )),
    }
}

/// A turn's timeout in whole milliseconds for `poll(2)`, rounded up (rounding down would wake
/// the host before a timer is due, and it would spin until it is); -1 waits for an event.
fn poll_timeout_ms(timeout: Option<Duration>) -> i32 {
    timeout.map_or(-1, |timeout| i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX))
}

/// `poll(2)` on two fds for readability (a negative fd is left out); which are readable.
fn poll(fds: [RawFd; 2], timeout_ms: i32) -> io::Result<[bool; 2]> {
    let mut pollfds = fds.map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
    // SAFETY: `pollfds` is a valid array of two `pollfd`s for the whole call.
    let ready = unsafe { libc::poll(pollfds.as_mut_ptr(), 2, timeout_ms) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        return if error.kind() == io::ErrorKind::Interrupted { Ok([false; 2]) } else { Err(error) };
    }
    Ok(pollfds.map(|pollfd| pollfd.revents & libc::POLLIN != 0))
}

/// Reads every click queued in the host's pipe (one byte each); and whether the pipe is still
/// open.
fn read_clicks(clicks: &mut UnixStream) -> io::Result<(Vec<u8>, bool)> {
    let mut buffer = [0; 64];
    let mut read = Vec::new();
    loop {
        match clicks.read(&mut buffer) {
            Ok(0) => return Ok((read, false)), // the clicker is done
            Ok(len) => read.extend_from_slice(&buffer[..len]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok((read, true)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// The stand-in for a toolkit's input: three clicks, 120 ms apart.
fn clicks(mut out: UnixStream) -> io::Result<()> {
    for click in 1..=3 {
        thread::sleep(Duration::from_millis(120));
        out.write_all(&[click])?;
    }
    Ok(())
}

/// A plain blocking client of the echo server: three lines, then it closes its side.
fn echo_client(addr: std::net::SocketAddr) -> io::Result<Vec<String>> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    let mut replies = BufReader::new(stream.try_clone()?).lines();
    let mut got = Vec::new();
    for line in ["hello", "from a", "plain thread"] {
        stream.write_all(format!("{line}\n").as_bytes())?;
        got.push(replies.next().unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()))?);
        thread::sleep(Duration::from_millis(50));
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    Ok(got)
}
