//! A long-running TCP echo server on the default runtime.
//!
//! ```sh
//! cargo run --release --example echo -- 127.0.0.1:7000
//! nc 127.0.0.1 7000     # in another terminal: every line comes back
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::io;
use reactor_epoll::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|error| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{arg:?}: {error}"))
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 7000)),
    };
    reactor_epoll::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("echoing on {}", listener.local_addr()?);
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Out of fds or a connection reset before accept: back off, keep serving the others.
                Err(error) => {
                    eprintln!("accept failed: {error}");
                    reactor_epoll::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            reactor_epoll::spawn(async move {
                let (mut reader, mut writer) = stream.into_split();
                match io::copy(&mut reader, &mut writer).await {
                    Ok(bytes) => println!("{peer}: echoed {bytes} bytes"),
                    Err(error) => eprintln!("{peer}: {error}"),
                }
            })
            .detach();
        }
    })
}
