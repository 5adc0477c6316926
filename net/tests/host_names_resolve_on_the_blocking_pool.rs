//! Host names and address strings wherever a socket address is taken, with no network:
//! `localhost`, numeric strings, a reserved `.invalid` name, and malformed strings, on each
//! backend.

mod common;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{on_every_backend, Backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::Composite;
use reactor::Executor;
use reactor_net::net::{lookup_host, TcpListener, TcpStream, UdpSocket};

on_every_backend!(
    localhost_names_connect_bind_and_send_to_local_sockets,
    numeric_strings_and_address_lists_need_no_lookup,
    every_address_is_tried_in_order_and_the_last_error_reported,
    a_name_under_invalid_fails_fast_naming_the_name,
    malformed_strings_are_invalid_input_quoting_the_text,
);

/// An executor over `backend` with a timer, to bound the waits on the system resolver.
fn executor(backend: Backend) -> Executor<Composite> {
    Executor::new(Composite::new(backend.source()).unwrap().with(reactor_timer::Timer::new()).unwrap())
        .unwrap()
}

/// Bounds a lookup by the system resolver: a resolver that hangs fails the test with a
/// message instead of hanging it (never reached on a resolver that answers).
async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    let limit = Duration::from_secs(60);
    match reactor_timer::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: the system resolver did not answer within {limit:?}"),
    }
}

fn localhost_names_connect_bind_and_send_to_local_sockets(backend: Backend) {
    executor(backend).block_on(async {
        let listener = bounded("bind localhost", TcpListener::bind("localhost:0")).await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback(), "{addr}");
        let port = addr.port();

        let mut client =
            bounded("connect localhost", TcpStream::connect(format!("localhost:{port}"))).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"by name").await.unwrap();
        let mut buf = [0; 7];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"by name");

        let by_pair = TcpStream::connect(("localhost", port)).await.unwrap();
        let host = String::from("localhost");
        let by_string_pair = TcpStream::connect((host.clone(), port)).await.unwrap();
        let timed =
            TcpStream::connect_timeout(format!("localhost:{port}"), Duration::from_secs(30)).await.unwrap();
        for stream in [&by_pair, &by_string_pair, &timed] {
            assert_eq!(stream.peer_addr().unwrap(), addr);
        }

        let a = UdpSocket::bind("localhost:0").await.unwrap();
        let b = UdpSocket::bind(("localhost", 0)).await.unwrap();
        let b_port = b.local_addr().unwrap().port();
        a.send_to(b"datagram", format!("localhost:{b_port}")).await.unwrap();
        let (len, from) = b.recv_from(&mut [0; 16]).await.unwrap();
        assert_eq!((len, from), (8, a.local_addr().unwrap()));
        a.connect(("localhost", b_port)).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());

        let resolved: Vec<_> = lookup_host(("localhost", 443)).await.unwrap().collect();
        assert!(
            !resolved.is_empty() && resolved.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 443)
        );
    });
}

fn numeric_strings_and_address_lists_need_no_lookup(backend: Backend) {
    // Outside any executor there is no blocking pool: numeric strings still parse, a name
    // cannot be resolved.
    futures_lite::future::block_on(async {
        let parsed: Vec<_> = lookup_host("127.0.0.1:8080").await.unwrap().collect();
        assert_eq!(parsed, ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
        let v6: Vec<_> = lookup_host("[::1]:53").await.unwrap().collect();
        assert_eq!(v6, ["[::1]:53".parse::<SocketAddr>().unwrap()]);
        let pair: Vec<_> = lookup_host(("10.1.2.3", 7)).await.unwrap().collect();
        assert_eq!(pair, [SocketAddr::from(([10, 1, 2, 3], 7))]);
        let error = lookup_host("localhost:80").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(error.to_string().contains("needs a reactor executor"), "{error}");
    });

    executor(backend).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let text = addr.to_string();
        TcpStream::connect(text.as_str()).await.unwrap();
        TcpStream::connect(&text).await.unwrap();
        TcpStream::connect(text.clone()).await.unwrap();
        TcpStream::connect(("127.0.0.1", addr.port())).await.unwrap();
        TcpStream::connect((Ipv4Addr::LOCALHOST, addr.port())).await.unwrap();
        TcpStream::connect(&[addr][..]).await.unwrap();
        TcpStream::connect(vec![addr]).await.unwrap();
        let listener_v4 = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        assert!(listener_v4.local_addr().unwrap().is_ipv4());
    });
}

fn every_address_is_tried_in_order_and_the_last_error_reported(backend: Backend) {
    executor(backend).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let closed = {
            let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
            probe.local_addr().unwrap()
        }; // dropped: nobody listens there now

        // The refused address first, the listening one second: the connect gets through.
        let stream = TcpStream::connect(&[closed, open][..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open);

        // A port in use, then an address of no interface here (TEST-NET-1; binding it sends
        // nothing): the error is the last one, not the first.
        let foreign: SocketAddr = "192.0.2.1:0".parse().unwrap();
        let error = TcpListener::bind(&[open, foreign][..]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrNotAvailable, "{error}");
        let error = TcpListener::bind(&[foreign, open][..]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");

        let empty: &[SocketAddr] = &[];
        assert_eq!(TcpStream::connect(empty).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    });
}

fn a_name_under_invalid_fails_fast_naming_the_name(backend: Backend) {
    // RFC 6761: no name under `.invalid` ever resolves.
    executor(backend).block_on(async {
        let name = "no-such-host.invalid";
        let error = bounded("connect", TcpStream::connect((name, 80))).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        assert!(
            error.to_string().contains("could not resolve the host name \"no-such-host.invalid\""),
            "{error}"
        );
        let error = bounded("bind", TcpListener::bind(format!("{name}:0"))).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        assert!(error.to_string().contains(name), "{error}");
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let error = bounded("send_to", socket.send_to(b"x", (name, 9))).await.unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
        let error = bounded("lookup", lookup_host(format!("{name}:443"))).await.unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
    });
}

fn malformed_strings_are_invalid_input_quoting_the_text(backend: Backend) {
    executor(backend).block_on(async {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("localhost", "no port"),
            ("127.0.0.1", "no port"),
            ("localhost:", "port is not a number"),
            ("localhost:http", "port is not a number"),
            ("localhost:65536", "port is not a number"),
            ("localhost:-1", "port is not a number"),
            (":80", "no host"),
            ("::1:80", "brackets"),
            ("[not-ipv6]:80", "not an IPv6 address"),
        ];
        for (text, why) in cases {
            let quoted = format!("{text:?}");
            for error in [
                TcpStream::connect(text).await.unwrap_err(),
                TcpListener::bind(text).await.unwrap_err(),
                UdpSocket::bind(text).await.unwrap_err(),
                lookup_host(text).await.unwrap_err(),
            ] {
                assert_eq!(error.kind(), ErrorKind::InvalidInput, "{text:?}: {error}");
                let message = error.to_string();
                assert!(message.contains(&quoted) && message.contains(why), "{text:?}: {message}");
            }
        }
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let error = socket.send_to(b"x", "nowhere").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let error = TcpStream::connect(("nul\0byte", 80)).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("no NUL byte"), "{error}");
        let error = socket.connect(("", 80)).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("no host"), "{error}");
    });
}
