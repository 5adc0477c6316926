//! `readable`/`writable`, the `try_*` operations, `peek`, the `poll_*` functions and `AsFd` of
//! the `net` types, and a UDP socket driven by `Async`'s poll functions alone, on each backend.

mod common;

use std::future::poll_fn;
use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};

use common::{on_every_backend, Backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_net::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use reactor_net::Async;

on_every_backend!(
    try_read_on_an_empty_socket_would_block_and_readable_then_waits_for_data,
    a_readable_and_try_read_loop_drains_every_byte,
    peek_leaves_the_data_for_the_next_read,
    udp_peek_and_peek_from_leave_the_datagram_queued,
    try_write_fills_the_send_buffer_then_would_block_and_writable_waits_for_room,
    try_accept_would_block_without_a_pending_connection,
    a_udp_socket_runs_on_poll_read_with_and_poll_write_with_alone,
    unix_into_split_halves_work_from_two_tasks,
    datagram_try_operations_would_block_then_deliver,
    tcp_split_halves_have_the_readiness_and_try_calls_of_their_direction,
);

fn spawn<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> reactor::Task<T> {
    reactor::Handle::current().unwrap().spawn(future)
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

fn try_read_on_an_empty_socket_would_block_and_readable_then_waits_for_data(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (client, server) = tcp_pair().await;
        let mut buf = [0; 16];
        assert_eq!(server.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        let mut bufs = [IoSliceMut::new(&mut buf)];
        assert_eq!(b.try_read_vectored(&mut bufs).unwrap_err().kind(), ErrorKind::WouldBlock);

        // The WouldBlock cleared readability: `readable` waits for the write below.
        let writer = spawn(async move {
            client.try_write(b"hi").unwrap();
            a.try_write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"yz")]).unwrap();
            (client, a)
        });
        server.readable().await.unwrap();
        assert_eq!(server.try_read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");
        b.readable().await.unwrap();
        let (mut first, mut second) = ([0; 1], [0; 8]);
        let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
        assert_eq!(b.try_read_vectored(&mut bufs).unwrap(), 3);
        assert_eq!((&first, &second[..2]), (b"x", &b"yz"[..]));
        let _keep = writer.await.unwrap();
    });
}

fn a_readable_and_try_read_loop_drains_every_byte(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (mut client, server) = tcp_pair().await;
        let total = 300_000;
        let writer = spawn(async move {
            client.write_all(&vec![7; total]).await.unwrap();
            client.close().await.unwrap();
            client
        });
        let (mut received, mut buf) = (0, vec![0; 4096]);
        loop {
            server.readable().await.unwrap();
            match server.try_read(&mut buf) {
                Ok(0) => break,
                Ok(read) => received += read,
                Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(received, total);
        let _keep = writer.await.unwrap();
    });
}

fn peek_leaves_the_data_for_the_next_read(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (mut client, mut server) = tcp_pair().await;
        client.write_all(b"peekaboo").await.unwrap();
        let mut buf = [0; 8];
        let peeked = server.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..peeked], &b"peekaboo"[..peeked]);
        let mut again = [0; 8];
        let peeked_again = poll_fn(|cx| server.poll_peek(cx, &mut again)).await.unwrap();
        assert_eq!(&again[..peeked_again], &b"peekaboo"[..peeked_again]);
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"peekaboo", "peeking consumed nothing");

        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"unix").await.unwrap();
        let mut buf = [0; 4];
        assert_eq!(b.peek(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf, b"unix");
        let mut read = [0; 4];
        assert_eq!(b.try_read(&mut read).unwrap(), 4);
        assert_eq!(&read, b"unix");
    });
}

fn udp_peek_and_peek_from_leave_the_datagram_queued(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let a = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let b = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        a.send_to(b"datagram", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0; 16];
        let (len, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from), (&b"datagram"[..], a.local_addr().unwrap()));
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(b.peek(&mut buf).await.unwrap(), 8);
        let (len, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"datagram", "peeking consumed nothing");
        assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);

        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"unix").await.unwrap();
        assert_eq!(y.peek(&mut buf).await.unwrap(), 4);
        assert_eq!(y.recv(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf[..4], b"unix");
    });
}

fn try_write_fills_the_send_buffer_then_would_block_and_writable_waits_for_room(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let chunk = [1; 8192];
        let mut written = 0;
        let error = loop {
            match a.try_write(&chunk) {
                Ok(n) => written += n,
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), ErrorKind::WouldBlock);
        let reader = spawn(async move {
            let mut buf = vec![0; written];
            b.read_exact(&mut buf).await.unwrap();
            b
        });
        a.writable().await.unwrap();
        assert!(a.try_write(&chunk).unwrap() > 0, "room came back");
        let _keep = reader.await.unwrap();
        assert!(poll_fn(|cx| a.poll_write_ready(cx)).await.is_ok());
    });
}

fn try_accept_would_block_without_a_pending_connection(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        assert_eq!(listener.try_accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        listener.readable().await.unwrap();
        let (server, peer) = listener.try_accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_ne!(server.as_raw_fd(), listener.as_raw_fd());
        assert_eq!(server.as_fd().as_raw_fd(), server.as_raw_fd());
        let second = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (_, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
        assert_eq!(peer, second.local_addr().unwrap());
    });
}

