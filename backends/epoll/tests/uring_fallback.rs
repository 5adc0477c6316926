//! The fallback from io_uring to epoll, forced with `REACTOR_IO_URING=off` (the documented
//! switch, the same path a container that blocks io_uring takes): `Backend::Automatic` builds a
//! working runtime on epoll and says why, and `Backend::IoUring` is refused with `Unsupported`
//! and the same reason; with `REACTOR_IO_URING=on`, Automatic probes io_uring. One test in this
//! binary, since it changes the process's environment.

use std::sync::mpsc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_epoll::net::UnixStream;
use reactor_epoll::{Backend, Runtime, Unavailable};

/// How long the test may run before the watchdog fails it; never reached when it passes.
const WATCHDOG: Duration = Duration::from_secs(60);

#[test]
fn forcing_the_fallback_runs_on_epoll_and_reports_why() {
    std::env::set_var(reactor_uring::DISABLE_VAR, "off");
    let (done, finished) = mpsc::channel();
    let test = std::thread::spawn(move || {
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        let choice = runtime.backend_choice();
        assert_eq!(choice.requested(), Backend::Automatic);
        assert_eq!(choice.backend(), Backend::Epoll);
        assert_eq!(choice.fallback(), Some(&Unavailable::Disabled));
        assert!(runtime.epoll().is_some() && runtime.uring().is_none());
        assert!(choice.fallback().unwrap().to_string().contains("REACTOR_IO_URING=off"));
        let echoed = runtime.block_on(async {
            let (a, b) = UnixStream::pair()?;
            (&a).write_all(b"still works").await?;
            let mut buf = [0; 11];
            (&b).read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        });
        assert_eq!(&echoed.unwrap(), b"still works");

        let refused = Runtime::builder().backend(Backend::IoUring).worker_threads(1).build().unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::Unsupported);
        assert_eq!(Unavailable::of(&refused), Unavailable::Disabled);

        // Asked for (`on`), Automatic probes io_uring: chosen here, or epoll with the reason.
        std::env::set_var(reactor_uring::DISABLE_VAR, "on");
        let runtime = Runtime::builder().worker_threads(1).build().unwrap();
        let choice = runtime.backend_choice();
        match choice.fallback() {
            None => assert!(choice.backend() == Backend::IoUring && runtime.uring().is_some()),
            Some(reason) => {
                assert_eq!(choice.backend(), Backend::Epoll);
                eprintln!("io_uring is unavailable here: {reason}");
            }
        }
        done.send(()).unwrap();
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => test.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(test.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the fallback test hung for {WATCHDOG:?}"),
    }
}
