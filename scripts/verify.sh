#!/usr/bin/env bash
# Memory-safety checks that need more than the stable toolchain, kept out of `.ci/run` for time:
#
# 1. Miri over the unit tests of the core, timer and channel crates, and over those of their
#    integration tests that use neither epoll nor signals: the core's sources and fault tests,
#    the channel's mpsc, oneshot and callback-source tests, the timer's callback, sleep, interval
#    and timeout tests (nightly with the `miri` component). Two timer tests that need the real
#    clock are `#[cfg_attr(miri, ignore)]`d (`tests/sleep.rs`). Strict provenance: every pointer keeps its provenance (no int-to-pointer casts).
#    Symbolic alignment: alignment is checked on the pointer, not on the address Miri happened
#    to pick, so a misaligned access cannot pass by luck.
# 2. valgrind (memcheck) over the echo stress test on every built-in backend: a thousand
#    concurrent TCP connections through the real epoll source, then through the polling backend
#    edge-triggered and one-shot, the executor and its workers. Invalid reads and writes, uses of
#    uninitialised memory and definite leaks fail the run.
#
# A tool that is not installed is reported as SKIPPED (with the command that installs it) and
# does not fail the script; set VERIFY_STRICT=1 to make a skip fail it. Any finding fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }
summary=()
skipped=0

step "Miri: reactor, reactor-timer, reactor-channel"
if cargo +nightly miri --version >/dev/null 2>&1; then
    start=$SECONDS
    MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check" \
        cargo +nightly miri test -p reactor -p reactor-timer -p reactor-channel --lib \
        --test sources --test faults --test mpsc --test oneshot --test source \
        --test callback --test sleep --test interval --test timeout
    summary+=("miri: passed in $((SECONDS - start)) s")
else
    echo "SKIPPED: Miri is not installed for the nightly toolchain."
    echo "         Install it with: rustup component add --toolchain nightly miri rust-src"
    summary+=("miri: SKIPPED (not installed)")
    skipped=1
fi

step "valgrind: reactor-net echo stress test on every backend"
if command -v valgrind >/dev/null; then
    start=$SECONDS
    binary=$(cargo test -p reactor-net --test tcp --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    # The test is a module with one test per backend (::epoll, ::polling, ::polling_oneshot).
    valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$binary" a_thousand_concurrent_echo_connections_round_trip_their_bytes:: \
        --test-threads=1
    summary+=("valgrind: passed in $((SECONDS - start)) s")
else
    echo "SKIPPED: valgrind is not installed (e.g. apt-get install valgrind)."
    summary+=("valgrind: SKIPPED (not installed)")
    skipped=1
fi

step "summary"
printf '%s\n' "${summary[@]}"
if [[ $skipped == 1 && ${VERIFY_STRICT:-0} == 1 ]]; then
    echo "VERIFY_STRICT=1 and a check was skipped"
    exit 1
fi
