//! An HTTP/1.1 client on the default runtime: hyper's client connection over reactor's
//! `TcpStream` (which resolves the host name), printing the status, the headers and the size of
//! the body.
//!
//! ```sh
//! cargo run --release --example http_server &          # or any plain-HTTP server
//! cargo run --release --example http_client -- http://127.0.0.1:8080/download?bytes=1000000
//! ```

use std::io;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HOST, USER_AGENT};
use hyper::{Request, Uri};
use reactor_epoll::net::TcpStream;
use reactor_hyper::HyperIo;

fn main() -> io::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:8080/".to_owned());
    let uri: Uri = url.parse().map_err(|error| invalid_input(format!("{url:?}: {error}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid_input(format!("{url:?}: only http:// URLs (this example has no TLS)")));
    }
    let authority = uri.authority().ok_or_else(|| invalid_input(format!("{url:?}: no host")))?.clone();
    let port = authority.port_u16().unwrap_or(80);
    // `host()` keeps the brackets of an IPv6 address, so "host:port" parses either way.
    let target = format!("{}:{port}", authority.host());
    let path = uri.path_and_query().map_or("/", |path| path.as_str()).to_owned();

    reactor_epoll::block_on(async {
        let stream = TcpStream::connect(target.as_str()).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(HyperIo::new(stream)).await.map_err(io::Error::other)?;
        // The connection's I/O runs as its own task; the request below is answered through it.
        reactor_epoll::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("connection: {error}");
            }
        })
        .detach();

        let request = Request::get(path)
            .header(HOST, authority.as_str())
            .header(USER_AGENT, "reactor-http-client-example")
            .body(Empty::<Bytes>::new())
            .map_err(io::Error::other)?;
        let response = sender.send_request(request).await.map_err(io::Error::other)?;
        println!("{:?} {}", response.version(), response.status());
        for (name, value) in response.headers() {
            println!("{name}: {}", value.to_str().unwrap_or("<not text>"));
        }
        let mut body = response.into_body();
        let mut size = 0usize;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.map_err(io::Error::other)?.data_ref() {
                size += data.len();
            }
        }
        println!("\n{size} bytes of body");
        Ok(())
    })
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
