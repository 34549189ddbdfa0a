#!/usr/bin/env bash
# Runs every libFuzzer target for the given number of seconds, starting from the seed
# corpus in server/fuzz/corpus/<target> (new inputs go to a scratch copy, not the repo).
set -euo pipefail
build_dir=${1:?build dir}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in "$build_dir"/server/fuzz_*; do
  name=$(basename "$bin"); name=${name#fuzz_}
  mkdir -p "$work/$name"
  cp -r "$root/server/fuzz/corpus/$name/." "$work/$name/" 2>/dev/null || true
  echo "fuzzing $name for ${seconds}s"
  "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work/$name" 2>&1 | tail -n 12
  if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
    echo "fuzzer $name found a failing input:" >&2
    mkdir -p "$root/build-fuzz/artifacts" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$root/build-fuzz/artifacts/" 2>/dev/null || true
    exit 1
  fi
done
