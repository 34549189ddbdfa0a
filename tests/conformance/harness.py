"""The real server, a fault-injecting proxy in front of it, and a small REST client.

Python 3 standard library only. Nothing but 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import string
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any

LISTEN_RE = re.compile(r"listening on http://([0-9.]+):([0-9]+)")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


def gen_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "al_" + "".join(secrets.choice(alphabet) for _ in range(40))


# --------------------------------------------------------------------------- server

class ServerError(RuntimeError):
    pass


class AgentlogServer:
    """`agentlog serve --listen 127.0.0.1:0` on a temporary data directory."""

    def __init__(self, binary: str, key: str, keep_data: bool = False):
        self.binary = binary
        self.key = key
        self.keep_data = keep_data
        self.data_dir = tempfile.mkdtemp(prefix="agentlog-conformance-")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_lines: list[str] = []
        self._listening = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "AgentlogServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
        env["AGENTLOG_API_KEY"] = self.key
        env["AGENTLOG_LOG"] = "info"
        cmd = [self.binary, "serve", "--listen", "127.0.0.1:0", "--data", self.data_dir]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerError("agentlog serve did not log 'listening on http://HOST:PORT':\n"
                                  + "\n".join(self.log_lines[-30:]))
        while time.monotonic() < deadline:
            try:
                status, _ = request(self.url, "GET", "/readyz", None, timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerError("/readyz never answered 200:\n" + "\n".join(self.log_lines[-30:]))

    def _drain(self) -> None:
        assert self.proc and self.proc.stderr
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log_lines.append(line)
            try:
                msg = json.loads(line).get("msg", line)
            except (ValueError, AttributeError):
                msg = line
            m = LISTEN_RE.search(str(msg))
            if m and not self._listening.is_set():
                self.port = int(m.group(2))
                self._listening.set()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)


# --------------------------------------------------------------------------- REST client

def request(base: str, method: str, path: str, key: str | None, body: Any = None,
            timeout: float = 30.0) -> tuple[int, Any]:
    """One HTTP request; returns (status, decoded JSON body or text)."""
    data = None
    headers = {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Api:
    """The read endpoints the checks use (docs/api.md)."""

    def __init__(self, base: str, key: str):
        self.base = base
        self.key = key

    def session(self, sid: str) -> dict | None:
        status, body = request(self.base, "GET", f"/v1/sessions/{urllib.parse.quote(sid, safe='')}", self.key)
        if status == 404:
            return None
        if status != 200:
            raise AssertionError(f"GET /v1/sessions/{sid} -> {status}: {body}")
        return body

    def events(self, sid: str, tree: bool = False) -> list[dict]:
        """Every event of the session, following next_cursor."""
        out: list[dict] = []
        cursor = None
        while True:
            params = {"limit": "10000"}
            if tree:
                params["tree"] = "true"
            if cursor:
                params["cursor"] = cursor
            path = f"/v1/sessions/{urllib.parse.quote(sid, safe='')}/events?" + urllib.parse.urlencode(params)
            status, body = request(self.base, "GET", path, self.key, timeout=60)
            if status == 404:
                return []
            if status != 200:
                raise AssertionError(f"GET {path} -> {status}: {body}")
            out.extend(body["data"])
            cursor = body.get("next_cursor")
            if not cursor:
                return out


# --------------------------------------------------------------------------- fault-injecting proxy

class Phase:
    """One step of a proxy plan (see README.md): a mode, for N ingest requests or S seconds."""

    MODES = {"pass", "status", "drop_after_forward", "hang", "refuse"}

    def __init__(self, spec: dict):
        self.mode = spec.get("mode", "pass")
        if self.mode not in self.MODES:
            raise ValueError(f"unknown proxy mode {self.mode!r}")
        self.requests = spec.get("requests")
        self.seconds = spec.get("seconds")
        self.statuses = list(spec.get("statuses", [503]))
        self.retry_after = {str(k): str(v) for k, v in spec.get("retry_after", {}).items()}
        if self.mode == "refuse" and self.seconds is None:
            raise ValueError("a 'refuse' phase needs 'seconds'")
        self.used = 0


class IngestRecord:
    def __init__(self, n: int, at: float, mode: str):
        self.n = n
        self.at = at
        self.mode = mode
        self.outcome = ""          # HTTP status sent back, "dropped" or "hung"
        self.retry_after: str | None = None
        self.gzip = False
        self.authorized = False
        self.event_ids: list[str] = []
        self.answered_at: float | None = None


class FaultProxy:
    """Forwards HTTP/1.1 to the server, injecting the faults of a plan on POST /v1/ingest.

    Phases advance by count (`requests`: that many ingest requests) or by time (`seconds`,
    counted from `begin()`, which the runner calls as it starts the driver). A first phase
    'refuse' keeps the port bound but not listening, so connections are refused.
    """

    def __init__(self, upstream_port: int, plan: list[dict] | None):
        self.upstream_port = upstream_port
        self.phases = [Phase(p) for p in (plan or [{"mode": "pass"}])]
        self.records: list[IngestRecord] = []
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.closing = threading.Event()
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # connections the proxy aborts on purpose end in socket errors

        self.server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.thread: threading.Thread | None = None
        self.timers: list[threading.Timer] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def begin(self) -> None:
        """Starts the clock of time-based phases and serves (at once, or after 'refuse')."""
        self.t0 = time.monotonic()
        first = self.phases[0]
        if first.mode == "refuse":
            t = threading.Timer(float(first.seconds), self._listen)
            t.daemon = True
            t.start()
            self.timers.append(t)
        else:
            self._listen()

    def _listen(self) -> None:
        if self.closing.is_set():
            return
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        for t in self.timers:
            t.cancel()
        if self.thread:
            self.server.shutdown()
        self.server.server_close()

    def current_phase(self) -> Phase:
        """The phase of an ingest request arriving now (counted against count-limited phases)."""
        with self.lock:
            elapsed = time.monotonic() - self.t0
            start = 0.0
            for i, ph in enumerate(self.phases):
                last = i == len(self.phases) - 1
                if not last and ph.seconds is not None:
                    if elapsed >= start + float(ph.seconds):
                        start += float(ph.seconds)
                        continue
                elif not last and ph.requests is not None:
                    if ph.used >= int(ph.requests):
                        continue
                ph.used += 1
                return ph
            raise AssertionError("unreachable: the last phase always matches")

    def phase_end(self, phase: Phase) -> float:
        """Monotonic time at which a time-based phase ends."""
        start = 0.0
        for ph in self.phases:
            if ph is phase:
                return self.t0 + start + float(ph.seconds or 0)
            start += float(ph.seconds or 0)
        return self.t0

    # ---- what the checks read
    def ingest_records(self) -> list[IngestRecord]:
        with self.lock:
            return list(self.records)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        owner = self.owner
        body = self._read_body()
        is_ingest = self.command == "POST" and self.path.split("?")[0] == "/v1/ingest"
        phase = owner.current_phase() if is_ingest else None
        record = None
        if phase is not None:
            with owner.lock:
                record = IngestRecord(len(owner.records), time.monotonic(), phase.mode)
                owner.records.append(record)
            record.gzip = self.headers.get("Content-Encoding", "").lower() == "gzip"
            record.authorized = self.headers.get("Authorization", "").startswith("Bearer ") or bool(self.headers.get("X-API-Key"))
            record.event_ids = _event_ids(body, self.headers.get("Content-Encoding", ""))
        mode = phase.mode if phase is not None else "pass"

        if mode == "status" and phase is not None and record is not None:
            status = phase.statuses[(phase.used - 1) % len(phase.statuses)]
            problem = json.dumps({"type": "urn:agentlog:problem:injected", "title": "Injected fault",
                                  "status": status, "detail": "injected by the conformance proxy"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(problem)))
            ra = phase.retry_after.get(str(status))
            if ra is not None:
                self.send_header("Retry-After", ra)
            self.end_headers()
            self.wfile.write(problem)
            self.wfile.flush()
            record.outcome = str(status)
            record.retry_after = ra
            record.answered_at = time.monotonic()
            return
        if mode == "hang" and phase is not None and record is not None:
            end = owner.phase_end(phase)
            while time.monotonic() < end and not owner.closing.is_set():
                time.sleep(0.02)
            record.outcome = "hung"
            record.answered_at = time.monotonic()
            self._abort_connection()
            return

        status, headers, payload = self._forward(body)
        if mode == "drop_after_forward" and record is not None:
            record.outcome = f"dropped (server said {status})"
            record.answered_at = time.monotonic()
            self._abort_connection()
            return
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        if record:
            record.outcome = str(status)
            record.answered_at = time.monotonic()

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.owner.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PATCH") else None,
                         headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _abort_connection(self) -> None:
        """Closes the client's connection without an answer (a reset, as a crash would)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _event_ids(body: bytes, encoding: str) -> list[str]:
    try:
        enc = encoding.lower()
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        doc = json.loads(body)
        return [e.get("id") for e in doc.get("events", []) if isinstance(e, dict)]
    except (ValueError, OSError, zlib.error, AttributeError):
        return []
