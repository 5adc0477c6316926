//! The process's resident memory, from `/proc/self/status`.

use std::io;

/// Resident memory now (`VmRSS`), in bytes.
pub(crate) fn resident() -> io::Result<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// The peak resident memory so far (`VmHWM`), in bytes.
pub(crate) fn peak_resident() -> io::Result<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

fn status_kib(field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {field} line in /proc/self/status")))
}
