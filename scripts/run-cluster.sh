#!/usr/bin/env bash
# `make run-cluster`: AgentLog in scale-out mode on this machine — PostgreSQL and Redis
# (throwaway, on loopback, via scripts/services.sh), the demo data, and two replicas:
# http://127.0.0.1:7654 and http://127.0.0.1:7655. Ctrl-C stops everything.
#   usage: scripts/run-cluster.sh [BIN]   (default build/agentlog)
#   env:   PORTS="7654 7655"  (one replica per port)
set -euo pipefail

bin=${1:-build/agentlog}
ports=${PORTS:-"7654 7655"}
[ -x "$bin" ] || { echo "run-cluster: no agentlog binary at $bin (run make build)" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)

state=$(mktemp -d /tmp/agentlog-cluster-XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$here/services.sh" stop "$state"
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

bash "$here/services.sh" start --durable "$state" >/dev/null
# shellcheck disable=SC1091
source "$state/env"
psql "$AGENTLOG_TEST_DATABASE_URL" -qc "CREATE DATABASE agentlog"
db=${AGENTLOG_TEST_DATABASE_URL%/postgres}/agentlog
redis=$AGENTLOG_TEST_REDIS_URL

"$bin" migrate --database "$db"
"$bin" seed --demo --database "$db"
key=$("$bin" keys create --database "$db" --name run-cluster | tail -n 1)

for port in $ports; do
  AGENTLOG_LOG=${AGENTLOG_LOG:-warn} "$bin" serve --database "$db" --redis "$redis" --listen "127.0.0.1:$port" &
  pids+=($!)
done
for port in $ports; do
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done

echo
echo "AgentLog cluster: $(echo "$ports" | wc -w) replicas on PostgreSQL + Redis"
for port in $ports; do echo "  replica: http://127.0.0.1:$port"; done
echo "  database: $db"
echo "  redis:    $redis"
echo "Dashboard log-in: demo@agentlog.local / agentlog-demo (either replica; live events from both)"
echo "API key for project 'default' (shown once): $key"
first=${ports%% *}
echo "Try: curl -H 'Authorization: Bearer $key' 'http://127.0.0.1:$first/v1/sessions?limit=5'"
echo "Ctrl-C stops the replicas, PostgreSQL and Redis (their data is thrown away)."
wait -n "${pids[@]}" || true
