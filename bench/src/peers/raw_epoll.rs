//! The floor: a single-threaded echo server written directly on the epoll syscalls, with no
//! runtime, no tasks and no wakers.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use crate::peers::ECHO_BUFFER;
use crate::sys::epoll::Epoll;

/// The listener's key; connections use their index.
const LISTENER: u64 = u64::MAX;

/// Accepts `connections` connections on `listener` and echoes each back until EOF, all on the
/// calling thread; returns the bytes echoed in total once every connection has closed.
pub(crate) fn serve_echo(listener: TcpListener, connections: usize) -> io::Result<u64> {
    listener.set_nonblocking(true)?;
    let mut epoll = Epoll::new(connections + 1)?;
    epoll.add_readable(listener.as_raw_fd(), LISTENER)?;
    let mut streams: Vec<Option<TcpStream>> = Vec::with_capacity(connections);
    let mut open = 0;
    let mut echoed = 0;
    let mut buffer = [0; ECHO_BUFFER];
    let mut ready = Vec::with_capacity(connections + 1);
    while streams.len() < connections || open > 0 {
        epoll.wait(&mut ready)?;
        for &key in &ready {
            if key == LISTENER {
                open += accept_ready(&listener, &epoll, &mut streams, connections)?;
                continue;
            }
            let slot = &mut streams[key as usize];
            let Some(stream) = slot else { continue };
            match stream.read(&mut buffer) {
                Ok(0) => {
                    epoll.delete(stream.as_raw_fd())?;
                    *slot = None;
                    open -= 1;
                }
                Ok(read) => {
                    // One 64-byte message in flight always fits the empty send buffer.
                    stream.write_all(&buffer[..read])?;
                    echoed += read as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(echoed)
}

/// Accepts every pending connection, up to `connections` in all; returns how many it accepted.
fn accept_ready(
    listener: &TcpListener,
    epoll: &Epoll,
    streams: &mut Vec<Option<TcpStream>>,
    connections: usize,
) -> io::Result<usize> {
    let mut accepted = 0;
    while streams.len() < connections {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) => return Err(error),
        };
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        epoll.add_readable(stream.as_raw_fd(), streams.len() as u64)?;
        streams.push(Some(stream));
        accepted += 1;
    }
    if streams.len() == connections {
        epoll.delete(listener.as_raw_fd())?;
    }
    Ok(accepted)
}
