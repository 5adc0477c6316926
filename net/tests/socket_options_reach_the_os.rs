//! Each socket option set through the `net` types is read back from the kernel with a raw
//! `getsockopt` (not through the crate's getters), and bad option values fail with the exact
//! error kind, on each backend.

mod common;

use std::io::ErrorKind;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use common::{on_every_backend, Backend};
use reactor_net::net::{
    TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixStream, DEFAULT_BACKLOG,
};

on_every_backend!(
    tcp_stream_options_reach_the_kernel,
    tcp_socket_options_reach_the_kernel_before_listen,
    listen_backlog_reaches_the_kernel,
    udp_options_reach_the_kernel,
    unix_buffer_sizes_reach_the_kernel,
    bad_option_values_are_invalid_input,
);

/// `getsockopt` of one `c_int` option, straight from the kernel.
fn int_option(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals of the sizes passed.
    let got = unsafe {
        libc::getsockopt(fd.as_raw_fd(), level, name, std::ptr::from_mut(&mut value).cast(), &mut len)
    };
    assert_eq!(got, 0, "getsockopt({level}, {name}): {}", std::io::Error::last_os_error());
    value
}

/// `SO_LINGER` from the kernel: `(l_onoff, l_linger)`.
fn linger_option(fd: &impl AsRawFd) -> (libc::c_int, libc::c_int) {
    // SAFETY: all-zero bytes are a valid `linger`.
    let mut linger: libc::linger = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: `linger` and `len` are live locals of the sizes passed.
    let got = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_mut(&mut linger).cast(),
            &mut len,
        )
    };
    assert_eq!(got, 0, "getsockopt(SO_LINGER): {}", std::io::Error::last_os_error());
    (linger.l_onoff, linger.l_linger)
}

/// The backlog the kernel keeps for a listening socket: Linux reports it in `TCP_INFO`'s
/// `tcpi_sacked` field for a socket in the LISTEN state.
fn listen_backlog(fd: RawFd) -> u32 {
    // SAFETY: all-zero bytes are a valid `tcp_info`.
    let mut info: libc::tcp_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are live locals of the sizes passed.
    let got = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::from_mut(&mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(got, 0, "getsockopt(TCP_INFO): {}", std::io::Error::last_os_error());
    info.tcpi_sacked
}

fn somaxconn() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap()
}

fn tcp_stream_options_reach_the_kernel(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();

        stream.set_linger(Some(Duration::from_secs(7))).unwrap();
        assert_eq!(linger_option(&stream), (1, 7));
        assert_eq!(stream.linger().unwrap(), Some(Duration::from_secs(7)));
        stream.set_linger(None).unwrap();
        assert_eq!(linger_option(&stream).0, 0);
        assert_eq!(stream.linger().unwrap(), None);

        stream.set_keepalive(true).unwrap();
        assert_eq!(int_option(&stream, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert!(stream.keepalive().unwrap());
        stream.set_keepalive(false).unwrap();
        assert_eq!(int_option(&stream, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);

        stream.set_ttl(42).unwrap();
        assert_eq!(int_option(&stream, libc::IPPROTO_IP, libc::IP_TTL), 42);
        assert_eq!(stream.ttl().unwrap(), 42);

        stream.set_send_buffer_size(64 * 1024).unwrap();
        let send = int_option(&stream, libc::SOL_SOCKET, libc::SO_SNDBUF);
        assert!(send >= 64 * 1024, "Linux doubles the value, never lowers it: {send}");
        assert_eq!(stream.send_buffer_size().unwrap(), send as usize);
        stream.set_recv_buffer_size(32 * 1024).unwrap();
        let recv = int_option(&stream, libc::SOL_SOCKET, libc::SO_RCVBUF);
        assert!(recv >= 32 * 1024, "{recv}");
        assert_eq!(stream.recv_buffer_size().unwrap(), recv as usize);

        // The listener's own options.
        listener.set_ttl(9).unwrap();
        assert_eq!(int_option(&listener, libc::IPPROTO_IP, libc::IP_TTL), 9);
        assert_eq!(
            int_option(&listener, libc::SOL_SOCKET, libc::SO_REUSEADDR),
            1,
            "TcpListener::bind sets SO_REUSEADDR"
        );
    });
}

fn tcp_socket_options_reach_the_kernel_before_listen(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        assert_eq!(int_option(&socket, libc::SOL_SOCKET, libc::SO_REUSEADDR), 1);
        socket.set_reuseport(true).unwrap();
        assert_eq!(int_option(&socket, libc::SOL_SOCKET, libc::SO_REUSEPORT), 1);
        assert!(socket.reuseaddr().unwrap() && socket.reuseport().unwrap());
        socket.set_nodelay(true).unwrap();
        assert_eq!(int_option(&socket, libc::IPPROTO_TCP, libc::TCP_NODELAY), 1);
        socket.set_keepalive(true).unwrap();
        assert_eq!(int_option(&socket, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        socket.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(linger_option(&socket), (1, 3));
        socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = socket.local_addr().unwrap();

        // SO_REUSEPORT lets a second socket listen on the same port.
        let listener = socket.listen(64).unwrap();
        let twin = TcpSocket::new_v4().unwrap();
        twin.set_reuseport(true).unwrap();
        twin.bind(addr).unwrap();
        let twin = twin.listen(64).unwrap();
        assert_eq!(twin.local_addr().unwrap(), listener.local_addr().unwrap());

        // An IPv6 socket: v6only and the hop limit, where the machine has IPv6.
        let Ok(v6) = TcpSocket::new_v6() else {
            eprintln!("skipped the IPv6 options: this machine has no IPv6 sockets");
            return;
        };
        v6.set_only_v6(true).unwrap();
        assert_eq!(int_option(&v6, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 1);
        assert!(v6.only_v6().unwrap());
        v6.set_only_v6(false).unwrap();
        assert_eq!(int_option(&v6, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 0);
        v6.set_ttl(17).unwrap();
        assert_eq!(int_option(&v6, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS), 17);
        assert_eq!(v6.ttl().unwrap(), 17);
    });
}

fn listen_backlog_reaches_the_kernel(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let default = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        assert_eq!(listen_backlog(default.as_raw_fd()), DEFAULT_BACKLOG.min(somaxconn()));
        let chosen = TcpSocket::new_v4().unwrap().listen(77).unwrap();
        assert_eq!(listen_backlog(chosen.as_raw_fd()), 77);
        // Above somaxconn, the kernel caps it without a word.
        let huge = TcpSocket::new_v4().unwrap().listen(i32::MAX as u32).unwrap();
        assert_eq!(listen_backlog(huge.as_raw_fd()), somaxconn());
    });
}

fn udp_options_reach_the_kernel(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let socket = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        socket.set_broadcast(true).unwrap();
        assert_eq!(int_option(&socket, libc::SOL_SOCKET, libc::SO_BROADCAST), 1);
        assert!(socket.broadcast().unwrap());
        socket.set_multicast_loop_v4(false).unwrap();
        assert_eq!(int_option(&socket, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP), 0);
        assert!(!socket.multicast_loop_v4().unwrap());
        socket.set_multicast_ttl_v4(5).unwrap();
        assert_eq!(int_option(&socket, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL), 5);
        assert_eq!(socket.multicast_ttl_v4().unwrap(), 5);
        socket.set_ttl(33).unwrap();
        assert_eq!(int_option(&socket, libc::IPPROTO_IP, libc::IP_TTL), 33);
        socket.set_recv_buffer_size(100_000).unwrap();
        assert!(int_option(&socket, libc::SOL_SOCKET, libc::SO_RCVBUF) >= 100_000);

        let Ok(v6) = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).await else {
            eprintln!("skipped the IPv6 UDP options: no IPv6 loopback here");
            return;
        };
        v6.set_multicast_loop_v6(false).unwrap();
        assert_eq!(int_option(&v6, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP), 0);
        assert!(!v6.multicast_loop_v6().unwrap());
        v6.set_ttl(200).unwrap();
        assert_eq!(int_option(&v6, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS), 200);
    });
}

