//! An HTTP server on the default runtime: HTTP/1.1 and HTTP/2 (prior knowledge, "h2c") on one
//! port, through hyper-util's automatic connection builder and reactor-hyper.
//!
//! ```sh
//! cargo run --release --example http_server -- 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/stream       # one kept-alive connection
//! curl --http2-prior-knowledge -i http://127.0.0.1:8080/
//! curl --data-binary @some_file http://127.0.0.1:8080/upload         # its length and CRC-32
//! curl -o /dev/null http://127.0.0.1:8080/download?bytes=10485760
//! ```
//!
//! Ctrl-C stops accepting, lets the requests in flight finish (for at most 10 seconds) and exits.

mod app;

use std::io;
use std::time::Duration;

use reactor_epoll::net::TcpListener;

/// How long connections get to finish their requests after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    reactor_epoll::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("serving HTTP/1.1 and HTTP/2 (h2c) on http://{}", listener.local_addr()?);
        let ctrl_c = async {
            match reactor_epoll::signal::ctrl_c().await {
                Ok(()) => println!("Ctrl-C: finishing the requests in flight (at most {GRACE:?})"),
                // Without a signal handler the server still serves; it just cannot stop gently.
                Err(error) => {
                    eprintln!("cannot listen for Ctrl-C: {error}");
                    std::future::pending::<()>().await;
                }
            }
        };
        match app::serve(listener, ctrl_c, GRACE).await? {
            app::Shutdown::Drained => println!("every connection finished; bye"),
            app::Shutdown::DeadlinePassed => println!("closing the connections still open after {GRACE:?}"),
        }
        Ok(())
    })
}
