//! TCP through the public API, on an executor over each backend.

mod common;

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::{on_every_backend, registrations, Backend, Source};
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use reactor_net::net::{TcpListener, TcpStream};

on_every_backend!(
    a_thousand_concurrent_echo_connections_round_trip_their_bytes,
    half_close_delivers_eof_while_the_other_direction_keeps_working,
    connecting_to_a_closed_port_is_refused,
    nodelay_is_set_and_reported,
    split_halves_read_and_write_from_different_tasks,
    connects_over_ipv6_loopback,
    connect_timeout_on_an_executor_without_a_timer_is_not_found,
    reads_into_uninitialised_memory_return_the_bytes_then_eof,
);

/// A listener on a free loopback port whose accept queue holds `backlog` connections.
fn listener(backlog: i32, source: &Source) -> TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: `listen` on a socket this function owns; a second `listen` only resizes the queue.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), backlog) }, 0);
    TcpListener::from_std(listener, source).unwrap()
}

fn message(connection: u32) -> Vec<u8> {
    (0..64u32).map(|i| (connection.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8).collect()
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().map(|(i, &b)| (i as u64 + 1) * u64::from(b)).sum()
}

fn a_thousand_concurrent_echo_connections_round_trip_their_bytes(backend: Backend) {
    const CONNECTIONS: u32 = 1_000;
    let executor = backend.executor();
    let listener = listener(1_024, executor.source());
    let addr = listener.local_addr().unwrap();
    let server = executor.spawn(async move {
        let mut incoming = listener.incoming();
        let mut echoes = Vec::new();
        for _ in 0..CONNECTIONS {
            let stream = incoming.next().await.unwrap()?;
            echoes.push(reactor::Handle::current().unwrap().spawn(async move {
                let (mut reader, mut writer) = stream.into_split();
                futures_lite::io::copy(&mut reader, &mut writer).await.unwrap();
                writer.close().await.unwrap();
            }));
        }
        for echo in echoes {
            echo.await.unwrap();
        }
        Ok::<(), std::io::Error>(())
    });
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|connection| {
            executor.spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let sent = message(connection);
                stream.write_all(&sent).await?;
                stream.close().await?;
                let mut received = Vec::new();
                stream.read_to_end(&mut received).await?;
                Ok::<_, std::io::Error>((checksum(&sent), checksum(&received), received.len()))
            })
        })
        .collect();
    executor.block_on(async {
        for client in clients {
            let (sent, received, len) = client.await.unwrap().unwrap();
            assert_eq!((sent, len), (received, 64));
        }
        server.await.unwrap().unwrap();
    });
    assert_eq!(registrations(executor.source()), 0, "every stream deregistered on drop");
}

fn half_close_delivers_eof_while_the_other_direction_keeps_working(backend: Backend) {
    let executor = backend.executor();
    let listener = listener(16, executor.source());
    let addr = listener.local_addr().unwrap();
    executor.block_on(async {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());

        client.write_all(b"request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut request = Vec::new();
        server.read_to_end(&mut request).await.unwrap();
        assert_eq!(request, b"request");
        assert_eq!(server.read(&mut [0; 8]).await.unwrap(), 0, "EOF stays EOF");

        server.write_all(b"response").await.unwrap();
        server.close().await.unwrap();
        let mut response = Vec::new();
        client.read_to_end(&mut response).await.unwrap();
        assert_eq!(response, b"response");
    });
}

fn connecting_to_a_closed_port_is_refused(backend: Backend) {
    let executor = backend.executor();
    let closed: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let error = executor.block_on(TcpStream::connect(closed)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(registrations(executor.source()), 0);
}

fn nodelay_is_set_and_reported(backend: Backend) {
    let executor = backend.executor();
    let listener = listener(16, executor.source());
    let addr = listener.local_addr().unwrap();
    executor.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        stream.set_nodelay(false).unwrap();
        assert!(!stream.nodelay().unwrap());
    });
}

fn split_halves_read_and_write_from_different_tasks(backend: Backend) {
    let executor = backend.executor();
    let listener = listener(16, executor.source());
    let addr = listener.local_addr().unwrap();
    executor.block_on(async {
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (mut client_reader, mut client_writer) = client.into_split();
        let (mut server_reader, mut server_writer) = server.into_split();
        // Both sides write before reading: only works if the halves really run independently.
        let writer = reactor::Handle::current().unwrap().spawn(async move {
            client_writer.write_all(&[7; 100_000]).await.unwrap();
            client_writer.close().await.unwrap();
        });
        server_writer.write_all(&[9; 100_000]).await.unwrap();
        server_writer.close().await.unwrap();
        let mut at_server = Vec::new();
        server_reader.read_to_end(&mut at_server).await.unwrap();
        let mut at_client = Vec::new();
        client_reader.read_to_end(&mut at_client).await.unwrap();
        writer.await.unwrap();
        assert_eq!(at_server, vec![7; 100_000]);
        assert_eq!(at_client, vec![9; 100_000]);
    });
}

fn connects_over_ipv6_loopback(backend: Backend) {
    let executor = backend.executor();
    let listener =
        TcpListener::from_std(std::net::TcpListener::bind("[::1]:0").unwrap(), executor.source()).unwrap();
    let addr = listener.local_addr().unwrap();
    executor.block_on(async {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"v6").await.unwrap();
        let mut buf = [0; 2];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"v6");
    });
}

fn connect_timeout_on_an_executor_without_a_timer_is_not_found(backend: Backend) {
    let executor = backend.executor();
    let error = executor
        .block_on(TcpStream::connect_timeout(([127, 0, 0, 1], 1), Duration::from_secs(1)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

/// `poll_read_uninit` (hyper's reads) fills the caller's uninitialised buffer from the socket,
/// waits while nothing is queued, and reports EOF as 0 once the peer has shut down writing.
fn reads_into_uninitialised_memory_return_the_bytes_then_eof(backend: Backend) {
    use std::mem::MaybeUninit;
    let executor = backend.executor();
    let listener = listener(16, executor.source());
    let addr = listener.local_addr().unwrap();
    executor.block_on(async {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut buf = [MaybeUninit::<u8>::uninit(); 64];
        let reader = reactor::Handle::current().unwrap().spawn(async move {
            let read = std::future::poll_fn(|cx| server.poll_read_uninit(cx, &mut buf)).await.unwrap();
            // SAFETY: `poll_read_uninit` initialised the first `read` bytes.
            let bytes: Vec<u8> = buf[..read].iter().map(|byte| unsafe { byte.assume_init() }).collect();
            let eof = std::future::poll_fn(|cx| server.poll_read_uninit(cx, &mut buf)).await.unwrap();
            (bytes, eof)
        });
        client.write_all(b"uninit").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let (bytes, eof) = reader.await.unwrap();
        assert_eq!(bytes, b"uninit");
        assert_eq!(eof, 0);
    });
}
