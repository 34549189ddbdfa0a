#!/usr/bin/env bash
# Builds the TypeScript SDK (sdks/typescript) and this driver against it. The driver imports
# '@agentlog/sdk' through node_modules/@agentlog/sdk, a link to the SDK folder, so it goes
# through the package's own exports map and type declarations, as a user's program would.
# Each build is skipped when its output is newer than every input (like make).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sdk="$(cd "$here/../../../../sdks/typescript" && pwd)"

# Prints the inputs newer than $1 (or a marker when $1 is missing).
stale() {
  local out="$1"; shift
  [ -e "$out" ] || { echo "missing $out"; return; }
  find "$@" -newer "$out" -print -quit
}

cd "$sdk"
if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ -n "$(stale dist/cjs/package.json src tsconfig.base.json tsconfig.esm.json tsconfig.cjs.json package.json scripts/build.mjs)" ]; then
  npm run --silent build
else
  echo "sdk build is up to date"
fi

cd "$here"
mkdir -p node_modules/@agentlog
ln -sfn "$sdk" node_modules/@agentlog/sdk
if [ -n "$(stale dist/driver.js driver.ts tsconfig.json "$sdk/dist/cjs/package.json")" ]; then
  rm -rf dist
  node "$sdk/node_modules/typescript/bin/tsc" -p tsconfig.json
else
  echo "driver build is up to date"
fi