fn a_udp_socket_runs_on_poll_read_with_and_poll_write_with_alone(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        // What a QUIC stack holds: an `Async` socket, and poll functions called from its own
        // `poll` methods, never an async fn of this crate.
        let server =
            std::sync::Arc::new(Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap());
        let client = Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        let server_addr = server.get_ref().local_addr().unwrap();
        let echo = spawn({
            let server = server.clone();
            async move {
                let mut buf = [0; 64];
                for _ in 0..50 {
                    let (len, from) =
                        poll_fn(|cx| server.poll_read_with(cx, |s| s.recv_from(&mut buf))).await.unwrap();
                    let reply = &buf[..len];
                    poll_fn(|cx| server.poll_write_with(cx, |s| s.send_to(reply, from))).await.unwrap();
                }
            }
        });
        let mut buf = [0; 64];
        for round in 0..50u8 {
            poll_fn(|cx| client.poll_write_with(cx, |s| s.send_to(&[round; 20], server_addr))).await.unwrap();
            let (len, from) =
                poll_fn(|cx| client.poll_read_with(cx, |s| s.recv_from(&mut buf))).await.unwrap();
            assert_eq!((&buf[..len], from), (&[round; 20][..], server_addr));
        }
        echo.await.unwrap();
        // Nothing queued: the poll is Pending, not an error, until a datagram comes.
        let pending = poll_fn(|cx| {
            std::task::Poll::Ready(client.poll_read_with(cx, |s| s.recv_from(&mut buf)).is_pending())
        });
        assert!(pending.await);
        assert!(poll_fn(|cx| client.poll_writable(cx)).await.is_ok());
    });
}

fn unix_into_split_halves_work_from_two_tasks(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (stream, mut peer) = UnixStream::pair().unwrap();
        let (mut read_half, mut write_half) = stream.into_split();
        let writer = spawn(async move {
            for round in 0..100u8 {
                write_half.write_all(&[round; 100]).await.unwrap();
            }
            write_half.close().await.unwrap();
        });
        let reader = spawn(async move {
            let mut received = Vec::new();
            read_half.read_to_end(&mut received).await.unwrap();
            received
        });
        let mut echoed = Vec::new();
        peer.read_to_end(&mut echoed).await.unwrap();
        assert_eq!(echoed.len(), 100 * 100, "the write half's bytes and its close reached the peer");
        peer.write_all(b"to the read half").await.unwrap();
        peer.close().await.unwrap();
        writer.await.unwrap();
        assert_eq!(reader.await.unwrap(), b"to the read half");
    });
}

fn datagram_try_operations_would_block_then_deliver(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let a = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let b = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let mut buf = [0; 16];
        assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        a.writable().await.unwrap();
        a.try_send_to(b"now", b.local_addr().unwrap()).unwrap();
        b.readable().await.unwrap();
        let (len, from) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"now"[..], a.local_addr().unwrap()));
        a.connect(b.local_addr().unwrap()).await.unwrap();
        a.try_send(b"connected").unwrap();
        let (len, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..len], b"connected");
        poll_fn(|cx| a.poll_send_to(cx, b"polled", b.local_addr().unwrap())).await.unwrap();
        let (len, _) = poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..len], b"polled");

        let path =
            std::env::temp_dir().join(format!("reactor-net-{}-{backend:?}-try.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let bound = UnixDatagram::bind(&path).unwrap();
        UnixDatagram::unbound().unwrap().try_send_to(b"by path", &path).unwrap();
        let (len, _) = bound.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"by path");
        std::fs::remove_file(&path).unwrap();

        let (x, y) = UnixDatagram::pair().unwrap();
        assert_eq!(y.try_recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        x.try_send(b"unix").unwrap();
        y.readable().await.unwrap();
        assert_eq!(y.try_recv(&mut buf).unwrap(), 4);
        // No WouldBlock since the event: the cache still says readable.
        assert!(poll_fn(|cx| y.poll_read_ready(cx)).await.is_ok());
    });
}

fn tcp_split_halves_have_the_readiness_and_try_calls_of_their_direction(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (client, server) = tcp_pair().await;
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        assert_eq!(client_read.local_addr().unwrap(), server_write.peer_addr().unwrap());
        let mut buf = [0; 8];
        assert_eq!(server_read.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        let writer = spawn(async move {
            client_write.writable().await.unwrap();
            client_write.try_write(b"half").unwrap();
            client_write
        });
        server_read.readable().await.unwrap();
        assert_eq!(server_read.peek(&mut buf).await.unwrap(), 4);
        assert_eq!(server_read.try_read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"half");
        poll_fn(|cx| server_write.poll_write_ready(cx)).await.unwrap();
        server_write.try_write_vectored(&[IoSlice::new(b"back")]).unwrap();
        client_read.readable().await.unwrap();
        assert_eq!(client_read.try_read(&mut buf).unwrap(), 4);
        assert_ne!(client_read.as_raw_fd(), server_read.as_raw_fd());
        let _keep = writer.await.unwrap();
    });
}
