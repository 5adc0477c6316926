//! The example's run: the inotify source on an executor of its own, then on the default runtime.

use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::Composite;
use reactor::Builder;
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::Runtime;
use reactor_timer::{timeout, Timer};

use crate::inotify::{EpollRegistration, Event, EventStream, Inotify, Mask};
use crate::temp_dir::TempDir;

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// The file the writer thread creates, modifies and deletes.
const FILE: &str = "notes.txt";

/// The events the example must see, in this order; others may come in between.
const EXPECTED: [Mask; 3] = [Mask::CREATE, Mask::MODIFY, Mask::DELETE];

pub(crate) fn run() -> Result<(), BoxError> {
    let dir = TempDir::new()?;
    let inotify = Inotify::new()?;
    // The timer is passive: the composite hands it a notifier that ends inotify's blocked wait
    // when an earlier deadline is registered. Each source is attached to this one composite; a
    // second composite or executor over the same inotify instance would be refused.
    let source = Composite::new(inotify.clone())?.with(Timer::new())?;
    let executor = Builder::new().worker_threads(2).build(source)?;

    // The callback API: it runs on whichever thread dispatches the events.
    let callbacks = Arc::new(AtomicUsize::new(0));
    let counter = callbacks.clone();
    let mask = Mask::CREATE | Mask::MODIFY | Mask::DELETE;
    let log = inotify.watch(dir.path(), mask, move |event| {
        counter.fetch_add(1, Ordering::Relaxed);
        println!("  callback on {}: {event:?}", thread::current().name().unwrap_or("an unnamed thread"));
    })?;

    // The async API, from a task that finds the source of the executor it runs on.
    let watched = dir.path().to_owned();
    let task = executor.spawn(async move {
        let inotify = reactor::current_source::<Inotify>().ok_or("the task runs outside the executor")?;
        let mut events = inotify.watch_stream(&watched, mask)?;
        let writer = thread::spawn(move || write_file(&watched));
        let seen = timeout(Duration::from_secs(5), expect_events(&mut events)).await;
        writer.join().map_err(|_| "the writer thread panicked")??;
        seen.map_err(|_| "timed out waiting for the events")?
    });
    // A `JoinError` carries the panic payload, which is not `Sync`: keep its message.
    let seen = executor.block_on(task).map_err(|error| error.to_string())??;

    println!("the task saw {} events:", seen.len());
    for event in &seen {
        println!("  {event:?}");
    }
    // Relaxed: the count is only reported.
    println!("the logging callback ran {} times", callbacks.load(Ordering::Relaxed));
    drop(log);
    drop(executor);

    on_the_default_runtime(dir.path())
}

/// The same kind of source on the default runtime, beside a TCP echo: its fd is registered with
/// the runtime's epoll, whose wait dispatches the inotify events on the runtime's loop.
fn on_the_default_runtime(dir: &Path) -> Result<(), BoxError> {
    let runtime = Runtime::builder().worker_threads(2).build()?;
    let inotify = Inotify::new()?;
    // Dropping the registration deregisters; the source could then be driven another way.
    let _registration: EpollRegistration = inotify.register_with(runtime.io())?;
    let mut events = inotify.watch_stream(dir, Mask::CREATE)?;

    let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0")?, runtime.io())?;
    let addr = listener.local_addr()?;
    let server = runtime.spawn(async move {
        let (stream, _) = listener.accept().await?;
        let (mut reader, mut writer) = stream.into_split();
        futures_lite::io::copy(&mut reader, &mut writer).await
    });

    let path = dir.join("from-the-runtime.txt");
    let session = async move {
        let mut client = TcpStream::connect(addr).await?;
        fs::write(&path, "")?;
        let event = events.next_event().await.ok_or("the watch ended")?;
        client.write_all(b"echo").await?;
        let mut echo = [0; 4];
        client.read_exact(&mut echo).await?;
        Ok::<_, BoxError>((event, echo))
    };
    let (event, echo) = runtime
        .block_on(async { timeout(Duration::from_secs(5), session).await })
        .map_err(|_| "timed out waiting for the event and the echo")??;
    println!("on the default runtime: {event:?}, and the echo {:?}", String::from_utf8_lossy(&echo));
    drop(server); // cancels the echo server
    Ok(())
}

/// Creates, modifies and deletes `FILE` in `dir`.
fn write_file(dir: &Path) -> io::Result<()> {
    let path = dir.join(FILE);
    fs::write(&path, "first line\n")?;
    OpenOptions::new().append(true).open(&path)?.write_all(b"second line\n")?;
    fs::remove_file(&path)
}

/// Reads `events` until it has seen each of `EXPECTED` for `FILE`, in order; returns all it read.
async fn expect_events(events: &mut EventStream) -> Result<Vec<Event>, BoxError> {
    let mut seen = Vec::new();
    let mut expected = EXPECTED.iter().peekable();
    while let Some(&&kind) = expected.peek() {
        let event = events.next_event().await.ok_or("the watch ended before the expected events")?;
        if event.mask.contains(kind) && event.name.as_deref() == Some(Path::new(FILE)) {
            expected.next();
        }
        seen.push(event);
    }
    Ok(seen)
}
