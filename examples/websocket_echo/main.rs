//! A WebSocket echo server on the default runtime: async-tungstenite straight over reactor's
//! `TcpStream` (both speak futures-io).
//!
//! ```sh
//! cargo run --release --example websocket_echo -- 127.0.0.1:9001
//! python3 -m websockets ws://127.0.0.1:9001/   # `pip install websockets`; any client will do
//! ```

mod echo;

use reactor_epoll::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    reactor_epoll::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("echoing WebSocket messages on ws://{}", listener.local_addr()?);
        echo::serve(listener).await
    })
}
