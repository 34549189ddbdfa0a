#!/usr/bin/env bash
# Full check of the dashboard: pinned dependencies (npm ci), strict type-check, vitest unit
# and component tests, the production build, and the end-to-end suite — the real agentlog
# binary ($AGENTLOG_BIN, else build/agentlog) driven through Debian's Chromium with
# playwright-core. The binary must have been built with this web/dist embedded (make build).
# Needs Node.js >= 18 and npm, and /usr/bin/chromium (Debian: apt-get install chromium).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "web/test.sh: '$tool' not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done
node -e 'const [a, b] = process.versions.node.split(".").map(Number); if (a < 18 || (a === 18 && b < 19)) { console.error(`web/test.sh: Node.js >= 18.19 needed, found ${process.version}`); process.exit(1); }'
export AGENTLOG_BIN="${AGENTLOG_BIN:-$(cd .. && pwd)/build/agentlog}"
[ -x "$AGENTLOG_BIN" ] || { echo "web/test.sh: no agentlog binary at $AGENTLOG_BIN (run make build or set AGENTLOG_BIN)" >&2; exit 1; }
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "web/test.sh: $chromium not found (Debian: apt-get install chromium)" >&2; exit 1; }

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
# Runs vitest with a JSON report and prints the counts as one "N passed, N failed" line.
run_vitest() {
  local label="$1"
  shift
  local status=0
  node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$report" "$label" || true
  return "$status"
}

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== typecheck"
node node_modules/typescript/bin/tsc --noEmit
echo "== unit and component tests"
run_vitest vitest
echo "== build"
npm run --silent build
echo "== end-to-end ($AGENTLOG_BIN, $chromium)"
run_vitest e2e --config e2e/vitest.config.ts