fn unix_buffer_sizes_reach_the_kernel(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let (stream, _peer) = UnixStream::pair().unwrap();
        stream.set_send_buffer_size(50_000).unwrap();
        assert!(int_option(&stream, libc::SOL_SOCKET, libc::SO_SNDBUF) >= 50_000);
        let (datagram, _peer) = UnixDatagram::pair().unwrap();
        datagram.set_recv_buffer_size(60_000).unwrap();
        let recv = int_option(&datagram, libc::SOL_SOCKET, libc::SO_RCVBUF);
        assert!(recv >= 60_000);
        assert_eq!(datagram.recv_buffer_size().unwrap(), recv as usize);
    });
}

fn bad_option_values_are_invalid_input(backend: Backend) {
    let executor = backend.executor();
    executor.block_on(async {
        let kind = |result: std::io::Result<()>| result.unwrap_err().kind();
        let listen = |backlog| TcpSocket::new_v4().unwrap().listen(backlog).map(drop);

        let zero = listen(0).unwrap_err();
        assert_eq!(zero.kind(), ErrorKind::InvalidInput);
        assert!(zero.to_string().contains("not 0"), "{zero}");
        let too_big = listen(i32::MAX as u32 + 1).unwrap_err();
        assert_eq!(too_big.kind(), ErrorKind::InvalidInput);
        assert!(too_big.to_string().contains("2147483648"), "{too_big}");

        let v4 = UdpSocket::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let group_v6 = "ff02::1:3".parse::<Ipv6Addr>().unwrap();
        let error = v4.join_multicast_v6(&group_v6, 0).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("needs an IPv6 socket"), "{error}");
        let unicast = v4.join_multicast_v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::UNSPECIFIED);
        let error = unicast.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("10.0.0.1 is not a multicast address"), "{error}");
        assert_eq!(kind(v4.set_ttl(0)), ErrorKind::InvalidInput);
        assert_eq!(kind(v4.set_ttl(256)), ErrorKind::InvalidInput);
        assert_eq!(kind(v4.set_multicast_ttl_v4(256)), ErrorKind::InvalidInput);

        let socket = TcpSocket::new_v4().unwrap();
        assert_eq!(kind(socket.set_only_v6(true)), ErrorKind::InvalidInput);
        let v6_addr: SocketAddr = (Ipv6Addr::LOCALHOST, 0).into();
        let wrong_family = socket.bind(v6_addr).unwrap_err();
        assert_eq!(wrong_family.kind(), ErrorKind::InvalidInput, "{wrong_family:?}");
    });

    // Listening needs an executor to register with; configuring does not.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    assert_eq!(socket.listen(16).unwrap_err().kind(), ErrorKind::NotFound);
}
