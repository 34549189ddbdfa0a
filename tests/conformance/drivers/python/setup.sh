#!/usr/bin/env bash
# Installs the Python SDK (sdks/python) into .venv/ here, the way a user would
# (`pip install <repo>/sdks/python`), so the driver imports the installed package, not the
# source tree. Needs /usr/bin/python3 (>= 3.9) with venv (Debian: python3-venv) and PyPI
# access for the build backend (hatchling) on the first install.
# The install is skipped when it is newer than every file of the SDK package (like make).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sdk="$(cd "$here/../../../../sdks/python" && pwd)"
venv="$here/.venv"
stamp="$venv/.agentlog-installed"
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"

if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

if [ -e "$stamp" ] && [ -z "$(find "$sdk/src" "$sdk/pyproject.toml" "$sdk/README.md" -newer "$stamp" -print -quit)" ]; then
  echo "agentlog is up to date in $venv"
  exit 0
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --force-reinstall --no-deps "$sdk"
"$venv/bin/python" -c 'import agentlog; print("installed agentlog", agentlog.__version__, "from", agentlog.__file__)'
touch "$stamp"
