"""Scale-out fixtures: real `agentlog serve` replicas on one PostgreSQL and one Redis.

PostgreSQL and Redis come from AGENTLOG_TEST_DATABASE_URL / AGENTLOG_TEST_REDIS_URL (set by
`make scaleout`, which runs scripts/services.sh); without them this conftest starts its own
with scripts/services.sh. AGENTLOG_SKIP_POSTGRES=1 skips these tests, visibly; nothing
else does. Every test gets a database of its own. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]



def _e2e_module(name: str, alias: str):
    spec = importlib.util.spec_from_file_location(alias, REPO / "tests" / "e2e" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


e2e = _e2e_module("conftest", "agentlog_e2e_conftest")
Stream = _e2e_module("sse", "agentlog_e2e_sse").Stream  # an SSE client

Server = e2e.Server
gen_key = e2e.gen_key
uid = e2e.uid
clean_env = e2e.clean_env
qs = e2e.qs
q = e2e.q
expect = e2e.expect
rfc = e2e.rfc
now_us = e2e.now_us


def pytest_collection_modifyitems(config, items):
    if os.environ.get("AGENTLOG_SKIP_POSTGRES") == "1":
        marker = pytest.mark.skip(reason="AGENTLOG_SKIP_POSTGRES=1: scale-out tests skipped on request")
        for item in items:
            if {"services", "database", "cluster"} & set(item.fixturenames):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def agentlog_bin() -> str:
    path = os.environ.get("AGENTLOG_BIN") or str(REPO / "build" / "agentlog")
    assert os.path.isfile(path) and os.access(path, os.X_OK), f"no agentlog binary at {path} (set AGENTLOG_BIN)"
    return path


@pytest.fixture(scope="session")
def services():
    """(database admin URL, redis URL)."""
    db, redis = os.environ.get("AGENTLOG_TEST_DATABASE_URL"), os.environ.get("AGENTLOG_TEST_REDIS_URL")
    if db and redis:
        yield db, redis
        return
    state = Path(tempfile.mkdtemp(prefix="agentlog-scaleout-services-"))
    try:
        out = subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "start", str(state)], check=True,
                             capture_output=True, text=True, timeout=300).stdout
        env = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines() if "=" in line)
        yield env["AGENTLOG_TEST_DATABASE_URL"], env["AGENTLOG_TEST_REDIS_URL"]
    finally:
        subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), "stop", str(state)], timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("://")
    host, _, rest = tail.partition("/")
    query = rest.partition("?")[2]
    return f"{head}://{host}/{name}" + (f"?{query}" if query else "")


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


@pytest.fixture
def database(services):
    """A fresh, empty database: its URL."""
    admin, _ = services
    name = "al_scaleout_" + secrets.token_hex(4)
    psql(admin, f"CREATE DATABASE {name}")
    yield with_database(admin, name)
    psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Cluster:
    """Replicas of one deployment: same database, same Redis, same API key."""

    def __init__(self, bin_path: str, database: str, redis: str | None, tmp: Path):
        self.bin, self.database, self.redis, self.tmp = bin_path, database, redis, tmp
        self.key = gen_key()
        self.replicas: list[Server] = []

    def migrate(self) -> None:
        r = subprocess.run([self.bin, "migrate", "--database", self.database], capture_output=True, text=True,
                           timeout=60, env=clean_env())
        assert r.returncode == 0, r.stderr

    def replica(self, name: str, start: bool = True, redis: bool = True) -> Server:
        args = ["--database", self.database]
        if redis and self.redis:
            args += ["--redis", self.redis]
        s = Server(self.bin, self.tmp / name, key=self.key, args=args)
        self.replicas.append(s)
        return s.start() if start else s

    def stop(self) -> None:
        for s in self.replicas:
            if s.alive():
                s.kill9()


@pytest.fixture
def cluster(agentlog_bin, services, database, tmp_path):
    c = Cluster(agentlog_bin, database, services[1], tmp_path)
    yield c
    c.stop()


def ingest(server: Server, events: list[dict], sessions: list[dict] | None = None, timeout: float = 30.0):
    body = {"events": events}
    if sessions:
        body["sessions"] = sessions
    return server.request("POST", "/v1/ingest", body, timeout=timeout)


def all_session_events(server: Server, sid: str) -> list[dict]:
    out, cursor = [], None
    while True:
        r = server.request("GET", qs(f"/v1/sessions/{q(sid)}/events", limit=1000, cursor=cursor))
        body = expect(r, 200)
        out += body["data"]
        cursor = body["next_cursor"]
        if not cursor:
            return out
