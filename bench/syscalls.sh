#!/usr/bin/env bash
# The echo server's syscalls per round trip, by name, for one TCP echo workload on each peer
# named.
#
#   bench/syscalls.sh [--strace] <tcp-echo | tcp-echo-512> <peer>...
#
# For each peer, runs `reactor-bench --only <workload> <peer> 1` (full size) under a syscall
# tracer SYSCALLS_RUNS times (default 3; the peers interleaved), prints a table of that
# server's syscalls by name for each run, and ends with one row per peer: its median run by
# total syscalls per round trip, and the range of totals. It counts the syscalls entered by
# every thread of the process except the load generator's and the bench's watchdog's, from the
# load generator's first send to its last echo (the window and its thread id are written by
# the load generator to the file named by REACTOR_BENCH_ECHO_WINDOW). Setup (runtime build,
# most accepts) and teardown (closes, joins) fall outside the window.
#
# Default tracer: `perf record -e raw_syscalls:sys_enter` (one kernel tracepoint per syscall;
# the traced thread does not stop, but each syscall costs about 1 us more). `--strace` uses
# `strace -f` instead (ptrace: every syscall stops the thread, so the server runs many times
# slower, parks more often and batches differently; a cross-check, and the tool issue 18
# names). See bench/README.md, "Syscalls per round trip".
#
# Environment: CARGO_TARGET_DIR is honoured; SYSCALLS_KEEP=1 keeps the trace directory;
# SYSCALLS_NO_BUILD=1 skips `cargo build --release -p reactor-bench`; SYSCALLS_RUNS sets the
# runs per peer.
set -euo pipefail

tracer=perf
if [[ "${1:-}" == "--strace" ]]; then
    tracer=strace
    shift
fi
if [[ $# -lt 2 ]]; then
    echo "usage: bench/syscalls.sh [--strace] <tcp-echo | tcp-echo-512> <peer>..." >&2
    exit 2
fi
workload=$1
shift
case "$workload" in
    tcp-echo | tcp-echo-512) ;;
    *) echo "syscalls.sh: only tcp-echo and tcp-echo-512 record a window, not $workload" >&2; exit 2 ;;
esac

if ! command -v "$tracer" >/dev/null; then
    echo "syscalls.sh: $tracer is not installed" >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z "${SYSCALLS_NO_BUILD:-}" ]]; then
    (cd "$root" && cargo build --release -q -p reactor-bench)
fi
bin=$target/release/reactor-bench
dir=$(mktemp -d "${TMPDIR:-/tmp}/reactor-syscalls.XXXXXX")
if [[ -z "${SYSCALLS_KEEP:-}" ]]; then
    trap 'rm -rf "$dir"' EXIT
else
    echo "syscalls.sh: keeping $dir" >&2
fi
export REACTOR_BENCH_ECHO_WINDOW=$dir/window

# Traces one run of the workload on peer $1 into $dir/events and sets $clock.
trace() {
    local peer=$1
    rm -f "$dir/window"
    # Each tracer's output becomes lines of
    # "<tid> <seconds.fraction> <syscall name, or NR n> [thread name]".
    case "$tracer" in
        perf)
            perf record -k CLOCK_MONOTONIC -e raw_syscalls:sys_enter -m 16M -o "$dir/perf.data" \
                -- "$bin" --only "$workload" "$peer" 1 >"$dir/run.out" 2>"$dir/run.err" \
                || { cat "$dir/run.out" "$dir/run.err" >&2; exit 1; }
            if grep -qi "lost" "$dir/run.err"; then
                grep -i "lost" "$dir/run.err" >&2
                echo "syscalls.sh: perf lost events; the counts would be low" >&2
                exit 1
            fi
            perf script -i "$dir/perf.data" --ns -F comm,tid,time,trace 2>/dev/null \
                | sed -E 's/^ *(.*[^ ]) +([0-9]+) +([0-9.]+): +NR +([0-9]+).*/\2 \3 NR \4 \1/' >"$dir/events"
            clock=monotonic
            ;;
        strace)
            strace -f -qq -ttt -e signal=none -o "$dir/strace" \
                "$bin" --only "$workload" "$peer" 1 >"$dir/run.out" 2>"$dir/run.err" \
                || { cat "$dir/run.out" "$dir/run.err" >&2; exit 1; }
            # A syscall another thread interrupts is logged twice, "<unfinished ...>" then
            # "<... name resumed>": count the first line only.
            grep -v -e ' <\.\.\. [a-z0-9_]* resumed>' -e '+++ exited' -e '--- SIG' "$dir/strace" \
                | sed -E -e 's/^([0-9]+) +([0-9.]+) +prctl\(PR_SET_NAME, "([^"]*)".*/\1 \2 prctl \3/' \
                    -e 's/^([0-9]+) +([0-9.]+) +([a-z0-9_]+)\(.*/\1 \2 \3/' >"$dir/events"
            clock=realtime
            ;;
    esac
    sed -n 's/^/syscalls.sh: /p' "$dir/run.out" >&2
}

