//! Per-connection futures for the runtimes whose sockets implement `futures-io` (reactor, smol).

use std::io;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::peers::ECHO_BUFFER;

/// Echoes `stream` back until EOF; returns the bytes echoed.
pub(crate) async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> io::Result<u64> {
    let mut buffer = [0; ECHO_BUFFER];
    let mut echoed = 0;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buffer[..read]).await?;
        echoed += read as u64;
    }
}

/// Waits until the peer closes `stream` (or sends a byte).
pub(crate) async fn read_until_closed<S: AsyncRead + Unpin>(mut stream: S) {
    let _closed_or_byte = stream.read(&mut [0; 1]).await;
}
