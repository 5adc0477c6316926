//! The mock's kernel: the other side of the I/O backend protocol, made visible to loom. Files
//! with level readiness, and per registered file the directions a one-shot registration watches
//! or the edges an edge-triggered one has yet to report.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::RawFd;

use super::{Readiness, Triggering};

/// Every file the mock has created, and which are registered. Always used under the mock's
/// kernel lock.
#[derive(Debug)]
pub(super) struct Kernel {
    triggering: Triggering,
    /// Events fired below the kernel (`MockSource::fire`), not yet collected.
    fired: Vec<(usize, Readiness)>,
    /// By file id (the index); a closed file stays, marked closed, so a stale peer reaches
    /// nothing.
    files: Vec<File>,
    /// Open files by fd number; ordered, so that a wait reports them in the same order in every
    /// execution of a model.
    by_fd: BTreeMap<RawFd, usize>,
}

#[derive(Debug)]
struct File {
    fd: RawFd,
    open: bool,
    /// Units of readiness per direction (index 0 reads, 1 writes): messages queued, room for
    /// writes. A direction is ready while it has one.
    units: [u32; 2],
    /// The registration watching the file, if any (epoll refuses a second one).
    watch: Option<Watch>,
}

#[derive(Debug)]
struct Watch {
    key: usize,
    /// One-shot: the directions watched, all dropped by a report (`EPOLLONESHOT`).
    armed: Readiness,
    /// Edge-triggered: the directions that became ready since the last report.
    edges: Readiness,
}

/// Index of `direction` in `File::units`.
fn index(direction: Readiness) -> usize {
    usize::from(direction == Readiness::WRITABLE)
}

const DIRECTIONS: [Readiness; 2] = [Readiness::READABLE, Readiness::WRITABLE];

impl File {
    /// The directions ready now (level).
    fn ready(&self) -> Readiness {
        DIRECTIONS
            .into_iter()
            .filter(|&direction| self.units[index(direction)] > 0)
            .fold(Readiness::NONE, |ready, direction| ready | direction)
    }
}

impl Kernel {
    pub(super) fn new(triggering: Triggering) -> Self {
        Self { triggering, fired: Vec::new(), files: Vec::new(), by_fd: BTreeMap::new() }
    }

    /// A new open file with nothing ready; returns its id.
    pub(super) fn open(&mut self, fd: RawFd) -> usize {
        let id = self.files.len();
        self.files.push(File { fd, open: true, units: [0; 2], watch: None });
        self.by_fd.insert(fd, id);
        id
    }

    /// Closes file `id`: it leaves whatever registration watched it, as a closed fd leaves an
    /// epoll set.
    pub(super) fn close(&mut self, id: usize) {
        let file = &mut self.files[id];
        file.open = false;
        file.watch = None;
        self.by_fd.remove(&file.fd);
    }

    fn by_fd(&mut self, fd: RawFd) -> io::Result<&mut File> {
        match self.by_fd.get(&fd) {
            Some(&id) => Ok(&mut self.files[id]),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is not an open mock file (create one with MockSource::file)"),
            )),
        }
    }

    /// One unit of readiness arrives in each direction of `directions` of file `id`; returns
    /// whether the waiter must be woken (a report is due).
    pub(super) fn make_ready(&mut self, id: usize, directions: Readiness) -> bool {
        let file = &mut self.files[id];
        if !file.open {
            return false;
        }
        let mut edges = Readiness::NONE;
        for direction in DIRECTIONS.into_iter().filter(|&direction| directions.contains(direction)) {
            let units = &mut file.units[index(direction)];
            if *units == 0 {
                edges = edges | direction;
            }
            *units += 1;
        }
        let Some(watch) = &mut file.watch else { return false };
        match self.triggering {
            Triggering::Edge => {
                watch.edges = watch.edges | edges;
                edges != Readiness::NONE
            }
            Triggering::Oneshot => watch.armed & directions != Readiness::NONE,
        }
    }

    /// The modelled operation: takes one unit of `direction` from file `id` (a message read, a
    /// write's room used), or fails with `WouldBlock` if there is none.
    pub(super) fn take(&mut self, id: usize, direction: Readiness) -> io::Result<()> {
        let units = &mut self.files[id].units[index(direction)];
        if *units == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        *units -= 1;
        Ok(())
    }

    /// Registers file `fd` under `key`, watching `directions`; returns whether a report is due
    /// at once (the file is ready already: epoll reports it at the next wait).
    pub(super) fn add(&mut self, fd: RawFd, key: usize, directions: Readiness) -> io::Result<bool> {
        let file = self.by_fd(fd)?;
        if file.watch.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("mock file {fd} is registered already"),
            ));
        }
        let ready = file.ready();
        file.watch = Some(Watch { key, armed: directions, edges: ready & directions });
        Ok(ready & directions != Readiness::NONE)
    }

    /// A one-shot registration watches `directions` from now on (`EPOLL_CTL_MOD`, which
    /// re-checks the file's readiness); returns whether a report is due at once.
    pub(super) fn modify(&mut self, fd: RawFd, directions: Readiness) -> io::Result<bool> {
        let file = self.by_fd(fd)?;
        let ready = file.ready();
        let watch = file.watch.as_mut().ok_or_else(|| not_registered(fd))?;
        watch.armed = directions;
        Ok(ready & directions != Readiness::NONE)
    }

    /// Stops watching file `fd`.
    pub(super) fn delete(&mut self, fd: RawFd) -> io::Result<()> {
        let file = self.by_fd(fd)?;
        file.watch.take().map(drop).ok_or_else(|| not_registered(fd))
    }

    /// Queues `(key, readiness)` below the files, straight onto the ready list.
    pub(super) fn fire(&mut self, key: usize, readiness: Readiness) {
        self.fired.push((key, readiness));
    }

    /// What one `epoll_wait` returns, appended to `events`: the events fired, then
    /// `(key, readiness)` per registered file that has a report due. One-shot: the armed
    /// directions that are ready, after which the registration watches nothing. Edge-triggered:
    /// the edges since the last report.
    pub(super) fn collect(&mut self, events: &mut Vec<(usize, Readiness)>) {
        events.append(&mut self.fired);
        let triggering = self.triggering;
        for file in &mut self.files {
            let ready = file.ready();
            let Some(watch) = &mut file.watch else { continue };
            let report = match triggering {
                Triggering::Edge => std::mem::replace(&mut watch.edges, Readiness::NONE),
                Triggering::Oneshot => watch.armed & ready,
            };
            if report != Readiness::NONE {
                if triggering == Triggering::Oneshot {
                    watch.armed = Readiness::NONE;
                }
                events.push((watch.key, report));
            }
        }
    }
}

fn not_registered(fd: RawFd) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("mock file {fd} is not registered"))
}
