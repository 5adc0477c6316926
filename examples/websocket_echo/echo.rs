//! The echo of the `websocket_echo` example: a module of its own so that
//! `tests/http_real_clients.rs` runs exactly this code against a WebSocket client.

use std::io;
use std::time::Duration;

use async_tungstenite::tungstenite::{Error, Message};
use futures_lite::StreamExt;
use reactor_epoll::net::{TcpListener, TcpStream};

/// Accepts WebSocket connections on `listener` forever, each echoed by its own task.
///
/// # Errors
///
/// None in practice: accept errors are printed and retried; the `Result` lets a caller `?` it.
pub(crate) async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                reactor_epoll::spawn(async move {
                    match echo(stream).await {
                        Ok(messages) => println!("{peer}: echoed {messages} messages, closed"),
                        Err(error) => eprintln!("{peer}: {error}"),
                    }
                })
                .detach();
            }
            // Out of fds, or a connection reset before it was accepted: back off, keep serving.
            Err(error) => {
                eprintln!("accept failed: {error}");
                reactor_epoll::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Runs the WebSocket handshake on `stream`, then sends every text and binary message back until
/// the client closes; returns how many messages were echoed.
///
/// # Errors
///
/// The handshake's or the connection's error.
pub(crate) async fn echo(stream: TcpStream) -> Result<u64, Error> {
    // async-tungstenite speaks futures-io, which reactor's TcpStream implements: no adapter.
    let mut socket = async_tungstenite::accept_async(stream).await?;
    let mut echoed = 0;
    while let Some(message) = socket.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => {
                socket.send(message).await?;
                echoed += 1;
            }
            // tungstenite answers pings and a close itself; after a close the stream ends.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }
    Ok(echoed)
}
