//! The default runtime: an I/O backend, timers and channels composed, on each backend; and the
//! process-wide functions.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{assert_runs_on, builder, on_every_backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::{Parking, PingSource};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::{channel, time, Backend};

on_every_backend!(
    spawn_inside_a_runtime_stays_on_that_runtime,
    timers_channels_and_sockets_work_together_in_one_runtime,
    a_manual_clock_makes_an_hour_pass_at_once_on_any_worker_count,
    a_timeout_on_the_manual_clock_elapses_only_when_advanced,
    a_custom_passive_source_joins_the_runtime,
    a_second_blocking_source_is_refused_with_invalid_input,
    a_blocking_job_registers_io_with_its_runtimes_backend,
);

#[test]
fn hello_world_on_the_default_runtime() {
    let answer = reactor_epoll::block_on(async { reactor_epoll::spawn(async { 6 * 7 }).await.unwrap() });
    assert_eq!(answer, 42);
    // Spawning from a plain thread lands on the same default runtime.
    let task = reactor_epoll::spawn(async { thread::current().name().map(str::to_owned) });
    let name = reactor_epoll::block_on(task).unwrap();
    // A default worker ("reactor-N") or this block_on thread (the test's own) ran it.
    assert!(name.is_some());
}

fn spawn_inside_a_runtime_stays_on_that_runtime(backend: Backend) {
    let runtime = builder(backend).worker_threads(1).thread_name(|_| "mine".into()).build().unwrap();
    assert_runs_on(&runtime, backend);
    let name = runtime.block_on(async {
        reactor_epoll::spawn(async { thread::current().name().map(str::to_owned) }).await.unwrap()
    });
    // Either the worker ("mine") or this block_on thread ran it; never the default runtime's.
    assert_ne!(name.as_deref().map(|name| name.starts_with("reactor-")), Some(true));
}

fn timers_channels_and_sockets_work_together_in_one_runtime(backend: Backend) {
    let runtime = builder(backend).worker_threads(2).build().unwrap();
    assert_runs_on(&runtime, backend);
    let (sender, mut receiver) = channel::bounded::<u32>(4);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            sender.send_blocking(i).unwrap();
        }
    });
    let received = runtime.block_on(async {
        let mut sum = 0;
        while let Ok(value) = receiver.recv().await {
            sum += value;
        }
        sum
    });
    producer.join().unwrap();
    assert_eq!(received, (0..100).sum());

    let echoed = runtime.block_on(async {
        let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = reactor_epoll::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 5];
            stream.read_exact(&mut buffer).await.unwrap();
            time::sleep(Duration::from_millis(1)).await;
            stream.write_all(&buffer).await.unwrap();
        });
        let mut client = TcpStream::connect_timeout(addr, Duration::from_secs(30)).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut echoed = [0; 5];
        client.read_exact(&mut echoed).await.unwrap();
        server.await.unwrap();
        echoed
    });
    assert_eq!(&echoed, b"hello");
}

fn a_manual_clock_makes_an_hour_pass_at_once_on_any_worker_count(backend: Backend) {
    for workers in [0, 1, 2] {
        let (runtime, clock) = builder(backend).worker_threads(workers).build_with_manual_clock().unwrap();
        assert_runs_on(&runtime, backend);
        let start = clock.now();
        let fired = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (1..=10u64)
            .map(|minutes| {
                let fired = fired.clone();
                runtime.spawn(async move {
                    time::sleep_until(start + Duration::from_secs(60 * minutes)).await;
                    fired.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        clock.advance(Duration::from_secs(3600));
        runtime.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(fired.load(Ordering::SeqCst), 10, "workers = {workers}");
    }
}

fn a_timeout_on_the_manual_clock_elapses_only_when_advanced(backend: Backend) {
    let (runtime, clock) = builder(backend).worker_threads(1).build_with_manual_clock().unwrap();
    let deadline = clock.now() + Duration::from_secs(5);
    let never = runtime.spawn(runtime.timer().timeout_at(deadline, std::future::pending::<()>()));
    clock.advance(Duration::from_secs(4));
    let still_pending = runtime.block_on(async {
        reactor_epoll::yield_now().await;
        !never.is_finished()
    });
    assert!(still_pending);
    clock.advance(Duration::from_secs(1));
    let elapsed = runtime.block_on(never).unwrap().unwrap_err();
    assert_eq!(std::io::Error::from(elapsed).kind(), std::io::ErrorKind::TimedOut);
}

fn a_custom_passive_source_joins_the_runtime(backend: Backend) {
    let pings = PingSource::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let (ping, _registration) = pings.register(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let runtime = builder(backend).worker_threads(1).source(pings).build().unwrap();
    assert_runs_on(&runtime, backend);
    thread::spawn(move || ping.ping()).join().unwrap();
    runtime.block_on(async {
        assert!(reactor::current_source::<PingSource>().is_some());
        while runs.load(Ordering::SeqCst) == 0 {
            reactor_epoll::yield_now().await;
        }
    });
}

fn a_second_blocking_source_is_refused_with_invalid_input(backend: Backend) {
    let error = builder(backend).source(Parking::new()).build().unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// The blocking pool as the runtime's builder configures it, and the free function, which uses
/// the runtime of the calling task.
#[test]
fn the_runtime_builder_configures_its_blocking_pool() {
    let runtime = reactor_epoll::Runtime::builder()
        .worker_threads(1)
        .max_blocking_threads(2)
        .blocking_thread_name(|index| format!("files-{index}"))
        .build()
        .unwrap();
    let name = runtime
        .block_on(async {
            reactor_epoll::spawn_blocking(|| thread::current().name().map(str::to_owned)).await
        })
        .unwrap();
    assert_eq!(name.as_deref(), Some("files-0"));
    assert_eq!(runtime.blocking_threads(), 1);
    let refused = reactor_epoll::Runtime::builder().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
}

fn a_blocking_job_registers_io_with_its_runtimes_backend(backend: Backend) {
    let runtime = builder(backend).worker_threads(1).build().unwrap();
    assert_runs_on(&runtime, backend);
    let echoed = runtime.block_on(async {
        // Made inside a blocking job: registered with this runtime's backend, used by a task.
        let (a, b) = runtime.spawn_blocking(reactor_epoll::net::UnixStream::pair).await.unwrap().unwrap();
        (&a).write_all(b"hi").await.unwrap();
        let mut buffer = [0; 2];
        (&b).read_exact(&mut buffer).await.unwrap();
        buffer
    });
    assert_eq!(&echoed, b"hi");
}
