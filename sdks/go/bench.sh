#!/usr/bin/env bash
# Benchmarks of the Go SDK, printed as JSON on stdout (also written to
# build/go-bench/results.json; the raw `go test -bench` output is beside it):
#   - Span: recording one span (StartSpan + End), the hot path with its budget of
#     5 µs and 10 allocations (DESIGN.md §10); SpanWithFields, Log, SpanParallel;
#     COUNT runs each (default 5), medians reported.
#   - EndToEnd: EVENTS spans (default 100000) recorded into the real agentlog binary
#     and timed until Flush returns, i.e. until the server acknowledged every batch as
#     committed; reports events/s (median of E2E_COUNT runs, default 3).
# Benchmarks never fail the run on a missed budget; "budget.met" says.
#
# Needs what test.sh needs (Go >= 1.21 via toolchain.sh; the agentlog binary at
# build/agentlog or $AGENTLOG_BIN), except gcc and staticcheck.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
mkdir -p "$build/go-bench"
# shellcheck source=toolchain.sh
source "$here/toolchain.sh"
agentlog_find_go "$build"
cd "$here"

export AGENTLOG_BIN="${AGENTLOG_BIN:-$build/agentlog}"
export AGENTLOG_E2E=require
raw="$build/go-bench/raw.txt"
"$GO" test -run '^$' -bench '^Benchmark(Span|SpanWithFields|Log|SpanParallel)$' -benchmem \
  -count "${COUNT:-5}" -benchtime "${BENCHTIME:-1s}" . >"$raw"
"$GO" test -run '^$' -bench '^BenchmarkEndToEnd$' -benchmem \
  -count "${E2E_COUNT:-3}" -benchtime "${EVENTS:-100000}x" . >>"$raw"
"$GO" run ./internal/benchjson <"$raw" | tee "$build/go-bench/results.json"
