//! An accept loop that runs out of fds gets `EMFILE` and recovers once fds free up, on each
//! backend.
//!
//! The scenario lowers `RLIMIT_NOFILE`, which is process-wide, so it runs in a child process:
//! the test re-executes its own binary with `CHILD_ENV` set, running only this test on this
//! backend.

mod common;

use std::process::Command;

use common::{on_every_backend, Backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_net::net::TcpListener;

const CHILD_ENV: &str = "REACTOR_NET_FD_EXHAUSTION_CHILD";

on_every_backend!(accept_loop_survives_fd_exhaustion);

fn accept_loop_survives_fd_exhaustion(backend: Backend) {
    if std::env::var_os(CHILD_ENV).is_some() {
        exhaust_and_recover(backend);
        return;
    }
    let test = format!("accept_loop_survives_fd_exhaustion::{}", backend.name());
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the child failed:\n{printed}");
    assert!(printed.contains("1 passed"), "the child ran no test:\n{printed}");
}

fn exhaust_and_recover(backend: Backend) {
    const CLIENTS: usize = 3;
    let executor = backend.executor();
    let listener =
        TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), executor.source())
            .unwrap();
    // Connected before the fds run out: the kernel completes the handshakes, and the
    // connections wait in the accept queue.
    let mut clients: Vec<_> =
        (0..CLIENTS).map(|_| std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap()).collect();
    let limit = libc::rlimit { rlim_cur: 256, rlim_max: 256 };
    // SAFETY: `setrlimit` reads a live struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut spare = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => spare.push(file),
            Err(error) if error.raw_os_error() == Some(libc::EMFILE) => break,
            Err(error) => panic!("{error}"),
        }
    }

    let accepted = executor.block_on(async {
        let mut accepted = Vec::new();
        let mut exhausted = 0;
        while accepted.len() < CLIENTS {
            match listener.accept().await {
                Ok((stream, _)) => accepted.push(stream),
                Err(error) if error.raw_os_error() == Some(libc::EMFILE) => {
                    exhausted += 1;
                    spare.pop(); // the server frees an fd, as a real one would close an idle one
                }
                Err(error) => panic!("{error}"),
            }
        }
        assert!(exhausted >= 1, "the first accept ran out of fds");
        accepted
    });
    for (mut stream, client) in accepted.into_iter().zip(&mut clients) {
        std::io::Write::write_all(client, b"still served").unwrap();
        executor.block_on(async {
            let mut buf = [0; 12];
            stream.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"still served");
            stream.write_all(b"ok").await.unwrap();
        });
    }
    for client in &mut clients {
        let mut buf = [0; 2];
        std::io::Read::read_exact(client, &mut buf).unwrap();
        assert_eq!(&buf, b"ok");
    }
}
