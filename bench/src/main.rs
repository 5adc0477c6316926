//! `reactor-bench`: runs every workload on reactor, tokio, smol and (for TCP echo) a raw epoll
//! loop, interleaved, and reports medians, ranges and ratios to reactor.
//!
//! ```text
//! cargo run --release -p reactor-bench             # the full comparison
//! cargo run --release -p reactor-bench -- --smoke  # tiny sizes, one repetition, still checked
//! cargo run --release -p reactor-bench -- --only spawn-inside reactor-1t 20  # one pair, to profile
//! ```
//!
//! See `bench/README.md` for what each number measures.

mod httpload;
mod loadgen;
mod peers;
mod report;
mod runtime;
mod sizes;
mod stats;
mod sys;
mod watchdog;
mod workloads;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::peers::{Peer, WithRuntime};
use crate::report::Results;
use crate::runtime::Runtime;
use crate::sizes::Sizes;
use crate::watchdog::Watchdog;
use crate::workloads::{memory, Failure, Outcome, Workload};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--probe", peer, kind, count] => probe(peer, kind, count),
        ["--http-load", addr, connections, requests] => Watchdog::start()
            .watch("the HTTP load generator".to_string(), || httpload::child(addr, connections, requests)),
        [] => compare(Sizes::FULL, "report", &Workload::ALL),
        ["--smoke"] => compare(Sizes::SMOKE, "smoke-report", &Workload::ALL),
        ["--workload", workload, repetitions] => one_workload(workload, repetitions),
        ["--only", workload, peer, repetitions] => only(workload, peer, repetitions),
        _ => Err("usage: reactor-bench [--smoke | --workload <workload> <repetitions> \
                  | --only <workload> <peer> <repetitions>]"
            .to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("reactor-bench: FAILED: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `workloads` on every peer, `sizes.repetitions` times with the peers interleaved (in a
/// rotated order each repetition), then prints and writes the report as `name.md` and
/// `name.svg` under `target/bench/`.
fn compare(sizes: Sizes, name: &str, workloads: &[Workload]) -> Result<(), Failure> {
    let started = Instant::now();
    let mut results = Results::new(sizes.clone(), context());
    let watchdog = Watchdog::start();
    for &workload in workloads {
        eprintln!("reactor-bench: {}", workload.title(&sizes));
        for repetition in 0..sizes.repetitions {
            let mut order = Peer::ALL;
            order.rotate_left(repetition % Peer::ALL.len());
            for peer in order.into_iter().filter(|peer| peer.takes_part(workload)) {
                let run = format!("{} on {}", workload.title(&sizes), peer.name());
                let outcome = watchdog
                    .watch(run.clone(), || peer.run(workload, &sizes))
                    .map_err(|failure| format!("{run}: {failure}"))?;
                check_shape(workload, &outcome)?;
                results.record(workload, peer, outcome);
            }
        }
    }
    results.context.push_str(&format!(
        " Load average at the end {}; the run took {:.0} s.",
        load_average(),
        started.elapsed().as_secs_f64()
    ));
    println!("{}\n{}", results.context, report::text(&results));
    let directory = target_dir().join("bench");
    std::fs::create_dir_all(&directory).map_err(|error| format!("{}: {error}", directory.display()))?;
    for (extension, contents) in [("md", report::markdown(&results)), ("svg", report::svg(&results))] {
        let path = directory.join(format!("{name}.{extension}"));
        std::fs::write(&path, contents).map_err(|error| format!("{}: {error}", path.display()))?;
        eprintln!("reactor-bench: wrote {}", path.display());
    }
    eprintln!("reactor-bench: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The full comparison of one workload at full size, `repetitions` times, with its report
/// written as `report-<workload>.md` and `.svg`.
fn one_workload(workload: &str, repetitions: &str) -> Result<(), Failure> {
    let workload = workload_named(workload)?;
    let repetitions = repetitions.parse().map_err(|error| format!("repetitions {repetitions:?}: {error}"))?;
    let sizes = Sizes { repetitions, ..Sizes::FULL };
    compare(sizes, &format!("report-{}", workload.name()), &[workload])
}

/// The workload called `name`, or the list of names.
fn workload_named(name: &str) -> Result<Workload, Failure> {
    Workload::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Workload::ALL.iter().map(|workload| workload.name()).collect();
        format!("unknown workload {name:?}; one of {}", names.join(", "))
    })
}

/// Runs one workload on one peer at full size, `repetitions` times, and prints each outcome:
/// a run short enough to profile (`perf record`, `valgrind --tool=callgrind`).
fn only(workload: &str, peer: &str, repetitions: &str) -> Result<(), Failure> {
    let workload = workload_named(workload)?;
    let peer = Peer::from_name(peer).ok_or_else(|| format!("unknown peer {peer:?}"))?;
    let repetitions: usize =
        repetitions.parse().map_err(|error| format!("repetitions {repetitions:?}: {error}"))?;
    let sizes = Sizes::FULL;
    let watchdog = Watchdog::start();
    for _ in 0..repetitions {
        let run = format!("{} on {}", workload.title(&sizes), peer.name());
        let outcome = watchdog.watch(run.clone(), || peer.run(workload, &sizes))?;
        println!("{run}: {outcome:?}");
    }
    Ok(())
}

/// Fails unless a measured outcome has one value per metric of its workload.
fn check_shape(workload: Workload, outcome: &Outcome) -> Result<(), Failure> {
    match outcome {
        Outcome::Measured(values) if values.len() != workload.metrics().len() => Err(format!(
            "{workload:?} returned {} values for {} metrics",
            values.len(),
            workload.metrics().len()
        )),
        _ => Ok(()),
    }
}

/// The child side of a memory measurement (see [`memory`]).
fn probe(peer: &str, kind: &str, count: &str) -> Result<(), Failure> {
    let peer = Peer::from_name(peer).ok_or_else(|| format!("unknown peer {peer:?}"))?;
    let count = count.parse().map_err(|error| format!("probe count {count:?}: {error}"))?;
    let run = format!("the {kind} probe on {}", peer.name());
    Watchdog::start()
        .watch(run, || peer.with_runtime(Probe { kind, count }))?
        .ok_or_else(|| format!("{} has no runtime", peer.name()))?
}

/// A memory probe on whatever runtime it is given.
struct Probe<'a> {
    kind: &'a str,
    count: usize,
}

impl WithRuntime for Probe<'_> {
    type Output = Result<(), Failure>;

    fn call<R: Runtime>(self, runtime: &R) -> Self::Output {
        memory::probe(runtime, self.kind, self.count)
    }
}

/// `CARGO_TARGET_DIR` if set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).with_file_name("target"))
}

/// What was measured where: the commit, the cores and the load average at the start.
fn context() -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_string(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_string(),
        );
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    format!("Commit `{commit}`, {cores} cores, load average at the start {}.", load_average())
}

/// The 1, 5 and 15 minute load averages: how busy the machine was besides this run.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}
