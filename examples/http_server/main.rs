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

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    reactor_epoll::block_on(app::run(&addr))
}
