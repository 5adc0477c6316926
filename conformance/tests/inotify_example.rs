//! The conformance suite on the inotify source of `examples/custom_source`: a blocking source
//! written only against the public API, the way a user writes one. Its module is included here
//! by path, unchanged (so its own unit tests build and run in this binary too; they need the
//! example's `temp_dir` module, included the same way).
//!
//! An event is a file in a temporary directory, watched for `MODIFY`; firing it appends a byte.

#[allow(dead_code, unreachable_pub, unused_imports)] // the example's stream and epoll APIs, unused by the suite
#[path = "../../examples/custom_source/inotify/mod.rs"]
mod inotify;
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/custom_source/temp_dir.rs"]
mod temp_dir;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use inotify::{Inotify, Mask, Watch};
use reactor_conformance::{Callback, Harness, Suite};
use temp_dir::TempDir;

/// Makes inotify sources; each registration watches a new file of `dir`.
struct Files {
    dir: TempDir,
    next: AtomicUsize,
}

impl Harness for Files {
    type Source = Inotify;
    type Trigger = File;
    type Registration = Watch;

    fn source(&self) -> io::Result<Inotify> {
        Inotify::new()
    }

    fn register(&self, inotify: &Inotify, mut callback: Callback) -> io::Result<(File, Watch)> {
        // Relaxed: only the uniqueness of the name matters.
        let path = self.dir.path().join(format!("event-{}", self.next.fetch_add(1, Ordering::Relaxed)));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let watch = inotify.watch(&path, Mask::MODIFY, move |_event| callback())?;
        Ok((file, watch))
    }

    fn fire(&self, file: &File) {
        // Every write is a MODIFY event (the kernel merges it with an identical one still queued).
        let _ = (&*file).write(b"x");
    }
}

#[test]
fn the_inotify_example_conforms() {
    let files = Files { dir: TempDir::new().expect("a temporary directory"), next: AtomicUsize::new(0) };
    match Suite::new(files).run() {
        Ok(report) => println!("{report}"),
        Err(failure) => panic!("{failure:?}"),
    }
}
