#!/usr/bin/env bash
# Runs the SDK conformance suite against the real server binary.
#   tests/conformance/run.sh [SDK ...] [runner options]   (default: every SDK with a driver)
# Needs: python3 (standard library only) and each SDK's toolchain (typescript: node + npm).
# The server binary is $AGENTLOG_BIN, default build/agentlog of this repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export AGENTLOG_BIN="${AGENTLOG_BIN:-$repo/build/agentlog}"
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
exec "$python" "$here/runner.py" "$@"
