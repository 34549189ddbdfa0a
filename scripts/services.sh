#!/usr/bin/env bash
# PostgreSQL and Redis for tests, benchmarks and `make run-cluster`: throwaway instances on
# loopback, on free ports, with their data in a temporary directory. Installs them (apt)
# when missing. PostgreSQL refuses to run as root, so as root it runs as the `postgres`
# system user (created by the package).
#
#   scripts/services.sh run [--durable] -- CMD ARGS...   start both, run CMD with
#       AGENTLOG_TEST_DATABASE_URL and AGENTLOG_TEST_REDIS_URL set, stop both, exit with CMD's status
#   scripts/services.sh start [--durable] DIR            start both with state in DIR (kept);
#       prints the two URLs and writes DIR/env (shell exports)
#   scripts/services.sh stop DIR                         stop what `start DIR` started
#
# --durable keeps fsync on (benchmarks measure real durable commits). Without it the test
# server skips fsync: the tests kill agentlog, never PostgreSQL, so nothing they check
# depends on it, and every test gets its own database quickly.
set -euo pipefail

die() { echo "services.sh: $*" >&2; exit 2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

install_missing() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql-15)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "services.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian's package starts a cluster of its own on 5432; ours do not need it.
  if command -v pg_ctlcluster >/dev/null; then $sudo pg_ctlcluster --force 15 main stop 2>/dev/null || true; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs a PostgreSQL binary as the user that owns the data directory.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir=$1 durable=$2
  install_missing
  local bin; bin=$(pg_bin) || die "PostgreSQL binaries not found after install"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local pg_port redis_port
  pg_port=$(free_port)
  redis_port=$(free_port)
  [ "$(id -u)" -eq 0 ] && { getent passwd postgres >/dev/null || die "no postgres user to run PostgreSQL as"; }
  mkdir -p "$dir/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir" "$dir/pg"
  chmod 755 "$dir"
  as_pg "$bin/initdb" -D "$dir/pg/data" -U agentlog -A trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 ||
    { cat "$dir/pg/initdb.log" >&2; die "initdb failed"; }
  local opts="-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c max_connections=300 -c shared_buffers=256MB"
  opts+=" -c max_wal_size=4GB -c checkpoint_timeout=30min -c log_min_messages=warning"
  if [ "$durable" = 0 ]; then opts+=" -c fsync=off -c full_page_writes=off"; fi
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -o "$opts" -l "$dir/pg/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/pg/server.log" >&2; die "PostgreSQL did not start"; }

  mkdir -p "$dir/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize yes \
    --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" >/dev/null
  local i
  for i in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG || die "Redis did not start"

  cat >"$dir/env" <<EOF
export AGENTLOG_TEST_DATABASE_URL=postgres://agentlog@127.0.0.1:$pg_port/postgres
export AGENTLOG_TEST_REDIS_URL=redis://127.0.0.1:$redis_port
EOF
  echo "$bin" >"$dir/pg/bin"
  cat "$dir/env"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/pg/bin" ] && [ -d "$dir/pg/data" ]; then
    as_pg "$(cat "$dir/pg/bin")/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/redis/redis.pid" ]; then
    local pid; pid=$(cat "$dir/redis/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
}

cmd=${1:-}
shift || true
durable=0
if [ "${1:-}" = "--durable" ]; then durable=1; shift; fi
case "$cmd" in
  start)
    [ $# -eq 1 ] || die "usage: services.sh start [--durable] DIR"
    start "$1" "$durable"
    ;;
  stop)
    [ $# -eq 1 ] || die "usage: services.sh stop DIR"
    stop "$1"
    ;;
  run)
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || die "usage: services.sh run [--durable] -- CMD ARGS..."
    dir=$(mktemp -d /tmp/agentlog-services-XXXXXX)
    trap 'stop "$dir"; rm -rf "$dir"' EXIT
    start "$dir" "$durable" >/dev/null
    # shellcheck disable=SC1091
    source "$dir/env"
    set +e
    "$@"
    status=$?
    set -e
    exit $status
    ;;
  *)
    die "usage: services.sh run|start|stop ..."
    ;;
esac
