//! Joining a multicast group on the loopback interface and receiving a datagram sent to it.
//! Skipped, with a message, where the OS refuses multicast on loopback.

mod common;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{on_every_backend, Backend};
use reactor_net::net::UdpSocket;

on_every_backend!(a_member_of_a_group_on_loopback_receives_its_datagrams);

fn a_member_of_a_group_on_loopback_receives_its_datagrams(backend: Backend) {
    // A group of the administratively scoped range, distinct per backend (the runs share the
    // host).
    let group = Ipv4Addr::new(239, 255, 77, 1 + backend as u8);
    let executor = reactor::Executor::new(source_with_timer(backend)).unwrap();
    executor.block_on(async {
        let member = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.unwrap();
        let port = member.local_addr().unwrap().port();
        if let Err(error) = member.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            eprintln!("skipped: the OS refuses to join {group} on loopback: {error}");
            return;
        }
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        sender.set_multicast_loop_v4(true).unwrap();
        // Through loopback: IP_MULTICAST_IF by the sender's address (socket2, which the crate
        // uses; std has no setter).
        socket2::SockRef::from(&sender).set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
        if let Err(error) = sender.send_to(b"to the group", SocketAddr::from((group, port))).await {
            eprintln!("skipped: the OS refuses to send to {group} over loopback: {error}");
            return;
        }
        let mut buf = [0; 32];
        let timer = reactor_timer::Timer::try_current().unwrap();
        // Bounds a datagram the OS dropped; never reached when it arrives.
        match timer.timeout(Duration::from_secs(10), member.recv_from(&mut buf)).await {
            Ok(received) => {
                let (len, from) = received.unwrap();
                assert_eq!((&buf[..len], from), (&b"to the group"[..], sender.local_addr().unwrap()));
            }
            Err(_) => {
                eprintln!("skipped: the OS accepted the join and the send but delivered nothing");
                return;
            }
        }
        member.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
        let error = member.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrNotAvailable, "left already: {error}");
    });
}

/// The backend's source with a timer beside it, to bound the wait for the datagram.
fn source_with_timer(backend: Backend) -> reactor::source::Composite {
    let timer = reactor_timer::Timer::new();
    reactor::source::Composite::new(backend.source()).unwrap().with(timer).unwrap()
}
