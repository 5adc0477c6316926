//! Unix sockets bound and connected by abstract names (Linux): no file, no cleanup.

#![cfg(target_os = "linux")]

mod common;

use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;

use common::{on_every_backend, Backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_net::net::{UnixDatagram, UnixListener, UnixStream};

on_every_backend!(
    streams_round_trip_through_an_abstract_name,
    datagrams_round_trip_through_abstract_names,
    bad_abstract_addresses_fail_with_exact_kinds,
);

/// An abstract name unique to this process, `backend` and `name`.
fn abstract_addr(backend: Backend, name: &str) -> SocketAddr {
    let name = format!("reactor-net-{}-{backend:?}-{name}", std::process::id());
    SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
}

fn streams_round_trip_through_an_abstract_name(backend: Backend) {
    let addr = abstract_addr(backend, "stream");
    let executor = backend.executor();
    executor.block_on(async {
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let bound = listener.local_addr().unwrap();
        assert_eq!(bound.as_abstract_name(), addr.as_abstract_name());
        assert_eq!(bound.as_pathname(), None, "no file");
        let mut client = UnixStream::connect_addr(&addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0; 8];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
        assert_eq!(client.peer_addr().unwrap().as_abstract_name(), addr.as_abstract_name());

        // The name is free again once the listener closes.
        drop((listener, server, client));
        let again = UnixListener::bind_addr(&addr).unwrap();
        drop(again);
        let error = UnixStream::connect_addr(&addr).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "nobody listens on the name now");
    });
}

fn datagrams_round_trip_through_abstract_names(backend: Backend) {
    let (server_addr, client_addr) =
        (abstract_addr(backend, "dgram-server"), abstract_addr(backend, "dgram-client"));
    let executor = backend.executor();
    executor.block_on(async {
        let server = UnixDatagram::bind_addr(&server_addr).unwrap();
        let client = UnixDatagram::bind_addr(&client_addr).unwrap();
        client.send_to_addr(b"hello", &server_addr).await.unwrap();
        let mut buf = [0; 16];
        let (len, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from.as_abstract_name()), (&b"hello"[..], client_addr.as_abstract_name()));
        let accepting = UnixListener::bind_addr(&abstract_addr(backend, "poll-accept")).unwrap();
        let accepting_addr = accepting.local_addr().unwrap();
        let _client = UnixStream::connect_addr(&accepting_addr).await.unwrap();
        std::future::poll_fn(|cx| accepting.poll_accept(cx)).await.unwrap();
        client.connect_addr(&server_addr).unwrap();
        client.send(b"again").await.unwrap();
        let len = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"again");
    });
}

fn bad_abstract_addresses_fail_with_exact_kinds(backend: Backend) {
    let too_long = SocketAddr::from_abstract_name([b'x'; 200]).unwrap_err();
    assert_eq!(too_long.kind(), ErrorKind::InvalidInput, "{too_long}");
    let executor = backend.executor();
    executor.block_on(async {
        let addr = abstract_addr(backend, "taken");
        let _listener = UnixListener::bind_addr(&addr).unwrap();
        let taken = UnixListener::bind_addr(&addr).unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AddrInUse);
        // An unnamed address (an unbound socket's) names nothing to connect to.
        let unnamed = UnixDatagram::unbound().unwrap().local_addr().unwrap();
        assert!(unnamed.is_unnamed());
        let error = UnixStream::connect_addr(&unnamed).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("unnamed"), "{error}");
    });
}
