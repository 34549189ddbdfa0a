#!/usr/bin/env bash
# Installs the Debian 12 packages the build, tests and benchmarks need, and only those
# that are missing, so `make` stays fast on a machine that already has them.
# The list is the single source of truth; versions are those of Debian 12 (bookworm).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang-14 libclang-rt-14-dev clang-format clang-tidy
  # libraries (DESIGN.md / DEVELOPERS.md dependency list)
  libboost1.81-dev libsimdjson-dev libsqlite3-dev libssl-dev zlib1g-dev libzstd-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  libargon2-dev libjemalloc-dev
  # scale-out mode: PostgreSQL client library and hiredis; the servers for its tests
  libpq-dev libhiredis-dev postgresql-15 redis-server
  # OTLP: the reference protobuf implementation the OTLP tests, fuzzer and benchmark compare against
  libprotobuf-dev protobuf-compiler
  # OTLP/gRPC (serve --otlp-grpc-listen): grpc++ 1.51; no codegen, the server keeps its own decoder
  libgrpc++-dev
  # tests and benchmarks
  python3 python3-yaml python3-pytest python3-venv wrk curl procps
  # the dashboard's browser tests (headless)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The SDKs need Node.js >= 18 and npm: Debian's packages unless a node is already
# installed some other way (a NodeSource nodejs bundles npm and conflicts with Debian's).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
