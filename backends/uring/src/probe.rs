//! Whether io_uring can carry the backend here, and why not: [`Unavailable`].
//!
//! The checks, in order: the `REACTOR_IO_URING` environment variable (`off` disables the backend,
//! for an operator or a test forcing the fallback); ring setup (`io_uring_setup` is missing from
//! kernels built without it, refused by `kernel.io_uring_disabled` and by the default seccomp
//! profiles of container runtimes); the kernel features the backend uses (`IORING_FEAT_EXT_ARG`
//! for the wait's timeout, `IORING_FEAT_NODROP` so completions are not dropped on overflow); the
//! opcodes, through the probe API (`IORING_OP_POLL_ADD`, `IORING_OP_POLL_REMOVE`); and a live
//! multishot poll (Linux 5.13), which the probe API cannot tell from a one-shot one: the
//! source's own notification poll is armed multishot, triggered once, and must come back with
//! `IORING_CQE_F_MORE`.
use std::error::Error;
use std::fmt;
use std::io;

use io_uring::{opcode, IoUring, Probe};

/// The environment variable that switches the io_uring backend: `off` (or `0`, `false`, `no`)
/// disables it ([`Uring::new`](crate::Uring::new) then fails with [`Unavailable::Disabled`]),
/// `on` (or `1`, `true`, `yes`) makes `reactor-epoll`'s `Backend::Automatic` probe it first and
/// fall back to epoll with the reason.
pub const DISABLE_VAR: &str = "REACTOR_IO_URING";

/// Why the io_uring backend is not available on this system.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// Disabled by the environment: [`DISABLE_VAR`] is `off`.
    Disabled,
    /// `io_uring_setup` failed.
    Setup {
        /// Its errno: `ENOSYS` (a kernel without io_uring), `EPERM` (`kernel.io_uring_disabled`,
        /// or a seccomp filter such as a container runtime's default), `ENOMEM` (the locked
        /// memory limit, before Linux 5.12).
        errno: Option<i32>,
        /// What that means here.
        message: String,
    },
    /// The kernel lacks a feature the backend uses (named with the kernel version that has it).
    MissingFeature(&'static str),
    /// The kernel lacks an opcode the backend uses (named with the kernel version that has it).
    MissingOpcode(&'static str),
    /// The live check of a multishot poll failed.
    Multishot(String),
    /// Creating the source failed for another reason (say, no fd left for its eventfd).
    Other(String),
}

impl Unavailable {
    /// Why [`Uring::new`](crate::Uring::new) failed with `error`: the reason it carries, or
    /// [`Other`](Self::Other) with the error's message for an error of another kind.
    pub fn of(error: &io::Error) -> Self {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Self>())
            .cloned()
            .unwrap_or_else(|| Self::Other(format!("creating the io_uring source failed: {error}")))
    }

    /// The reason of a failed `io_uring_setup`.
    pub(crate) fn setup(error: &io::Error) -> Self {
        let message = match error.raw_os_error() {
            Some(libc::ENOSYS) => "this kernel has no io_uring (built without CONFIG_IO_URING)".to_owned(),
            Some(libc::EPERM) => {
                "io_uring_setup is not permitted: the kernel.io_uring_disabled sysctl, or a \
                 seccomp filter (container runtimes block io_uring by default)"
                    .to_owned()
            }
            Some(libc::ENOMEM) => {
                "no memory for the rings (before Linux 5.12, RLIMIT_MEMLOCK bounds them)".to_owned()
            }
            _ => format!("io_uring_setup failed: {error}"),
        };
        Self::Setup { errno: error.raw_os_error(), message }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => write!(f, "io_uring is disabled by {DISABLE_VAR}=off"),
            Self::Setup { message, .. } => f.write_str(message),
            Self::MissingFeature(feature) => write!(f, "the kernel lacks {feature}"),
            Self::MissingOpcode(opcode) => write!(f, "the kernel lacks {opcode}"),
            Self::Multishot(message) => write!(f, "no multishot poll: {message}"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl Error for Unavailable {}

/// `Unsupported`, with the reason as message and source.
impl From<Unavailable> for io::Error {
    fn from(reason: Unavailable) -> Self {
        io::Error::new(io::ErrorKind::Unsupported, reason)
    }
}

/// Whether [`DISABLE_VAR`] asks for the backend (`on`, `1`, `true`, `yes`): `reactor-epoll`'s
/// `Backend::Automatic` then probes io_uring first.
pub fn requested_by_env() -> bool {
    std::env::var(DISABLE_VAR)
        .map(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "on" | "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// Whether [`DISABLE_VAR`] disables the backend.
pub fn disabled_by_env() -> bool {
    std::env::var(DISABLE_VAR)
        .map(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "no"))
        .unwrap_or(false)
}

/// Checks the ring's features and opcodes (the live multishot check is the source's, on its
/// notification poll).
pub(crate) fn check(uring: &IoUring) -> Result<(), Unavailable> {
    let params = uring.params();
    if !params.is_feature_ext_arg() {
        return Err(Unavailable::MissingFeature("IORING_FEAT_EXT_ARG (Linux 5.11), for the wait's timeout"));
    }
    if !params.is_feature_nodrop() {
        return Err(Unavailable::MissingFeature("IORING_FEAT_NODROP (Linux 5.5)"));
    }
    let mut probe = Probe::new();
    if let Err(error) = uring.submitter().register_probe(&mut probe) {
        return Err(Unavailable::MissingFeature(if error.raw_os_error() == Some(libc::EINVAL) {
            "IORING_REGISTER_PROBE (Linux 5.6)"
        } else {
            "a working IORING_REGISTER_PROBE"
        }));
    }
    for (code, name) in [
        (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD (Linux 5.1)"),
        (opcode::PollRemove::CODE, "IORING_OP_POLL_REMOVE (Linux 5.1)"),
    ] {
        if !probe.is_supported(code) {
            return Err(Unavailable::MissingOpcode(name));
        }
    }
    Ok(())
}
