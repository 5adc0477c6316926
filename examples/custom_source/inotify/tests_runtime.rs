//! The inotify source on the default runtime (`reactor_epoll::Runtime`), registered with its
//! epoll ([`Inotify::register_with`]) beside TCP: events reach tasks, a burst bigger than a
//! `wait`'s read cap is not stranded, the two kinds of driver exclude each other, and events left
//! when the registration drops go to the next driver. Every wait is bounded by `PATIENCE`.

use std::fs;
use std::io;
use std::sync::mpsc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::Composite;
use reactor::{Builder, EventSource};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::time::timeout;
use reactor_epoll::Runtime;
use reactor_timer::Timer;

use super::{Event, Inotify, Mask, Watch, MAX_READ_PER_WAIT};
use crate::temp_dir::TempDir;

/// How long a test waits for what must come before it fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

fn created(name: &str) -> Event {
    Event { mask: Mask::CREATE, name: Some(name.into()) }
}

/// A temporary directory, a one-worker runtime, and an inotify source (not driven yet) whose
/// `CREATE` events in that directory arrive on `received`.
struct CreatedEvents {
    dir: TempDir,
    runtime: Runtime,
    inotify: Inotify,
    received: mpsc::Receiver<Event>,
    _watch: Watch,
}

fn created_events() -> CreatedEvents {
    let dir = TempDir::new().unwrap();
    let runtime = Runtime::builder().worker_threads(1).build().unwrap();
    let inotify = Inotify::new().unwrap();
    let (sender, received) = mpsc::channel();
    let _watch = inotify
        .watch(dir.path(), Mask::CREATE, move |event| {
            let _ = sender.send(event.clone());
        })
        .unwrap();
    CreatedEvents { dir, runtime, inotify, received, _watch }
}

/// A runtime with a TCP server that echoes every connection until EOF; returns its address.
fn echo_server(runtime: &Runtime) -> io::Result<std::net::SocketAddr> {
    let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0")?, runtime.io())?;
    let addr = listener.local_addr()?;
    runtime
        .spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                reactor_epoll::spawn(async move {
                    let (mut reader, mut writer) = stream.into_split();
                    let _ = futures_lite::io::copy(&mut reader, &mut writer).await;
                })
                .detach();
            }
        })
        .detach();
    Ok(addr)
}

/// Writes `message` to `stream` and reads its echo back.
async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    let mut echo = vec![0; message.len()];
    stream.read_exact(&mut echo).await?;
    Ok(echo)
}

#[test]
fn inotify_events_and_a_tcp_echo_share_one_default_runtime() {
    let dir = TempDir::new().unwrap();
    let runtime = Runtime::builder().worker_threads(2).build().unwrap();
    let inotify = Inotify::new().unwrap();
    let _registration = inotify.register_with(runtime.io()).unwrap();
    let addr = echo_server(&runtime).unwrap();
    let mut events = inotify.watch_stream(dir.path(), Mask::CREATE).unwrap();
    let watched = dir.path().to_owned();

    let session = async move {
        let mut stream = TcpStream::connect(addr).await?;
        let mut seen = Vec::new();
        // Interleaved: each file event and each echo is awaited on the same runtime.
        for round in 0..3 {
            let name = format!("file-{round}");
            fs::write(watched.join(&name), "")?;
            seen.push(events.next_event().await);
            let message = format!("round {round}");
            assert_eq!(round_trip(&mut stream, message.as_bytes()).await?, message.as_bytes());
        }
        Ok::<_, io::Error>(seen)
    };
    let seen = runtime
        .block_on(async { timeout(PATIENCE, session).await })
        .expect("the events or the echoes did not arrive")
        .unwrap();
    assert_eq!(seen, [Some(created("file-0")), Some(created("file-1")), Some(created("file-2"))]);
}

#[test]
fn a_burst_larger_than_one_waits_read_cap_all_arrives_through_epoll() {
    let CreatedEvents { dir, runtime, inotify, received, _watch } = created_events();
    // Long names: each record is 16 bytes of header plus the padded name, so this burst is
    // well over one wait's cap. All of it is queued before epoll first reports the fd, and
    // epoll reports the fd once for it (edge-triggered): whatever one dispatch leaves unread
    // would wait for a later event that never comes.
    let name = |index: usize| format!("{index:0>60}");
    let count = MAX_READ_PER_WAIT / (16 + 64) + 500;
    for index in 0..count {
        fs::write(dir.path().join(name(index)), "").unwrap();
    }
    let registration = inotify.register_with(runtime.io()).unwrap();

    for index in 0..count {
        let event = received.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!("event {index} of {count} did not arrive: the rest of the burst was stranded")
        });
        assert_eq!(event, created(&name(index)));
    }
    drop(registration);
}

#[test]
fn an_inotify_source_has_one_kind_of_driver_at_a_time() {
    let runtime = Runtime::builder().worker_threads(1).build().unwrap();
    let inotify = Inotify::new().unwrap();

    let registration = inotify.register_with(runtime.io()).unwrap();
    let error = Composite::new(inotify.clone()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "an executor beside the epoll registration");
    let error = inotify.register_with(runtime.io()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "a second epoll registration");
    drop(registration);

    let executor = Builder::new().worker_threads(1).build(inotify.clone()).unwrap();
    let error = inotify.register_with(runtime.io()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "an epoll registration beside an executor");
    drop(executor);
    drop(inotify.register_with(runtime.io()).unwrap());
}

#[test]
fn events_left_when_the_epoll_registration_drops_go_to_the_next_driver() {
    let CreatedEvents { dir, runtime, inotify, received, _watch } = created_events();
    let registration = inotify.register_with(runtime.io()).unwrap();
    fs::write(dir.path().join("first"), "").unwrap();
    assert_eq!(received.recv_timeout(PATIENCE).unwrap(), created("first"));

    drop(registration);
    // Deregistered: the runtime's epoll no longer reads the fd, so this event stays queued in
    // the kernel for whoever drives the source next.
    fs::write(dir.path().join("second"), "").unwrap();
    let source = Composite::new(inotify).unwrap().with(Timer::new()).unwrap();
    let event = loop {
        if let Ok(event) = received.try_recv() {
            break event;
        }
        let dispatched = source.wait(Some(PATIENCE)).unwrap();
        assert!(dispatched > 0, "the event left in the kernel's queue was not dispatched");
    };
    assert_eq!(event, created("second"));
}
