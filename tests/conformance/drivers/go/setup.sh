#!/usr/bin/env bash
# Builds the Go driver. Its source lives in the SDK's module (sdks/go/internal/
# conformancedriver) so it always compiles against the SDK's current API.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
source "$repo/sdks/go/toolchain.sh"
agentlog_find_go "$repo/build"
"$GO" build -C "$repo/sdks/go" -o "$here/driver" ./internal/conformancedriver
