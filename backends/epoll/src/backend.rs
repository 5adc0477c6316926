//! Which I/O backend a [`Runtime`](crate::Runtime) blocks in.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use reactor::io::IoHandle;
use reactor::EventSource;
use reactor_polling::{PollingSource, Triggering};
#[cfg(target_os = "linux")]
use reactor_uring::Unavailable;
#[cfg(target_os = "linux")]
use reactor_uring::Uring;

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
    /// Epoll on Linux and Android, the portable backend elsewhere. On Linux with
    /// `REACTOR_IO_URING=on` in the environment, io_uring first when the kernel allows it
    /// (probed when the runtime is built: the ring, its features and opcodes, a live multishot
    /// poll), else epoll with the reason kept in
    /// [`Runtime::backend_choice`](crate::Runtime::backend_choice); `REACTOR_IO_URING=off`
    /// records that io_uring was disabled. io_uring is not the default: a thread that registers
    /// fds gets the ring's completion work for them, which interrupts its blocking socket calls
    /// that have a timeout with `EINTR`; handing all submissions to the waiting thread instead
    /// would delay the release of a closed socket (a re-bind of its address could fail); and on
    /// several threads it costs more CPU per event than epoll. See `reactor-uring`'s "Known
    /// limits".
    #[default]
    Automatic,
    /// [`Uring`](reactor_uring::Uring): readiness from multishot polls in an io_uring, one
    /// `io_uring_enter` per wait (Linux 5.13 or later). Building the runtime fails with
    /// `Unsupported` and the reason ([`Unavailable`], inside the error) where io_uring cannot be
    /// used (disabled by a container's seccomp profile, the `kernel.io_uring_disabled` sysctl,
    /// `REACTOR_IO_URING=off`, an old kernel) and off Linux.
    IoUring,
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
    #[cfg(target_os = "linux")]
    Uring(Uring),
    Polling(PollingSource),
}

/// Which backend a [`Runtime`](crate::Runtime) runs on, and why not io_uring when
/// [`Backend::Automatic`] fell back from it ([`Runtime::backend_choice`](crate::Runtime::backend_choice)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendChoice {
    requested: Backend,
    backend: Backend,
    #[cfg(target_os = "linux")]
    fallback: Option<Unavailable>,
}

impl BackendChoice {
    /// The backend the builder asked for ([`Backend::Automatic`] by default).
    pub fn requested(&self) -> Backend {
        self.requested
    }

    /// The backend the runtime runs on: never [`Backend::Automatic`].
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Why [`Backend::Automatic`] did not choose io_uring, when it probed it and had to fall back
    /// (with `REACTOR_IO_URING=on`), or was told not to (`REACTOR_IO_URING=off`). `None` when
    /// io_uring runs, when another backend was asked for, and when `Automatic` chose epoll
    /// without probing io_uring, which is its default (see [`Backend::Automatic`] for why).
    #[cfg(target_os = "linux")]
    pub fn fallback(&self) -> Option<&Unavailable> {
        self.fallback.as_ref()
    }
}

impl Backend {
    /// Creates the backend's source; says which it is, and why not io_uring if `Automatic`
    /// fell back from it.
    pub(crate) fn create(self) -> io::Result<(BackendSource, BackendChoice)> {
        let mut choice = BackendChoice {
            requested: self,
            backend: self,
            #[cfg(target_os = "linux")]
            fallback: None,
        };
        let source = match self {
            #[cfg(target_os = "linux")]
            Self::Automatic if !reactor_uring::requested_by_env() => {
                choice.backend = Self::Epoll;
                if reactor_uring::disabled_by_env() {
                    choice.fallback = Some(Unavailable::Disabled);
                }
                BackendSource::Epoll(Epoll::new()?)
            }
            #[cfg(target_os = "linux")]
            Self::Automatic | Self::IoUring => match Uring::new() {
                Ok(uring) => {
                    choice.backend = Self::IoUring;
                    BackendSource::Uring(uring)
                }
                Err(error) if self == Self::IoUring => return Err(error),
                Err(error) => {
                    choice.backend = Self::Epoll;
                    choice.fallback = Some(Unavailable::of(&error));
                    BackendSource::Epoll(Epoll::new()?)
                }
            },
            #[cfg(not(target_os = "linux"))]
            Self::IoUring => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the io_uring backend exists only on Linux; use Backend::Automatic",
                ))
            }
            #[cfg(target_os = "android")]
            Self::Automatic => {
                choice.backend = Self::Epoll;
                BackendSource::Epoll(Epoll::new()?)
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Self::Automatic => {
                choice.backend = Self::Polling;
                BackendSource::Polling(PollingSource::new()?)
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll => BackendSource::Epoll(Epoll::new()?),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Self::Epoll => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the epoll backend exists only on Linux and Android; use Backend::Polling (or \
                     Backend::Automatic)",
                ))
            }
            Self::Polling => BackendSource::Polling(PollingSource::new()?),
            Self::PollingOneshot => {
                BackendSource::Polling(PollingSource::with_triggering(Triggering::Oneshot)?)
            }
        };
        Ok((source, choice))
    }
}

impl BackendSource {
    /// The I/O handle I/O objects register with.
    pub(crate) fn io_handle(&self) -> &IoHandle {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.io_handle(),
            #[cfg(target_os = "linux")]
            Self::Uring(uring) => uring.io_handle(),
            Self::Polling(polling) => polling.io_handle(),
        }
    }

    /// The source, to compose.
    pub(crate) fn boxed(&self) -> Box<dyn EventSource> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => Box::new(epoll.clone()),
            #[cfg(target_os = "linux")]
            Self::Uring(uring) => Box::new(uring.clone()),
            Self::Polling(polling) => Box::new(polling.clone()),
        }
    }
}

impl AsFd for BackendSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.as_fd(),
            #[cfg(target_os = "linux")]
            Self::Uring(uring) => uring.as_fd(),
            Self::Polling(polling) => polling.as_fd(),
        }
    }
}

impl fmt::Debug for BackendSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Epoll(epoll) => epoll.fmt(f),
            #[cfg(target_os = "linux")]
            Self::Uring(uring) => uring.fmt(f),
            Self::Polling(polling) => polling.fmt(f),
        }
    }
}