# Prints the table of one traced run and appends its row to $dir/summary.
count() {
    python3 - "$dir/window" "$dir/events" "$clock" "$workload" "$1" "$tracer" "$dir/summary" <<'PYTHON'
import json, re, sys
from collections import Counter

window_path, events_path, clock, workload, peer, tracer, summary = sys.argv[1:]
window = dict(line.split() for line in open(window_path) if line.strip())
loadgen = window["loadgen_tid"]
start = int(window[clock + "_start_ns"])
end = int(window[clock + "_end_ns"])
trips = int(window["round_trips"])

names = {}
for header in ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"):
    try:
        for line in open(header):
            match = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
            if match:
                names[match.group(2)] = match.group(1)
        break
    except OSError:
        pass

def nanoseconds(stamp):
    seconds, _, fraction = stamp.partition(".")
    return int(seconds) * 10**9 + int((fraction + "000000000")[:9])

by_name, by_thread, thread_names = Counter(), Counter(), {}
outside = client = watchdog = 0
events = []
for line in open(events_path):
    fields = line.split()
    if len(fields) < 3 or not fields[0].isdigit():
        continue
    tid, stamp = fields[0], nanoseconds(fields[1])
    if fields[2] == "NR":
        name = names.get(fields[3], "NR " + fields[3])
        thread_names[tid] = " ".join(fields[4:])
    else:
        name = fields[2]
        if name == "prctl" and len(fields) > 3:
            thread_names[tid] = fields[3]
    events.append((tid, stamp, name))

for tid, stamp, name in events:
    if not start <= stamp <= end:
        outside += 1
    elif tid == loadgen:
        client += 1
    elif thread_names.get(tid) == "bench-watchdog":
        watchdog += 1
    else:
        by_name[name] += 1
        by_thread[tid] += 1

total = sum(by_name.values())
print(f"{workload} on {peer}: server syscalls per round trip ({tracer}; {trips} round trips "
      f"in {(end - start) / 1e9:.3f} s; left out: {client} load generator syscalls in the "
      f"window, {watchdog} of the bench's watchdog thread, {outside} outside the window)")
print(f"{'syscall':<24}{'calls':>10}{'per trip':>12}")
for name, calls in by_name.most_common():
    print(f"{name:<24}{calls:>10}{calls / trips:>12.4f}")
print(f"{'total':<24}{total:>10}{total / trips:>12.4f}")
print("per trip by thread: " + ", ".join(
    f"{thread_names.get(tid, 'thread')} {tid}: {calls / trips:.4f}" for tid, calls in by_thread.most_common()))
with open(summary, "a") as out:
    per_trip = {name: calls / trips for name, calls in by_name.items()}
    print(json.dumps({"peer": peer, "total": total / trips, "per_trip": per_trip}), file=out)
PYTHON
}

runs=${SYSCALLS_RUNS:-3}
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((run = 1; run <= runs; run++)); do
    for peer in "$@"; do
        trace "$peer"
        count "$peer"
        echo
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$dir/summary" "$workload" "$tracer" <<'PYTHON'
import json, sys

summary, workload, tracer = sys.argv[1:]
runs = {}
for line in open(summary):
    row = json.loads(line)
    runs.setdefault(row["peer"], []).append(row)
# Each peer's median run by total (a real run, not a mix of runs), and the range of totals.
rows = []
for peer, its_runs in runs.items():
    its_runs.sort(key=lambda row: row["total"])
    row = dict(its_runs[(len(its_runs) - 1) // 2])
    row["range"] = f"{its_runs[0]['total']:.3f}–{its_runs[-1]['total']:.3f}"
    rows.append(row)
# A column for every syscall some peer makes at least once per 1,000 round trips; the rest in
# "other".
columns = sorted({name for row in rows for name, per_trip in row["per_trip"].items() if per_trip >= 0.001},
                 key=lambda name: -max(row["per_trip"].get(name, 0) for row in rows))
print(f"{workload}: server syscalls per round trip ({tracer}), each peer's median run of "
      f"{len(next(iter(runs.values())))} by total")
print("| peer | total | total min–max | " + " | ".join(columns) + " | other |")
print("|---|---:|---:|" + "---:|" * (len(columns) + 1))
for row in rows:
    other = sum(v for name, v in row["per_trip"].items() if name not in columns)
    cells = [f"{row['per_trip'].get(name, 0):.3f}" for name in columns] + [f"{other:.3f}"]
    print(f"| {row['peer']} | {row['total']:.3f} | {row['range']} | " + " | ".join(cells) + " |")
PYTHON
