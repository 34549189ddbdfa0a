#!/usr/bin/env bash
# Installs AgentLog as a systemd service on Debian 12 / Ubuntu 22.04+, in one command:
#
#   sudo scripts/install.sh                         # build from this checkout, SQLite mode
#   sudo scripts/install.sh --binary ./agentlog     # install a binary you already have
#   sudo scripts/install.sh --database postgres://agentlog:PW@db:5432/agentlog --redis redis://:PW@cache:6379
#
# What it does: builds the release binary (scripts/install-deps.sh + make build) unless
# --binary is given; installs it as /usr/local/bin/agentlog; creates the `agentlog` system
# user, /var/lib/agentlog (data) and /etc/agentlog/{agentlog.toml,agentlog.env} (settings;
# secrets go in the .env file, readable by root and the service only); writes a hardened
# systemd unit, applies migrations, and enables and starts the service. Re-running it
# upgrades the binary and keeps existing settings and data.
#
# Options:
#   --binary PATH      install this binary instead of building one
#   --listen HOST:PORT where to serve (default 127.0.0.1:7654; put a TLS proxy in front)
#   --database URL     PostgreSQL instead of the embedded SQLite (scale-out mode)
#   --redis URL        Redis bus between replicas (with --database)
#   --root DIR         install into DIR instead of / (packaging, tests); implies --no-start
#   --no-start         write everything but do not touch systemd
set -euo pipefail

binary="" listen="127.0.0.1:7654" database="" redis="" root="" start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --database) database=$2; shift 2 ;;
    --redis) redis=$2; shift 2 ;;
    --root) root=$2; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$redis" ] && [ -z "$database" ]; then
  echo "install.sh: --redis needs --database (replicas share PostgreSQL)" >&2
  exit 2
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo scripts/install.sh ...)" >&2
  exit 2
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$binary" ]; then
  echo "building agentlog (scripts/install-deps.sh, make build)..." >&2
  make -C "$repo" build >&2
  binary="$repo/build/agentlog"
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 2; }
"$binary" version >/dev/null || { echo "install.sh: $binary does not run on this machine" >&2; exit 2; }

bindir="$root/usr/local/bin" etc="$root/etc/agentlog" data="$root/var/lib/agentlog"
unitdir="$root/etc/systemd/system"
mkdir -p "$bindir" "$etc" "$data" "$unitdir"
install -m 0755 "$binary" "$bindir/agentlog.new"
mv -f "$bindir/agentlog.new" "$bindir/agentlog"  # atomic: a running service keeps its old inode

if [ -z "$root" ] && ! getent passwd agentlog >/dev/null; then
  useradd --system --home-dir /var/lib/agentlog --shell /usr/sbin/nologin agentlog
fi

if [ ! -f "$etc/agentlog.toml" ]; then
  cat >"$etc/agentlog.toml" <<EOF
# AgentLog settings (docs/configuration.md). Secrets belong in agentlog.env.
listen = "$listen"
data_dir = "/var/lib/agentlog"
durability = "normal"
log_level = "info"
EOF
fi
if [ ! -f "$etc/agentlog.env" ]; then
  umask 077
  {
    echo "# Secrets and scale-out settings for the agentlog service (EnvironmentFile)."
    if [ -n "$database" ]; then echo "AGENTLOG_DATABASE_URL=$database"; else echo "#AGENTLOG_DATABASE_URL=postgres://agentlog:PASSWORD@HOST:5432/agentlog"; fi
    if [ -n "$redis" ]; then echo "AGENTLOG_REDIS_URL=$redis"; else echo "#AGENTLOG_REDIS_URL=redis://:PASSWORD@HOST:6379"; fi
    echo "#AGENTLOG_API_KEY=al_..."
  } >"$etc/agentlog.env"
  umask 022
fi

cat >"$unitdir/agentlog.service" <<'EOF'
[Unit]
Description=AgentLog: observability for AI agents
Documentation=https://github.com/agentlog/agentlog/blob/main/docs/deployment.md
After=network-online.target postgresql.service redis-server.service
Wants=network-online.target

[Service]
Type=simple
User=agentlog
Group=agentlog
WorkingDirectory=/var/lib/agentlog
Environment=AGENTLOG_CONFIG=/etc/agentlog/agentlog.toml
EnvironmentFile=-/etc/agentlog/agentlog.env
ExecStart=/usr/local/bin/agentlog serve
# SIGTERM drains the ingest queue and commits before the process exits.
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
# Hardening: the service writes its data directory and nothing else.
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
LockPersonality=true
ReadWritePaths=/var/lib/agentlog
StateDirectory=agentlog
StateDirectoryMode=0750

[Install]
WantedBy=multi-user.target
EOF

if [ -z "$root" ]; then
  chown -R agentlog:agentlog /var/lib/agentlog
  chown root:agentlog "$etc/agentlog.env" && chmod 0640 "$etc/agentlog.env"
  # Migrations now, as the service user, so a bad database URL shows up here.
  runuser -u agentlog -- env AGENTLOG_CONFIG=/etc/agentlog/agentlog.toml \
    bash -c 'set -a; . /etc/agentlog/agentlog.env; set +a; /usr/local/bin/agentlog migrate' >&2
fi

if [ "$start" = 1 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable agentlog.service >/dev/null
    systemctl restart agentlog.service
    echo "agentlog is running: systemctl status agentlog; journalctl -u agentlog -f" >&2
  else
    echo "systemd is not running here: start it with 'runuser -u agentlog -- /usr/local/bin/agentlog serve --config /etc/agentlog/agentlog.toml'" >&2
  fi
fi
cat >&2 <<EOF
installed $("$bindir/agentlog" version) to $bindir/agentlog
settings: $etc/agentlog.toml, secrets: $etc/agentlog.env, data: $data
create an API key:  sudo -u agentlog AGENTLOG_CONFIG=/etc/agentlog/agentlog.toml /usr/local/bin/agentlog keys create
EOF
