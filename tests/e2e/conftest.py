"""Black-box end-to-end fixtures: start the real `agentlog` binary on 127.0.0.1:0 with a
temporary data directory and talk HTTP to it, as a user would.

Only the standard library (plus pytest) is used. Nothing but 127.0.0.1 is ever contacted.
The contract under test is docs/api.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE62 = string.ascii_letters + string.digits
LISTEN_RE = re.compile(r"listening on http://([0-9.]+):([0-9]+)")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
KEY_RE = re.compile(r"^al_[A-Za-z0-9]{40}$")
PROBLEM_PREFIX = "urn:agentlog:problem:"
_DEFAULT = object()


# --------------------------------------------------------------------------- helpers

def gen_key() -> str:
    return "al_" + "".join(secrets.choice(BASE62) for _ in range(40))


def uid(prefix: str = "") -> str:
    """A short unique id for test data."""
    return prefix + secrets.token_hex(6)


def us_of(year, month, day, hour=0, minute=0, second=0, micro=0) -> int:
    """Microseconds since the epoch of a UTC wall time."""
    return calendar.timegm((year, month, day, hour, minute, second)) * 1_000_000 + micro


def fmt_us(us: int) -> str:
    """The server's output format: RFC 3339 UTC with exactly six fractional digits."""
    secs, micro = divmod(us, 1_000_000)
    t = dt.datetime.fromtimestamp(secs, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{micro:06d}Z"


def rfc(us: int) -> str:
    """An input RFC 3339 string (UTC 'Z', microseconds) for a microsecond timestamp."""
    return fmt_us(us)


def parse_time(s: str) -> int:
    """Parses the server's output time format back to microseconds (asserts the format)."""
    assert isinstance(s, str) and TIME_RE.match(s), f"time not in 2026-11-25T10:00:00.123456Z form: {s!r}"
    base, frac = s[:-1].split(".")
    t = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return calendar.timegm(t.timetuple()) * 1_000_000 + int(frac)


def now_us() -> int:
    return time.time_ns() // 1000


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(extra: dict | None = None) -> dict:
    """The inherited environment without any AGENTLOG_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
    return env


def qs(path: str, **params: Any) -> str:
    params = {k: v for k, v in params.items() if v is not None}
    if not params:
        return path
    return path + "?" + urllib.parse.urlencode(params)


def q(s: str) -> str:
    """Percent-encodes one path segment (ids may contain anything)."""
    return urllib.parse.quote(s, safe="")


class Resp:
    """An HTTP answer; unpacks as (status, headers, body)."""

    def __init__(self, status: int, headers, raw: bytes, method: str, path: str, req_body: bytes | None):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.method = method
        self.path = path
        self.req_body = req_body
        ctype = (headers.get("Content-Type") or "").lower()
        self.json_error = None
        if "json" in ctype and raw:
            try:
                self.body = json.loads(raw)
            except ValueError as e:  # not JSON although it says so: keep the text
                self.json_error = str(e)
                self.body = raw.decode("utf-8", "replace")
        else:
            self.body = raw.decode("utf-8", "replace")

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def describe(self) -> str:
        req = ""
        if self.req_body is not None:
            req = self.req_body[:600].decode("utf-8", "replace")
        return (f"{self.method} {self.path} {req!s}\n  -> {self.status} "
                f"{dict(self.headers.items())}\n  {self.raw[:1500].decode('utf-8', 'replace')}")

    def __repr__(self):
        return f"<Resp {self.describe()}>"


def expect(resp: Resp, status: int) -> Any:
    assert resp.status == status, f"expected {status}:\n{resp.describe()}"
    assert resp.json_error is None, f"response body is not valid JSON ({resp.json_error}):\n{resp.describe()}"
    return resp.body


def assert_problem(resp: Resp, status: int, slug: str | None = None) -> dict:
    """Asserts an RFC 9457 problem+json answer with the documented type slug."""
    assert resp.status == status, f"expected {status} ({slug}):\n{resp.describe()}"
    ctype = resp.headers.get("Content-Type") or ""
    assert ctype.split(";")[0].strip().lower() == "application/problem+json", \
        f"problem Content-Type must be application/problem+json:\n{resp.describe()}"
    body = resp.body
    assert resp.json_error is None, f"problem body is not valid JSON ({resp.json_error}):\n{resp.describe()}"
    assert isinstance(body, dict), f"problem body must be a JSON object:\n{resp.describe()}"
    for k in ("type", "title", "status", "detail"):
        assert k in body, f"problem lacks {k!r}:\n{resp.describe()}"
    assert isinstance(body["title"], str) and body["title"], resp.describe()
    assert isinstance(body["detail"], str), resp.describe()
    assert body["status"] == status, f"problem status {body['status']} != HTTP {status}:\n{resp.describe()}"
    if slug is not None:
        assert body["type"] == PROBLEM_PREFIX + slug, \
            f"problem type should be {PROBLEM_PREFIX + slug}:\n{resp.describe()}"
    if "instance" in body and body["instance"] is not None:
        assert isinstance(body["instance"], str), resp.describe()
    return body


# --------------------------------------------------------------------------- raw HTTP

def raw_exchange(port: int, data: bytes, timeout: float = 10.0, half_close: bool = False,
                 host: str = "127.0.0.1") -> tuple[int | None, bytes, str | None]:
    """Sends raw bytes on a fresh connection and reads until the peer closes.

    Returns (status or None, response bytes, error) where error is 'timeout' when the server
    neither answered nor closed within `timeout` seconds (a hang), else None or an OS error name.
    """
    s = socket.create_connection((host, port), timeout=timeout)
    err = None
    chunks: list[bytes] = []
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:  # the server may refuse and close early: read what it sent
            err = type(e).__name__
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                err = "timeout"
                break
            s.settimeout(remaining)
            try:
                b = s.recv(65536)
            except socket.timeout:
                err = "timeout"
                break
            except OSError as e:
                err = err or type(e).__name__
                break
            if not b:
                break
            chunks.append(b)
            # Stop once one whole response is in (the server may keep the connection open).
            if _response_complete(b"".join(chunks)):
                break
    finally:
        s.close()
    raw = b"".join(chunks)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    status = int(m.group(1)) if m else None
    if status is not None and err == "timeout":
        err = None
    return status, raw, err


def _response_complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if m:
        return len(body) >= int(m.group(1))
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        return body.endswith(b"0\r\n\r\n")
    return False


# --------------------------------------------------------------------------- server

class ServerStartError(AssertionError):
    pass


class Server:
    """One `agentlog serve` process on a data directory."""

    def __init__(self, bin_path: str, data_dir: Path, key: str | None = None, env: dict | None = None,
                 args: Iterable[str] = (), listen: str | None = "127.0.0.1:0", cwd: Path | None = None,
                 expect_port: int | None = None, log_level_env: str | None = "info"):
        self.bin = bin_path
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.key = key if key is not None else gen_key()
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.listen = listen
        self.cwd = Path(cwd) if cwd else self.data_dir.parent
        self.expect_port = expect_port
        self.log_level_env = log_level_env
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.log_lines: list[str] = []
        self.non_json_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- lifecycle
    def command(self) -> list[str]:
        cmd = [self.bin, "serve"]
        if self.listen is not None:
            cmd += ["--listen", self.listen]
        cmd += ["--data", str(self.data_dir)]
        return cmd + self.args

    def environment(self) -> dict:
        extra = {"AGENTLOG_API_KEY": self.key}
        if self.log_level_env is not None:
            extra["AGENTLOG_LOG"] = self.log_level_env
        extra.update(self.extra_env)
        return clean_env(extra)

    def start(self, timeout: float = 20.0) -> "Server":
        self.log_lines = []
        self.non_json_lines = []
        self.stdout_lines = []
        self._listening = threading.Event()
        self.port = None
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.environment(), cwd=str(self.cwd))
        t1 = threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True)
        t2 = threading.Thread(target=self._drain_stdout, args=(self.proc,), daemon=True)
        t1.start()
        t2.start()
        self._threads = [t1, t2]
        deadline = time.monotonic() + timeout
        if self.expect_port is not None:
            self.port = self.expect_port
        else:
            while not self._listening.wait(0.05):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self._fail_start("no 'listening on http://HOST:PORT' log line on stderr")
        self.wait_ready(deadline)
        return self

    def wait_ready(self, deadline: float) -> None:
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail_start(f"process exited with {self.proc.returncode} before /readyz answered 200")
            try:
                r = self.request("GET", "/readyz", key=None, timeout=2)
                last = r
                if r.status == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.03)
        self._fail_start(f"/readyz never answered 200 (last: {last!r})")

    def _fail_start(self, why: str):
        rc = self.proc.poll() if self.proc else None
        if self.proc and rc is None:
            self.proc.kill()
            self.proc.wait(5)
        time.sleep(0.1)
        raise ServerStartError(f"agentlog serve failed to start: {why}\ncommand: {self.command()}\n"
                               f"exit code: {rc}\nstderr:\n" + "\n".join(self.log_lines[-40:]) +
                               "\nstdout:\n" + "\n".join(self.stdout_lines[-20:]))

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log_lines.append(line)
            msg = None
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    msg = obj.get("msg")
                else:
                    self.non_json_lines.append(line)
            except ValueError:
                self.non_json_lines.append(line)
            text = msg if isinstance(msg, str) else line
            m = LISTEN_RE.search(text)
            if m and not self._listening.is_set():
                self.host, self.port = m.group(1), int(m.group(2))
                self._listening.set()
        proc.stderr.close()

    def _drain_stdout(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        proc.stdout.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Sends `sig` and waits for the exit; returns the exit code (negative = killed by signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"server did not exit within {timeout}s after signal {sig}")
        for t in self._threads:
            t.join(5)
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        for t in self._threads:
            t.join(5)

    def restart(self, timeout: float = 20.0) -> "Server":
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        return self.start(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    # ---- HTTP
    def connect(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def auth_headers(self, key: Any = _DEFAULT, scheme: str = "bearer") -> dict:
        k = self.key if key is _DEFAULT else key
        if k is None:
            return {}
        if scheme == "bearer":
            return {"Authorization": f"Bearer {k}"}
        return {"X-API-Key": k}

    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None,
                key: Any = _DEFAULT, raw_body: bytes | None = None, timeout: float = 30.0,
                scheme: str = "bearer", conn: http.client.HTTPConnection | None = None) -> Resp:
        hdrs = self.auth_headers(key, scheme)
        data = None
        if raw_body is not None:
            data = raw_body
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        own = conn is None
        c = conn or self.connect(timeout)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            return Resp(r.status, r.headers, raw, method, path, data)
        finally:
            if own:
                c.close()

    # shorthands
    def get(self, path: str, **kw) -> Resp:
        return self.request("GET", path, **kw)

    def ingest(self, events: list | None = None, sessions: list | None = None, **kw) -> Resp:
        body: dict = {}
        if events is not None:
            body["events"] = events
        if sessions is not None:
            body["sessions"] = sessions
        return self.request("POST", "/v1/ingest", body, **kw)

    def ingest_ok(self, events: list | None = None, sessions: list | None = None, **kw) -> dict:
        r = self.ingest(events, sessions, **kw)
        assert r.status == 200, r.describe()
        n = len(events or []) + len(sessions or [])
        assert r.body.get("rejected") == 0 and r.body.get("accepted") == n, r.describe()
        return r.body

    def session(self, sid: str, **kw) -> dict:
        return expect(self.get(f"/v1/sessions/{q(sid)}", **kw), 200)

    def event(self, eid: str, **kw) -> dict:
        return expect(self.get(f"/v1/events/{q(eid)}", **kw), 200)

    def walk(self, path: str, params: dict | None = None, limit: int | None = None, max_pages: int = 10000,
             **kw) -> list[dict]:
        """Follows next_cursor through every page; asserts each page's shape."""
        params = dict(params or {})
        if limit is not None:
            params["limit"] = limit
        out: list[dict] = []
        cursor = None
        for _ in range(max_pages):
            p = dict(params)
            if cursor is not None:
                p["cursor"] = cursor
            r = self.get(qs(path, **p), **kw)
            body = expect(r, 200)
            assert isinstance(body, dict) and isinstance(body.get("data"), list) and "next_cursor" in body, \
                r.describe()
            if limit is not None:
                assert len(body["data"]) <= limit, r.describe()
            out.extend(body["data"])
            cursor = body["next_cursor"]
            if cursor is None:
                return out
            assert isinstance(cursor, str) and cursor, r.describe()
            assert body["data"], f"non-null next_cursor on an empty page:\n{r.describe()}"
        raise AssertionError(f"pagination of {path} did not end after {max_pages} pages")

    def metrics(self) -> str:
        r = self.get("/metrics", key=None)
        assert r.status == 200, r.describe()
        return r.raw.decode()

    def cli(self, *args: str, check: bool = True, env: dict | None = None) -> str:
        return self.cli_run(*args, check=check, env=env).stdout

    def cli_run(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        return run_cli(self.bin, *args, data=self.data_dir, check=check, env=env, cwd=self.cwd)


def run_cli(bin_path: str, *args: str, data: Path | str | None = None, check: bool = True,
            env: dict | None = None, cwd: Path | str | None = None, timeout: float = 60.0
            ) -> subprocess.CompletedProcess:
    cmd = [bin_path, *args]
    if data is not None:
        cmd += ["--data", str(data)]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=clean_env(env),
                       cwd=str(cwd) if cwd else None, timeout=timeout, text=True)
    if check:
        assert p.returncode == 0, f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


class ServerPool:
    """Starts servers for one fixture scope and makes sure every one is stopped afterwards."""

    def __init__(self, bin_path: str, tmp_factory: Callable[[], Path]):
        self.bin = bin_path
        self.tmp = tmp_factory
        self.servers: list[Server] = []

    def start(self, data_dir: Path | None = None, start: bool = True, **kw) -> Server:
        if data_dir is None:
            data_dir = self.tmp() / "data"
        s = Server(self.bin, data_dir, **kw)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def close(self) -> None:
        for s in self.servers:
            if s.proc is not None and s.proc.poll() is None:
                try:
                    s.stop(timeout=10)
                except AssertionError:
                    pass


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def bin_path() -> str:
    p = os.environ.get("AGENTLOG_BIN") or str(REPO / "build" / "agentlog")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        pytest.fail(f"agentlog binary not found or not executable at {p} (set AGENTLOG_BIN)", pytrace=False)
    return p


@pytest.fixture
def servers(bin_path, tmp_path):
    counter = iter(range(1000))
    pool = ServerPool(bin_path, lambda: _mkdir(tmp_path / f"srv{next(counter)}"))
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def module_servers(bin_path, tmp_path_factory):
    pool = ServerPool(bin_path, lambda: tmp_path_factory.mktemp("srv"))
    yield pool
    pool.close()


@pytest.fixture
def server(servers) -> Server:
    """A fresh server of its own (function scope)."""
    return servers.start()


@pytest.fixture(scope="module")
def shared_server(module_servers) -> Server:
    """One server for every test of a module that does not need isolation."""
    return module_servers.start()


class Cli:
    def __init__(self, bin_path: str, data: Path):
        self.bin = bin_path
        self.data = data

    def __call__(self, *args: str, data: Any = _DEFAULT, check: bool = True, env: dict | None = None,
                 cwd: Any = None) -> str:
        return self.run(*args, data=data, check=check, env=env, cwd=cwd).stdout

    def run(self, *args: str, data: Any = _DEFAULT, check: bool = True, env: dict | None = None,
            cwd: Any = None) -> subprocess.CompletedProcess:
        d = self.data if data is _DEFAULT else data
        return run_cli(self.bin, *args, data=d, check=check, env=env, cwd=cwd or self.data.parent)


@pytest.fixture
def cli(bin_path, tmp_path) -> Cli:
    """cli(*args) runs the binary with `--data <tmp>/data` and returns stdout (data=None: no --data)."""
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return Cli(bin_path, d)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------- OpenAPI

def norm_path(p: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", p)


class OpenApi:
    def __init__(self, doc: dict):
        self.doc = doc
        self.paths = {norm_path(k): v for k, v in (doc.get("paths") or {}).items()}

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            assert ref.startswith("#/"), f"only local $ref supported: {ref}"
            node: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
                node = node[part]
            schema = node if len(schema) == 1 else {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
            assert seen < 50, f"$ref loop at {ref}"
        return schema

    def response_schema(self, path: str, method: str, status: int) -> Any:
        item = self.paths.get(norm_path(path))
        assert item is not None, f"/openapi.json has no path {path}"
        op = item.get(method.lower())
        assert op is not None, f"/openapi.json has no {method} {path}"
        responses = op.get("responses") or {}
        resp = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        assert resp is not None, f"/openapi.json documents no {status} response for {method} {path}"
        resp = self.resolve(resp)
        content = resp.get("content") or {}
        for ctype, media in content.items():
            if "json" in ctype and isinstance(media, dict) and "schema" in media:
                return media["schema"]
        raise AssertionError(f"/openapi.json has no JSON schema for {status} of {method} {path}")

    def validate(self, instance: Any, schema: Any, where: str = "$") -> list[str]:
        errs: list[str] = []
        self._v(instance, schema, where, errs)
        return errs

    def _type_ok(self, inst: Any, t: str) -> bool:
        return {
            "null": inst is None,
            "boolean": isinstance(inst, bool),
            "integer": isinstance(inst, int) and not isinstance(inst, bool)
            or (isinstance(inst, float) and inst.is_integer()),
            "number": isinstance(inst, (int, float)) and not isinstance(inst, bool),
            "string": isinstance(inst, str),
            "array": isinstance(inst, list),
            "object": isinstance(inst, dict),
        }.get(t, True)

    def _v(self, inst: Any, schema: Any, where: str, errs: list[str]) -> None:
        if schema is True or schema is None or schema == {}:
            return
        if schema is False:
            errs.append(f"{where}: schema false")
            return
        schema = self.resolve(schema)
        if schema.get("nullable") and inst is None:
            return
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(self._type_ok(inst, t) for t in types):
                errs.append(f"{where}: {json.dumps(inst)[:80]} is not of type {types}")
                return
        if "enum" in schema and inst not in schema["enum"]:
            errs.append(f"{where}: {inst!r} not in enum {schema['enum']}")
        if "const" in schema and inst != schema["const"]:
            errs.append(f"{where}: {inst!r} != const {schema['const']!r}")
        for sub in schema.get("allOf") or []:
            self._v(inst, sub, where, errs)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                if not any(not self.validate(inst, o, where) for o in options):
                    detail = [self.validate(inst, o, where) for o in options]
                    errs.append(f"{where}: matches none of {key}: {detail}")
        if isinstance(inst, dict):
            props = schema.get("properties") or {}
            for r in schema.get("required") or []:
                if r not in inst:
                    errs.append(f"{where}: required property {r!r} missing")
            for k, v in inst.items():
                if k in props:
                    self._v(v, props[k], f"{where}.{k}", errs)
                elif "additionalProperties" in schema:
                    ap = schema["additionalProperties"]
                    if ap is False:
                        errs.append(f"{where}: unexpected property {k!r}")
                    elif isinstance(ap, dict):
                        self._v(v, ap, f"{where}.{k}", errs)
        if isinstance(inst, list) and "items" in schema:
            for i, v in enumerate(inst):
                self._v(v, schema["items"], f"{where}[{i}]", errs)
        if isinstance(inst, (int, float)) and not isinstance(inst, bool):
            if "minimum" in schema and inst < schema["minimum"]:
                errs.append(f"{where}: {inst} < minimum {schema['minimum']}")
            if "maximum" in schema and inst > schema["maximum"]:
                errs.append(f"{where}: {inst} > maximum {schema['maximum']}")


# --------------------------------------------------------------------------- keys via the CLI

def create_key(run: Callable[..., str], project: str | None = None, name: str | None = None) -> str:
    """`keys create`; returns the secret (the LAST line of stdout), asserting its form."""
    args = ["keys", "create"]
    if project:
        args += ["--project", project]
    if name:
        args += ["--name", name]
    out = run(*args)
    lines = [l for l in out.splitlines() if l.strip()]
    assert lines, f"keys create printed nothing: {out!r}"
    secret = lines[-1].strip()
    assert KEY_RE.match(secret), f"last line of `keys create` is not al_ + 40 base62 chars: {secret!r}\n{out}"
    return secret


def revoke_key(run_result: Callable[..., subprocess.CompletedProcess], name: str, secret: str,
               project: str | None = None) -> str:
    """Finds the id of the key called `name` in `keys list` and revokes it with `keys revoke ID`.

    The listing format is not part of the contract, so every token of the key's line (or the
    `id` of a JSON listing) is tried as the ID until `keys revoke` succeeds. Returns the listing.
    """
    pargs = ["--project", project] if project else []
    listing = run_result("keys", "list", *pargs, check=True).stdout
    assert secret not in listing, "`keys list` must never show the secret"
    candidates: list[str] = []
    try:
        doc = json.loads(listing)
        rows = doc if isinstance(doc, list) else doc.get("data") or doc.get("keys") or []
        for row in rows:
            if isinstance(row, dict) and row.get("name") == name and "id" in row:
                candidates.append(str(row["id"]))
    except ValueError:
        pass
    for line in listing.splitlines():
        if name in line:
            candidates += [t for t in re.split(r"[^A-Za-z0-9_\-]+", line) if t and t != name]
    assert candidates, f"key {name!r} not found in `keys list`:\n{listing}"
    tried = []
    for tok in dict.fromkeys(candidates):
        p = run_result("keys", "revoke", tok, *pargs, check=False)
        tried.append((tok, p.returncode, p.stderr.strip()[-200:]))
        if p.returncode == 0:
            return listing
    raise AssertionError(f"could not revoke key {name!r}; `keys revoke ID` attempts: {tried}\nlisting:\n{listing}")
