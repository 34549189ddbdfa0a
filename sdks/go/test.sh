#!/usr/bin/env bash
# Checks the Go SDK: gofmt, go vet, staticcheck, go test -race (unit tests, runnable examples,
# end-to-end tests against the real agentlog binary), and a short fuzzing run of the
# encoder. Exits non-zero on the first failure.
#
# Needs: Go >= 1.21 (or Debian's golang-go, from which toolchain.sh bootstraps Go 1.21
# through the Go module proxy), gcc (the race detector needs cgo), the agentlog binary
# (build/agentlog, or $AGENTLOG_BIN), and the Go module proxy for staticcheck on the
# first run (installed into build/go-bin/, never globally).
#
# Environment: GO (go command to use), AGENTLOG_BIN, FUZZ_TIME (default 10s),
# STATICCHECK_VERSION (default: the release matching the Go version), SKIP_E2E=1 (run
# without the binary: the end-to-end tests are then skipped, not failed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
mkdir -p "$build"
# shellcheck source=toolchain.sh
source "$here/toolchain.sh"
agentlog_find_go "$build"
cd "$here"

step() { printf '\n== %s\n' "$*" >&2; }
elapsed() { echo "$(($(date +%s) - $1))s"; }
t0=$(date +%s)

step "gofmt"
unformatted="$("$("$GO" env GOROOT)/bin/gofmt" -l .)"
if [ -n "$unformatted" ]; then
  echo "not gofmt-ed (run gofmt -w):" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go vet"
"$GO" vet ./...

step "staticcheck"
minor="$(agentlog_go_minor "$GO")"
if [ -z "${STATICCHECK_VERSION:-}" ]; then
  # Each staticcheck release supports the Go versions of its time and needs one of them
  # to build: 2023.1.7 (v0.4.7) for Go 1.21, 2024.1.1 (v0.5.1) for 1.22, 2025.1.1
  # (v0.6.1) for 1.23-1.24, v0.7.0 for 1.25, v0.8.2 for 1.26 and later.
  case "$minor" in
    21) STATICCHECK_VERSION=v0.4.7 ;;
    22) STATICCHECK_VERSION=v0.5.1 ;;
    23 | 24) STATICCHECK_VERSION=v0.6.1 ;;
    25) STATICCHECK_VERSION=v0.7.0 ;;
    *) STATICCHECK_VERSION=v0.8.2 ;;
  esac
fi
gobin="$build/go-bin/staticcheck-$STATICCHECK_VERSION-go1.$minor"
if [ ! -x "$gobin/staticcheck" ]; then
  GOBIN="$gobin" "$GO" install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
# staticcheck runs the same go command to load packages.
PATH="$(dirname "$(command -v "$GO")"):$PATH" "$gobin/staticcheck" ./...

step "go test -race"
export AGENTLOG_BIN="${AGENTLOG_BIN:-$build/agentlog}"
if [ "${SKIP_E2E:-}" != 1 ]; then
  export AGENTLOG_E2E=require
fi
log="$build/go-test/test.log"
mkdir -p "$(dirname "$log")"
t1=$(date +%s)
set +e
"$GO" test -race -count=1 -p 1 -v ./... >"$log" 2>&1
status=$?
set -e
grep -E '^(--- FAIL|FAIL|ok |panic:|\s+--- FAIL)' "$log" >&2 || true
if [ $status -ne 0 ]; then
  echo "go test failed (full log: $log); failures:" >&2
  grep -B2 -A20 -E '^\s*--- FAIL' "$log" | head -200 >&2 || tail -50 "$log" >&2
  exit $status
fi
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
echo "go test -race: $passed passed (subtests included), $skipped skipped in $(elapsed "$t1") (log: $log)" >&2

step "fuzz FuzzEncodeEvent for ${FUZZ_TIME:-10s}"
"$GO" test -run '^$' -fuzz '^FuzzEncodeEvent$' -fuzztime "${FUZZ_TIME:-10s}" -parallel 2 .

echo "vet, staticcheck, race tests and fuzzing passed in $(elapsed "$t0")" >&2
echo "go-sdk: $passed passed, 0 failed, $skipped skipped"
