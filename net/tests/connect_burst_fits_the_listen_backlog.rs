//! A burst of connects to a listener that is not accepting yet: the kernel completes each
//! handshake only while the listener's accept queue has room, so with std's old backlog of 128
//! the 130th connect stalls (its SYN is dropped and retried until someone accepts) and this
//! test would hang until the watchdog failed it; with the default backlog of 1024 every connect
//! completes first.

mod common;

use std::collections::HashSet;

use common::{on_every_backend, Backend};
use reactor_net::net::{TcpListener, TcpStream, DEFAULT_BACKLOG};

on_every_backend!(six_hundred_connects_complete_before_the_listener_accepts_any);

const CONNECTS: usize = 600;

/// Why this machine cannot run the test, if it cannot.
fn unsupported() -> Option<String> {
    let somaxconn: usize =
        std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok()?.trim().parse().ok()?;
    if somaxconn < CONNECTS {
        return Some(format!(
            "net.core.somaxconn is {somaxconn}: the kernel caps every listen backlog below the \
             {CONNECTS} connections of the burst"
        ));
    }
    // Each backend's run holds 2 fds per connection, and the test threads run side by side.
    let needed = (3 * (2 * CONNECTS + 50)) as libc::rlim_t;
    // SAFETY: all-zero bytes are a valid `rlimit`; `getrlimit`/`setrlimit` read or write
    // one live local.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if limit.rlim_cur < needed && limit.rlim_max >= needed {
        limit.rlim_cur = needed;
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
    (limit.rlim_cur < needed).then(|| format!("the fd limit {} is below the {needed} needed", limit.rlim_cur))
}

fn six_hundred_connects_complete_before_the_listener_accepts_any(backend: Backend) {
    if let Some(why) = unsupported() {
        eprintln!("skipped: {why}");
        return;
    }
    assert!(DEFAULT_BACKLOG as usize >= CONNECTS);
    let executor = backend.executor();
    executor.block_on(async {
        let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = reactor::Handle::current().unwrap();
        let connects: Vec<_> = (0..CONNECTS).map(|_| handle.spawn(TcpStream::connect(addr))).collect();
        let mut clients = Vec::with_capacity(CONNECTS);
        for connect in connects {
            clients.push(connect.await.unwrap().expect("a connect of the burst failed"));
        }
        // Every handshake completed while nobody accepted: all 600 wait in the queue.
        let mut expected: HashSet<_> = clients.iter().map(|client| client.local_addr().unwrap()).collect();
        for _ in 0..CONNECTS {
            let (_server, peer) = listener.accept().await.unwrap();
            assert!(expected.remove(&peer), "accepted {peer}, not one of the burst or twice");
        }
        assert!(expected.is_empty());
    });
}
