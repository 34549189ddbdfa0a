"""Fixtures: a scriptable fake ingest server (transport edge cases) and the real
`agentlog` binary on 127.0.0.1:0 with a temporary data directory (end to end).

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import agentlog
from agentlog import _client

SDK_DIR = Path(__file__).resolve().parents[1]
REPO = SDK_DIR.parents[1]
LISTEN_RE = re.compile(r"listening on http://([0-9.]+):([0-9]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(cond: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Polls `cond` until it returns something truthy; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {cond}")
        time.sleep(interval)


# --------------------------------------------------------------------------- fake server


class Recorded:
    """One request the fake server received."""

    def __init__(self, method: str, path: str, headers: Dict[str, str], raw: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.raw = raw
        self.time = time.monotonic()
        body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
        self.body_bytes = body
        self.json: Dict[str, Any] = json.loads(body) if body else {}

    @property
    def events(self) -> List[Dict[str, Any]]:
        return list(self.json.get("events") or [])

    @property
    def sessions(self) -> List[Dict[str, Any]]:
        return list(self.json.get("sessions") or [])


# A scripted answer: (status, headers, body) or the string "drop" (close without answer).
Answer = Any


class FakeServer:
    """An HTTP server that records ingest requests and answers from a script.

    Without a script it answers like the real server: 200 with accepted = all items.
    `gate` (cleared) holds every answer until set.
    """

    def __init__(self, port: int = 0) -> None:
        self.requests: List[Recorded] = []
        self.script: List[Answer] = []
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        self.connections = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                rec = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                with fake.lock:
                    fake.requests.append(rec)
                    answer = fake.script.pop(0) if fake.script else None
                fake.gate.wait(30)
                if answer == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                close_after = answer == "close-after"  # answer, then close without saying so
                if answer is None or close_after:
                    items = len(rec.events) + len(rec.sessions)
                    answer = (200, {}, {"accepted": items, "rejected": 0, "errors": [],
                                        "ids": [e.get("id") for e in rec.events]})  # fmt: skip
                status, headers, body = answer
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                ctype = "application/json" if status < 400 else "application/problem+json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                if close_after:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def events(self) -> List[Dict[str, Any]]:
        with self.lock:
            return [e for r in self.requests for e in r.events]

    def sessions(self) -> List[Dict[str, Any]]:
        with self.lock:
            return [s for r in self.requests for s in r.sessions]

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., agentlog.AgentLog]]:
    """Builds clients (api_key "test-key" unless given) and shuts them all down afterwards."""
    made: List[agentlog.AgentLog] = []

    def make(url: str, **kw: Any) -> agentlog.AgentLog:
        kw.setdefault("api_key", "test-key")
        c = agentlog.AgentLog(url=url, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown(timeout=2)


@pytest.fixture(autouse=True)
def _isolated_default_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees another's default client or the developer's AGENTLOG_* variables."""
    for k in list(os.environ):
        if k.startswith("AGENTLOG_") and k != "AGENTLOG_BIN":
            monkeypatch.delenv(k)
    saved = _client._default
    _client._default = None
    yield
    current: Optional[agentlog.AgentLog] = vars(_client)["_default"]
    _client._default = saved
    if current is not None and current is not saved:
        current.shutdown(timeout=2)


def by_name(events: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    out: Dict[str, Dict[str, Any]] = {}
    for e in events:
        assert e.get("name") not in out, f"duplicate event name {e.get('name')!r}"
        out[e["name"]] = e
    return out


# --------------------------------------------------------------------------- real server


def agentlog_bin() -> str:
    path = os.environ.get("AGENTLOG_BIN") or str(REPO / "build" / "agentlog")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agentlog binary not found at {path} (build it, or set AGENTLOG_BIN)")
    return path


class RealServer:
    """`agentlog serve` on 127.0.0.1 (port 0 unless given) with its own data directory."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.key = "al_" + secrets.token_hex(20)
        self.requested_port = port
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.port = 0
        self.log: List[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> RealServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
        env.update(AGENTLOG_API_KEY=self.key, AGENTLOG_LOG="info")
        self.proc = subprocess.Popen(
            [agentlog_bin(), "serve", "--listen", f"127.0.0.1:{self.requested_port}",
             "--data", str(self.data_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        found = threading.Event()

        def drain(proc: subprocess.Popen[bytes]) -> None:
            assert proc.stderr is not None
            for raw in iter(proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                self.log.append(line)
                m = LISTEN_RE.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(2))
                    found.set()

        threading.Thread(target=drain, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("agentlog serve did not start:\n" + "\n".join(self.log[-20:]))
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.03)
        raise AssertionError("/readyz never answered 200:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def get(self, path: str, **params: Any) -> Tuple[int, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        req = urllib.request.Request(
            self.url + path + ("?" + query if query else ""),
            headers={"Authorization": f"Bearer {self.key}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def session(self, sid: str) -> Dict[str, Any]:
        status, doc = self.get("/v1/sessions/" + urllib.parse.quote(sid, safe=""))
        assert status == 200, f"GET session {sid}: {status} {doc}"
        return dict(doc)

    def events(self, sid: str, tree: bool = False) -> List[Dict[str, Any]]:
        status, doc = self.get(
            "/v1/sessions/" + urllib.parse.quote(sid, safe="") + "/events",
            tree="true" if tree else None,
            limit=10000,
        )
        assert status == 200, f"GET events of {sid}: {status} {doc}"
        assert doc["next_cursor"] is None
        return list(doc["data"])

    def client(self, **kw: Any) -> agentlog.AgentLog:
        kw.setdefault("flush_interval", 0.1)
        return agentlog.AgentLog(url=self.url, api_key=self.key, **kw)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """One real server for the e2e tests of this run (tests use distinct sessions)."""
    s = RealServer(tmp_path_factory.mktemp("agentlog-data")).start()
    yield s
    s.stop()


def run_python(
    code: str, env: Optional[Dict[str, str]] = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (this one) that imports the SDK under test."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
    src = str(Path(agentlog.__file__).resolve().parents[1])
    full_env["PYTHONPATH"] = src + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
