#!/usr/bin/env bash
# Python SDK checks: a virtualenv (made with /usr/bin/python3) holding pinned dev tools and
# the SDK installed as a user would install it, then mypy --strict, ruff and pytest
# (unit tests, and end-to-end tests against the real server binary).
#
#   sdks/python/test.sh                  # binary: build/agentlog, or $AGENTLOG_BIN
#   PYTEST_ARGS="-k transport" sdks/python/test.sh
#
# Debian 12 needs the python3-venv package (PEP 668 forbids installing into the system
# Python); it is installed here when missing and we are root, as scripts/install-deps.sh does.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
VENV="${AGENTLOG_PY_VENV:-$here/.venv}"
export AGENTLOG_BIN="${AGENTLOG_BIN:-$repo/build/agentlog}"

# Pinned: the same tools on every machine. hatchling is the build backend (pyproject.toml).
DEV_TOOLS=(pytest==9.2.0 mypy==1.20.2 ruff==0.17.6 hatchling==1.27.0)

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
  { echo "test.sh: $PYTHON is older than Python 3.9" >&2; exit 2; }

if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing python3-venv" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
  else
    echo "test.sh: $PYTHON cannot create virtualenvs; install python3-venv (apt-get install python3-venv)" >&2
    exit 2
  fi
fi

stamp="$VENV/.agentlog-dev-tools"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${DEV_TOOLS[*]}" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${DEV_TOOLS[@]}"
  echo "${DEV_TOOLS[*]}" > "$stamp"
fi

# The SDK as a wheel built by the pinned backend, not the source tree on sys.path:
# the tests exercise what `pip install ./sdks/python` installs.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
  --no-deps --force-reinstall "$here"

cd "$here"
echo "== mypy --strict (SDK, Python 3.9 target)"
"$VENV/bin/mypy"
echo "== mypy --strict (tests, bench)"
"$VENV/bin/mypy" --strict --python-version "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --no-warn-unused-configs tests bench.py
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== pytest (agentlog binary: $AGENTLOG_BIN)"
# shellcheck disable=SC2086
"$VENV/bin/python" -m pytest -q ${PYTEST_ARGS:-} tests
