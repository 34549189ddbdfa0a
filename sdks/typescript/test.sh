#!/usr/bin/env bash
# Full check of @agentlog/sdk: pinned dev dependencies (npm ci), strict type-check, ESM + CJS
# build, vitest unit tests, and the `npm pack` install check (which also runs the README quick
# start against build/agentlog when that binary exists).
# Needs Node.js >= 18 and npm (Debian 12: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "test.sh: '$tool' not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done
node -e 'if (+process.versions.node.split(".")[0] < 18) { console.error(`test.sh: Node.js >= 18 needed, found ${process.version}`); process.exit(1); }'

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== typecheck"
npm run --silent typecheck
echo "== build"
npm run --silent build
echo "== unit tests"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || true
[ "$status" -eq 0 ] || exit "$status"
echo "== npm pack install check"
node scripts/pack-check.mjs
