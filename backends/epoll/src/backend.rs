//! Which I/O backend a [`Runtime`](crate::Runtime) blocks in.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use reactor::io::IoHandle;
use reactor::EventSource;
use reactor_polling::{PollingSource, Triggering};

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::Epoll;

/// The I/O backend of a [`Runtime`](crate::Runtime), chosen with
/// [`RuntimeBuilder::backend`](crate::RuntimeBuilder::backend).
///
/// The [`net`](crate::net) types, [`Async`](crate::Async) and everything else of the runtime work
/// the same over each. Which is fastest where is measured in `reactor-bench`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Epoll on Linux and Android, the portable backend elsewhere.
    #[default]
    Automatic,
    /// [`Epoll`](crate::Epoll): one `epoll_wait` per wait, no syscall to re-arm. Linux and
    /// Android only; elsewhere building the runtime fails with `Unsupported`.
    Epoll,
    /// The portable backend, [`PollingSource`] on `polling`'s public API: kqueue on macOS and the
    /// BSDs, event ports on illumos, `poll` on other Unix systems, epoll on Linux (edge-triggered
    /// where the platform allows it).
    Polling,
    /// The portable backend with one-shot registrations re-armed after each report, as it runs
    /// on event ports and `poll`: for testing that path on any platform.
    PollingOneshot,
}

/// The blocking source a runtime was built on, kept typed for [`Runtime::epoll`] and
/// [`Runtime::polling`](crate::Runtime::polling).
#[derive(Clone)]
pub(crate) enum BackendSource {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Epoll(Epoll),
    Polling(PollingSource),
}

impl Backend {
    /// Creates the backend's source.
    pub(crate) fn create(self) -> io::Result<BackendSource> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Automatic | Self::Epoll => Ok(BackendSource::Epoll(Epoll::new()?)),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Self::Epoll => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the epoll backend exists only on Linux and Android; use Backend::Polling (or \
                 Backend::Automatic)",
            )),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Self::Automatic => Ok(BackendSource::Polling(PollingSource::new()?)),
            Self::Polling => Ok(BackendSource::Polling(PollingSource::new()?)),
            Self::PollingOneshot => {
                Ok(BackendSource::Polling(PollingSource::with_triggering(Triggering::Oneshot)?))
            }
        }
    }
}

impl BackendSource {
    /// The I/O handle I/O objects register with.
    pub(crate) fn io_handle(&self) -> &IoHandle {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.io_handle(),
            Self::Polling(polling) => polling.io_handle(),
        }
    }

    /// The source, to compose.
    pub(crate) fn boxed(&self) -> Box<dyn EventSource> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => Box::new(epoll.clone()),
            Self::Polling(polling) => Box::new(polling.clone()),
        }
    }
}

impl AsFd for BackendSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.as_fd(),
            Self::Polling(polling) => polling.as_fd(),
        }
    }
}

impl fmt::Debug for BackendSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.fmt(f),
            Self::Polling(polling) => polling.fmt(f),
        }
    }
}
