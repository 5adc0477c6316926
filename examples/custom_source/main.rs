//! A custom event source built on `reactor`'s public trait, the way a user of the crate writes
//! one: [`Inotify`] watches files and directories with Linux inotify. Its `wait` blocks, so it is
//! the blocking part of a `Composite` whose passive part is a `reactor_timer::Timer`, and an
//! `Executor` runs tasks over the two.
//!
//! The example watches a temporary directory, creates, modifies and deletes a file in it from a
//! plain thread, and awaits the events in a task under a timeout. It fails unless it saw them.
//!
//! Then it runs the same source on the default runtime (`reactor_epoll::Runtime`), beside a TCP
//! echo: a blocking source cannot join that runtime, which blocks in epoll already, so the
//! source's fd is registered with the runtime's epoll instead ([`Inotify::register_with`]).
//!
//! Run with `cargo run --release --example custom_source`, and its tests with
//! `cargo test --example custom_source`.

#[cfg(target_os = "linux")]
mod inotify;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod temp_dir;

#[cfg(target_os = "linux")]
fn main() -> Result<(), run::BoxError> {
    run::run()
}

/// inotify is Linux's; elsewhere the example only says so (the workspace still builds there).
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("custom_source watches files with Linux inotify, so it runs on Linux only");
}
