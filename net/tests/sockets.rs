//! UDP and Unix socket round trips through the public API, on each backend.

mod common;

use common::{on_every_backend, Backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use reactor_net::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};

on_every_backend!(
    udp_datagrams_round_trip_both_unconnected_and_connected,
    unix_streams_round_trip_through_a_listener,
    connecting_to_a_unix_path_nobody_listens_on_fails,
    unix_stream_pair_carries_a_large_transfer_both_ways,
    unix_datagrams_round_trip_by_path_and_by_pair,
);

/// A socket path unique to this process, `backend` (the backends' runs of a test run at the same
/// time) and `name`, removed first if a past run left it.
fn socket_path(backend: Backend, name: &str) -> std::path::PathBuf {
    let file = format!("reactor-net-{}-{backend:?}-{name}.sock", std::process::id());
    let path = std::env::temp_dir().join(file);
    let _ = std::fs::remove_file(&path);
    path
}

fn udp_datagrams_round_trip_both_unconnected_and_connected(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let a = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let b = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let mut buf = [0; 64];
        for round in 0..100u8 {
            a.send_to(&[round; 10], b.local_addr().unwrap()).await.unwrap();
            let (len, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..len], from), (&[round; 10][..], a.local_addr().unwrap()));
        }
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        b.send(b"pong").await.unwrap();
        let len = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"pong");
    });
}

fn unix_streams_round_trip_through_a_listener(backend: Backend) {
    let path = socket_path(backend, "stream");
    let executor = backend.executor();
    executor.block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = reactor::Handle::current().unwrap().spawn(async move {
            let mut incoming = listener.incoming();
            for _ in 0..10 {
                let mut stream = incoming.next().await.unwrap().unwrap();
                let mut request = Vec::new();
                stream.read_to_end(&mut request).await.unwrap();
                request.reverse();
                stream.write_all(&request).await.unwrap();
            }
        });
        for client in 0..10u8 {
            let mut stream = UnixStream::connect(&path).await.unwrap();
            stream.write_all(&[client, 1, 2, 3]).await.unwrap();
            stream.close().await.unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            assert_eq!(response, [3, 2, 1, client]);
        }
        server.await.unwrap();
    });
    std::fs::remove_file(&path).unwrap();
}

fn connecting_to_a_unix_path_nobody_listens_on_fails(backend: Backend) {
    let path = socket_path(backend, "nobody");
    let executor = backend.executor();
    let error = executor.block_on(UnixStream::connect(&path)).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    let too_long = std::path::PathBuf::from("/tmp/".to_owned() + &"x".repeat(200));
    let error = executor.block_on(UnixStream::connect(too_long)).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

fn unix_stream_pair_carries_a_large_transfer_both_ways(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let expected = payload.clone();
        let writer = reactor::Handle::current().unwrap().spawn(async move {
            a.write_all(&payload).await.unwrap();
            a.close().await.unwrap();
            a
        });
        let mut received = Vec::new();
        b.read_to_end(&mut received).await.unwrap();
        assert!(received == expected, "the bytes arrive intact and in order");
        let mut a = writer.await.unwrap();
        b.write_all(b"back").await.unwrap();
        let mut back = [0; 4];
        a.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    });
}

fn unix_datagrams_round_trip_by_path_and_by_pair(backend: Backend) {
    let (server_path, client_path) =
        (socket_path(backend, "dgram-server"), socket_path(backend, "dgram-client"));
    let executor = backend.executor();
    executor.block_on(async {
        let server = UnixDatagram::bind(&server_path).unwrap();
        let client = UnixDatagram::bind(&client_path).unwrap();
        client.send_to(b"hello", &server_path).await.unwrap();
        let mut buf = [0; 16];
        let (len, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"hello");
        assert_eq!(from.as_pathname(), Some(client_path.as_path()));

        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"one").await.unwrap();
        a.send(b"two").await.unwrap();
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"two");

        let unbound = UnixDatagram::unbound().unwrap();
        unbound.connect(&server_path).unwrap();
        unbound.send(b"anon").await.unwrap();
        let (len, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from.is_unnamed()), (&b"anon"[..], true));
    });
    std::fs::remove_file(&server_path).unwrap();
    std::fs::remove_file(&client_path).unwrap();
}
