#!/usr/bin/python3
"""AgentLog benchmarks: `make bench` runs `/usr/bin/python3 bench/run.py --bin build/agentlog`.

Measures, on this machine, in one run:
  1. the raw SQLite insert ceiling (bench/sqlite_ceiling.c, compiled here);
  2. native-JSON ingest through HTTP with wrk (1000-event requests, 4 keep-alive
     connections, durable ack), its ratio to the ceiling, request latency, server
     RSS, and that every acknowledged event is stored;
  3. queries on a generated data set of 1M events / 100k sessions (cached under
     build/bench/dataset-1m/): session list, a 1,000-event timeline, full-text
     search (rare and common word), agents overview;
  4. start-up to ready on that database.
Prints a table (metric | value | target | ok?) and writes bench/results/<timestamp>.json
and bench/results/latest.json. See bench/README.md. Python standard library only.

Exit status: 0 when every measurement ran and the server behaved (targets missed are
reported, not failed); 1 when the server misbehaved (non-200 answers, lost events,
unclean exit...); 2 when the benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
import gen_dataset  # noqa: E402  (sibling module)

API_KEY = "al_" + "benchKEY00" * 4  # any secret works through AGENTLOG_API_KEY
LISTEN_RE = re.compile(r"listening on http://([0-9.]+):([0-9]+)")
EVENTS_PER_REQUEST = 1000
SESSIONS_PER_REQUEST = 100

# Targets from issue #3 ("Performance") and DESIGN.md §10.
TARGET_INGEST = 100_000
STRETCH_INGEST = 150_000
TARGET_RATIO = 0.6
TARGET_RSS_MB = 200
TARGET_STARTUP_MS = 100
TARGET_SEARCH_LAG_MS = 1000
# Issue #8: OTLP protobuf ingest of typical GenAI spans, durable ack, 2 cores.
TARGET_OTLP_SPANS = 80_000
OTLP_SPANS_PER_REQUEST = 500
# OTLP exporters each send one batch at a time (the SDKs' BatchSpanProcessor waits for the
# answer before the next export; a Collector's exporter runs 10 consumers), so spans/s at
# a given load depends on how many exporters send at once. 16 connections model 16 agent
# processes; with 500-span requests that is 8,000 spans in flight (native ingest: 4,000).
OTLP_CONNECTIONS = 16
OTLP_MARKER = "~@OTLP@~"  # bench/otlp.lua makes every copy of a template unique
QUERY_TARGETS_MS = {
    "session_list": 10,
    "timeline_1000": 20,
    "search_rare": 50,
    "search_medium": 50,
    "search_common": 50,
    "agents": 50,
}


class BenchError(Exception):
    """The benchmark cannot continue (the server did not start, a tool is missing)."""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- server

class Server:
    """One `agentlog serve` process on a data dir, with stderr drained in a thread."""

    def __init__(self, binary: Path, data_dir: Path, listen: str = "127.0.0.1:0",
                 extra_env: dict[str, str] | None = None):
        self.binary = binary
        self.data_dir = data_dir
        self.listen = listen
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.host = ""
        self.port = 0
        self.stderr_tail: list[str] = []
        self.log_counts: dict[str, int] = {}
        self._listening = threading.Event()
        self._reader: threading.Thread | None = None
        self.spawned_at = 0.0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
        env.update({"AGENTLOG_API_KEY": API_KEY, "AGENTLOG_LOG": "info"})
        env.update(self.extra_env)
        return env

    def spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # cwd outside the repository so that no ./agentlog.toml is picked up.
        cwd = self.data_dir.parent
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--listen", self.listen, "--data", str(self.data_dir)],
            cwd=cwd, env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc and self.proc.stderr
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_tail.append(line)
            if len(self.stderr_tail) > 200:
                del self.stderr_tail[:100]
            level = "?"
            try:
                doc = json.loads(line)
                level = str(doc.get("level", doc.get("lvl", "?")))
            except ValueError:
                pass
            self.log_counts[level] = self.log_counts.get(level, 0) + 1
            if not self._listening.is_set():
                m = LISTEN_RE.search(line)
                if m:
                    self.host, self.port = m.group(1), int(m.group(2))
                    self._listening.set()

    def start(self, timeout: float = 60.0) -> "Server":
        self.spawn()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode} before listening:\n"
                                 + "\n".join(self.stderr_tail[-20:]))
            if time.monotonic() > deadline:
                self.kill()
                raise BenchError("server did not log 'listening on http://HOST:PORT' within "
                                 f"{timeout:.0f} s:\n" + "\n".join(self.stderr_tail[-20:]))
        while True:
            status = self.readyz()
            if status == 200:
                return self
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode} before ready:\n"
                                 + "\n".join(self.stderr_tail[-20:]))
            if time.monotonic() > deadline:
                self.kill()
                raise BenchError(f"/readyz not 200 within {timeout:.0f} s (last: {status})")
            time.sleep(0.01)

    def readyz(self) -> int | None:
        try:
            c = http.client.HTTPConnection(self.host, self.port, timeout=2)
            c.request("GET", "/readyz")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status
        except OSError:
            return None

    @property
    def pid(self) -> int:
        assert self.proc
        return self.proc.pid

    def stop(self, timeout: float = 60.0) -> tuple[int | None, float]:
        """SIGTERM, wait; returns (exit code or None if it had to be killed, seconds)."""
        if not self.proc or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None, time.perf_counter() - t0
        if self._reader:
            self._reader.join(2)
        return code, time.perf_counter() - t0

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Client:
    """A keep-alive HTTP/1.1 connection with the bench key."""

    def __init__(self, host: str, port: int, timeout: float = 120.0):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {API_KEY}"}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        h = dict(self.headers)
        if body is not None:
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server may close an idle keep-alive connection; reconnect once.
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> tuple[int, object]:
        status, _, data = self.request("GET", path)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data[:300].decode("utf-8", "replace")

    def close(self) -> None:
        self.conn.close()


class RssSampler(threading.Thread):
    """Samples VmRSS of a pid every `interval` seconds; keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.max_kb = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            kb = proc_status_kb(self.pid, "VmRSS")
            if kb is not None:
                self.max_kb = max(self.max_kb, kb)
                self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def proc_status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def metric_value(text: str, name: str) -> float | None:
    """Sum of all samples of a Prometheus metric (any labels)."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+([-+0-9.eEinfNa]+)", line)
        if m:
            total += float(m.group(2))
            found = True
    return total if found else None


def fetch_metrics(server: Server) -> str:
    c = Client(server.host, server.port)
    try:
        status, _, data = c.request("GET", "/metrics")
        return data.decode("utf-8", "replace") if status == 200 else ""
    finally:
        c.close()


def count_stored_events(server: Server, problems: list[str], limit_seconds: float = 120
                        ) -> tuple[int | None, int]:
    """Sum of event_count over all sessions, paging GET /v1/sessions; (events, sessions)."""
    c = Client(server.host, server.port)
    total = sessions = 0
    cursor = None
    t0 = time.monotonic()
    try:
        while True:
            path = "/v1/sessions?limit=1000"
            if cursor:
                path += "&cursor=" + urllib.parse.quote(cursor, safe="")
            status, doc = c.get_json(path)
            if status != 200 or not isinstance(doc, dict):
                problems.append(f"GET {path} answered {status}: {str(doc)[:200]}")
                return None, sessions
            for s in doc.get("data", []):
                total += int(s.get("event_count", 0))
                sessions += 1
            cursor = doc.get("next_cursor")
            if not cursor:
                return total, sessions
            if time.monotonic() - t0 > limit_seconds:
                problems.append(f"paging GET /v1/sessions took over {limit_seconds:.0f} s "
                                f"({sessions} sessions read); stopped counting")
                return None, sessions
    finally:
        c.close()


# --------------------------------------------------------------------------- helpers

def run_cmd(args: list[str], **kw) -> str:
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info(binary: Path) -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    commit = run_cmd(["git", "-C", str(ROOT), "rev-parse", "HEAD"]).strip() or None
    dirty = bool(run_cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]).strip())
    version = run_cmd([str(binary), "version"]).strip() or None
    wrk_v = ""
    try:
        p = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        wrk_v = (p.stdout + p.stderr).splitlines()[0].strip()
    except (OSError, IndexError):
        pass
    cc_v = run_cmd(["cc", "--version"]).splitlines()
    return {
        "hostname": platform.node(),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_mb": round(mem_kb / 1024) if mem_kb else None,
        "kernel": platform.release(),
        "git_commit": commit,
        "git_dirty": dirty if commit else None,
        "server_version": version,
        "server_binary": str(binary),
        "server_binary_mtime": dt.datetime.fromtimestamp(binary.stat().st_mtime, dt.timezone.utc)
        .isoformat(timespec="seconds") if binary.exists() else None,
        "wrk": wrk_v,
        "cc": cc_v[0] if cc_v else "",
        "python": platform.python_version(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# --------------------------------------------------------------------------- 1. ceiling

def sqlite_ceiling(work: Path, rows: int, problems: list[str]) -> dict:
    exe = work / "sqlite_ceiling"
    src = BENCH_DIR / "sqlite_ceiling.c"
    log("compiling bench/sqlite_ceiling.c")
    p = subprocess.run(["cc", "-O2", str(src), "-lsqlite3", "-o", str(exe)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError("cannot compile bench/sqlite_ceiling.c:\n" + p.stderr)
    out = {}
    variants = {
        "default": [],  # SQLite defaults + WAL + NORMAL, for reference
        # The ceiling the ratio uses: the settings the server's writer uses.
        "tuned": ["--page-size", "16384", "--cache-mib", "64", "--wal-autocheckpoint", "4000"],
    }
    for name, extra in variants.items():
        log(f"sqlite ceiling ({name}): {rows:,} rows")
        p = subprocess.run([str(exe), "--rows", str(rows), "--db", str(work / "ceiling.db"), *extra],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise BenchError(f"sqlite_ceiling failed: {p.stderr}")
        out[name] = json.loads(p.stdout)
        log(f"  {out[name]['rows_per_sec']:,.0f} rows/s")
    return out


# --------------------------------------------------------------------------- 2. ingest

TS_RE = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z"')


def write_ingest_templates(directory: Path, count: int) -> dict:
    """Request bodies for ingest.lua. Every timestamp becomes "@@T<ms offset>@@", which
    ingest.lua turns into a time just before the request is sent: live agents report
    events as they happen, so their times append at the right edge of the time indexes.
    (Replaying fixed times puts each request's 1,000 events on ~1,000 different pages of
    the events_time index: 3 us more per event in the writer, measured 2026-12-01.)"""
    directory.mkdir(parents=True, exist_ok=True)
    gen = gen_dataset.Generator(seed=7)
    base_ms = 1_000_000_000_000  # any whole second; only the offsets from it are kept

    def offset(m: re.Match) -> str:
        t = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
        ms = round(t.timestamp() * 1000)
        return f'"@@T{ms - base_ms}@@"'

    sizes = []
    for i in range(count):
        body, n, _ = gen.request_body("@@R@@", base_ms, sessions=SESSIONS_PER_REQUEST)
        assert n == EVENTS_PER_REQUEST
        sizes.append(len(body))  # as sent: ingest.lua writes times back in this format
        (directory / f"body-{i}.json").write_text(TS_RE.sub(offset, body))
    return {"templates": count, "mean_body_bytes": round(statistics.mean(sizes)),
            "mean_event_bytes": round(statistics.mean(sizes) / EVENTS_PER_REQUEST)}


def run_wrk(server: Server, templates: Path, count: int, tag: str, seconds: int,
            connections: int, threads: int) -> tuple[dict, str]:
    url = f"http://{server.host}:{server.port}"
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "--timeout", "30s",
           "-H", f"Authorization: Bearer {API_KEY}", "-H", "Content-Type: application/json",
           "-s", str(BENCH_DIR / "ingest.lua"), url, "--", str(templates), str(count), tag]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    text = p.stdout + p.stderr
    m = re.search(r"^AGENTLOG_WRK_RESULT (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise BenchError(f"wrk failed (exit {p.returncode}):\n{text[-2000:]}")
    return json.loads(m.group(1)), text


def ingest_benchmark(binary: Path, work: Path, seconds: int, connections: int, threads: int,
                     warmup: int, problems: list[str]) -> dict:
    data = work / "ingest-data"
    templates = work / "ingest-bodies"
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(templates, ignore_errors=True)
    tinfo = write_ingest_templates(templates, 8)
    run_tag = "b" + format(int(time.time()), "x")
    server = Server(binary, data).start()
    log(f"ingest: server pid {server.pid} on {server.host}:{server.port}; "
        f"wrk -t{threads} -c{connections}, {warmup} s warm-up + {seconds} s")
    result: dict = {"connections": connections, "threads": threads, "duration_s": seconds,
                    "warmup_s": warmup, "events_per_request": EVENTS_PER_REQUEST, **tinfo}
    try:
        acked = 0
        if warmup > 0:
            w, _ = run_wrk(server, templates, 8, run_tag + "w", warmup, connections, threads)
            acked += w["accepted"]
            result["warmup"] = {"ok200": w["ok200"], "non200": w["non200"],
                                "accepted": w["accepted"]}
            if w["non200"] or w["errors"]["timeout"] or w["short_accept"]:
                problems.append(f"ingest warm-up: {w['non200']} non-200 responses "
                                f"({w['statuses']}), {w['errors']['timeout']} timeouts, "
                                f"{w['short_accept']} partial accepts; first: {w['first_error']}")
        rss = RssSampler(server.pid)
        cpu0, t0 = proc_cpu_seconds(server.pid), time.perf_counter()
        rss.start()
        r, text = run_wrk(server, templates, 8, run_tag + "m", seconds, connections, threads)
        rss.stop()
        cpu1, t1 = proc_cpu_seconds(server.pid), time.perf_counter()
        acked += r["accepted"]
        dur = r["duration_us"] / 1e6
        events_per_sec = r["accepted"] / dur if dur else 0.0
        lat = r["latency_us"]
        result.update({
            "requests": r["requests"], "ok200": r["ok200"], "non200": r["non200"],
            "non200_statuses": r["statuses"], "socket_errors": r["errors"],
            "accepted": r["accepted"], "rejected": r["rejected"],
            "requests_per_sec": r["ok200"] / dur if dur else 0.0,
            "events_per_sec": events_per_sec,
            "latency_ms": {k: lat[k] / 1000 for k in ("min", "mean", "p50", "p90", "p99", "p999", "max")},
            "rss_max_mb": rss.max_kb / 1024, "rss_samples": rss.samples,
            "rss_hwm_mb": (proc_status_kb(server.pid, "VmHWM") or 0) / 1024,
            "server_cpu_percent": (100 * (cpu1 - cpu0) / (t1 - t0)) if cpu0 is not None and cpu1 is not None else None,
            "wrk_output": text,
        })
        if r["non200"] or r["short_accept"] or any(r["errors"].values()):
            problems.append(
                f"ingest: {r['non200']} non-200 responses ({r['statuses'] or 'none'}), "
                f"{r['short_accept']} 200s accepting < 1000, socket errors {r['errors']}; "
                f"first: {r['first_error']}")
        # Every acknowledged event must be stored: /metrics and the session rollups.
        metrics = fetch_metrics(server)
        m_total = metric_value(metrics, "agentlog_ingest_events_total")
        log("ingest: counting stored events through GET /v1/sessions")
        t_count = time.perf_counter()
        stored, nsessions = count_stored_events(server, problems)
        result["verify"] = {
            "acked_events": acked,
            "metrics_ingest_events_total": m_total,
            "stored_events_by_sessions": stored,
            "sessions": nsessions,
            "count_seconds": round(time.perf_counter() - t_count, 2),
        }
        # wrk stops at the deadline without reading the answers in flight: up to
        # one request per connection per wrk run may be committed but not counted
        # as acknowledged. Fewer stored than acknowledged means lost events.
        runs = 2 if warmup > 0 else 1
        slack = runs * connections * EVENTS_PER_REQUEST
        result["verify"]["unacked_in_flight_max"] = slack

        def check(what: str, value: float | None) -> bool:
            if value is None:
                return False
            v = int(value)
            if v < acked:
                problems.append(f"ingest: {what} = {v} but {acked} events were acknowledged "
                                f"({acked - v} acknowledged events missing)")
                return False
            if v > acked + slack:
                problems.append(f"ingest: {what} = {v}, more than the {acked} acknowledged events "
                                f"plus {slack} possibly in flight at the deadline")
                return False
            return True

        if m_total is None:
            problems.append("/metrics has no agentlog_ingest_events_total")
        ok_metric = check("agentlog_ingest_events_total", m_total)
        ok_stored = check("sum of session event_count", stored)
        result["verified"] = ok_metric and ok_stored
    finally:
        code, secs = server.stop()
        result["shutdown"] = {"exit_code": code, "seconds": round(secs, 3)}
        if code != 0:
            problems.append(f"ingest: server exit code after SIGTERM was {code} "
                            f"(None = killed after 60 s); stderr tail: {server.stderr_tail[-5:]}")
        warn = {k: v for k, v in server.log_counts.items() if k.lower() in ("warn", "warning", "error", "critical", "err")}
        if warn:
            result["server_log_levels"] = dict(server.log_counts)
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(templates, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- 2b. OTLP ingest

def otlp_tool(binary: Path, problems: list[str]) -> Path | None:
    """agentlog_otlp_bench next to the server binary, built on demand in its build dir."""
    tool = binary.parent / "agentlog_otlp_bench"
    if not tool.exists() and (binary.parent / "build.ninja").exists():
        log("building agentlog_otlp_bench")
        p = subprocess.run(["cmake", "--build", str(binary.parent), "-j", "2", "--target", "agentlog_otlp_bench"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            problems.append("otlp: cannot build agentlog_otlp_bench:\n" + (p.stdout + p.stderr)[-1500:])
            return None
    if not tool.exists():
        problems.append(f"otlp: {tool} not found; OTLP benchmarks skipped")
        return None
    return tool


def otlp_ingest_benchmark(binary: Path, work: Path, seconds: int, connections: int, threads: int,
                          warmup: int, problems: list[str], random_ids: bool = False) -> dict | None:
    """POST /v1/traces, protobuf, 500 GenAI spans per request, answered after commit. With
    `random_ids`, each trace's id (and session id) sorts at random, as OpenTelemetry's random
    trace ids do; otherwise a request's ids sort together, as ids that grow with time do."""
    tool = otlp_tool(binary, problems)
    if tool is None:
        return None
    label = "otlp (random trace ids)" if random_ids else "otlp"
    result: dict = {"connections": connections, "threads": threads, "duration_s": seconds, "warmup_s": warmup,
                    "spans_per_request": OTLP_SPANS_PER_REQUEST,
                    "trace_ids": "random" if random_ids else "grouped per request"}
    if not random_ids:
        # Decode cost per span, single thread: hand-written reader vs libprotobuf vs OTLP/JSON.
        p = subprocess.run([str(tool), "--spans", str(OTLP_SPANS_PER_REQUEST), "--json"], capture_output=True,
                           text=True)
        if p.returncode == 0:
            result["decode"] = json.loads(p.stdout.strip().splitlines()[-1])
        else:
            problems.append(f"otlp: decode micro-benchmark failed: {p.stderr[-500:]}")
    data = work / "otlp-data"
    bodies = work / "otlp-bodies"
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(bodies, ignore_errors=True)
    p = subprocess.run([str(tool), "--write-bodies", str(bodies), "--count", "8", "--spans",
                        str(OTLP_SPANS_PER_REQUEST), "--marker", OTLP_MARKER]
                       + (["--random-ids"] if random_ids else []), capture_output=True, text=True)
    if p.returncode != 0:
        problems.append(f"{label}: cannot write request bodies: {p.stderr[-500:]}")
        return None
    result.update(json.loads(p.stdout.strip().splitlines()[-1]))
    url_tag = int(time.time()) % 200
    server = Server(binary, data).start()
    log(f"{label} ingest: server pid {server.pid}; wrk -t{threads} -c{connections}, {warmup} s warm-up + {seconds} s")

    def wrk(tag: int, secs: int) -> dict:
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{secs}s", "--latency", "--timeout", "30s",
               "-H", f"Authorization: Bearer {API_KEY}", "-H", "Content-Type: application/x-protobuf",
               "-s", str(BENCH_DIR / "otlp.lua"), f"http://{server.host}:{server.port}", "--",
               str(bodies), "8", f"{tag:02x}", str(OTLP_SPANS_PER_REQUEST)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 120)
        m = re.search(r"^AGENTLOG_WRK_RESULT (\{.*\})$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise BenchError(f"wrk (otlp) failed (exit {p.returncode}):\n{(p.stdout + p.stderr)[-2000:]}")
        return json.loads(m.group(1))

    try:
        acked = 0
        if warmup > 0:
            w = wrk(url_tag, warmup)
            acked += w["accepted"]
        cpu0, t0 = proc_cpu_seconds(server.pid), time.perf_counter()
        rss = RssSampler(server.pid)
        rss.start()
        r = wrk(url_tag + 1, seconds)
        rss.stop()
        cpu1, t1 = proc_cpu_seconds(server.pid), time.perf_counter()
        acked += r["accepted"]
        dur = r["duration_us"] / 1e6
        lat = r["latency_us"]
        result.update({
            "requests": r["requests"], "ok200": r["ok200"], "non200": r["non200"],
            "non200_statuses": r["statuses"], "partial_success": r["short_accept"], "socket_errors": r["errors"],
            "spans_accepted": r["accepted"],
            "spans_per_sec": r["accepted"] / dur if dur else 0.0,
            "latency_ms": {k: lat[k] / 1000 for k in ("min", "mean", "p50", "p90", "p99", "p999", "max")},
            "rss_max_mb": rss.max_kb / 1024,
            "server_cpu_percent": (100 * (cpu1 - cpu0) / (t1 - t0)) if cpu0 is not None and cpu1 is not None else None,
        })
        if r["non200"] or r["short_accept"] or any(r["errors"].values()):
            problems.append(f"{label}: {r['non200']} non-200 ({r['statuses'] or 'none'}), {r['short_accept']} partial "
                            f"successes, socket errors {r['errors']}; first: {r['first_error']}")
        m_total = metric_value(fetch_metrics(server), "agentlog_ingest_events_total")
        slack = (2 if warmup > 0 else 1) * connections * OTLP_SPANS_PER_REQUEST
        result["verify"] = {"acked_spans": acked, "metrics_ingest_events_total": m_total,
                            "unacked_in_flight_max": slack}
        ok = m_total is not None and acked <= m_total <= acked + slack
        if not ok:
            problems.append(f"{label}: agentlog_ingest_events_total = {m_total} but {acked} spans were acknowledged")
        result["verified"] = ok
    finally:
        code, secs = server.stop()
        result["shutdown"] = {"exit_code": code, "seconds": round(secs, 3)}
        if code != 0:
            problems.append(f"{label}: server exit code after SIGTERM was {code}")
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(bodies, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- 3. data set

def dataset_spec(quick: bool) -> dict:
    sessions = 10_000 if quick else 100_000
    return {"generator_version": gen_dataset.GENERATOR_VERSION,
            "sessions": sessions, "events": sessions * 10 + 1000,
            "name": "dataset-100k" if quick else "dataset-1m"}


def build_dataset(binary: Path, ddir: Path, spec: dict, connections: int,
                  problems: list[str]) -> dict:
    shutil.rmtree(ddir, ignore_errors=True)
    data = ddir / "data"
    gen = gen_dataset.Generator(seed=1)
    now_ms = int(time.time() * 1000)
    span_ms = 30 * 24 * 3600 * 1000  # sessions over the last 30 days
    nreq = spec["sessions"] // SESSIONS_PER_REQUEST
    big_id = "bench-big-session"
    marker = "zqmark" + format(now_ms, "x")
    log(f"data set: generating {spec['events']:,} events / {spec['sessions']:,} sessions")
    t0 = time.perf_counter()
    bodies: list[tuple[bytes, int]] = []
    for i in range(nreq - 1):
        body, n, s = gen.request_body(f"d{i:05d}", now_ms - span_ms, sessions=SESSIONS_PER_REQUEST,
                                      span_ms=span_ms - 3_600_000, with_sessions=True)
        bodies.append((body.encode(), n + s))
        if i == nreq // 2:
            big, nb = gen.big_session_body(big_id, now_ms - span_ms // 2)
            bodies.append((big.encode(), nb + 1))
    # The last request carries a word found nowhere else; it is sent alone once
    # every other request is acknowledged, to time how soon search sees it.
    tail_body, n, s = gen.request_body("dlast", now_ms - 3_000_000, sessions=SESSIONS_PER_REQUEST,
                                       span_ms=3_000_000, with_sessions=True, extra_word=marker)
    gen_seconds = time.perf_counter() - t0
    total_bytes = sum(len(b) for b, _ in bodies) + len(tail_body)
    log(f"data set: generated in {gen_seconds:.1f} s ({total_bytes / 1e6:.0f} MB); "
        f"ingesting over {connections} connections")

    server = Server(binary, data).start()
    info: dict = {"generated_seconds": round(gen_seconds, 1), "requests": len(bodies) + 1,
                  "body_mb": round(total_bytes / 1e6, 1)}
    try:
        lock = threading.Lock()
        next_index = [0]
        stats = {"accepted": 0, "expected": 0, "retries_429": 0, "errors": []}
        latencies: list[float] = []

        def sender() -> None:
            c = Client(server.host, server.port)
            try:
                while True:
                    with lock:
                        i = next_index[0]
                        next_index[0] += 1
                    if i >= len(bodies) or stats["errors"]:
                        return
                    body, expected = bodies[i]
                    while True:
                        t = time.perf_counter()
                        status, headers, data = c.request("POST", "/v1/ingest", body)
                        el = time.perf_counter() - t
                        if status == 429:  # back-pressure: honour Retry-After like an SDK
                            with lock:
                                stats["retries_429"] += 1
                            time.sleep(min(float(headers.get("retry-after", "1") or 1), 5))
                            continue
                        break
                    with lock:
                        latencies.append(el)
                        stats["expected"] += expected
                        if status != 200:
                            stats["errors"].append(f"request {i}: {status} {data[:300]!r}")
                            return
                        doc = json.loads(data)
                        stats["accepted"] += int(doc.get("accepted", 0))
                        if doc.get("rejected"):
                            stats["errors"].append(f"request {i}: rejected {doc.get('rejected')}: "
                                                   f"{str(doc.get('errors'))[:300]}")
            finally:
                c.close()

        rss = RssSampler(server.pid)
        rss.start()
        t0 = time.perf_counter()
        workers = [threading.Thread(target=sender) for _ in range(connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
        rss.stop()
        if stats["errors"]:
            raise BenchError("data set ingest failed: " + "; ".join(stats["errors"][:3]))
        n_events = spec["events"] - EVENTS_PER_REQUEST  # all but the tail request
        info.update({
            "ingest_seconds": round(wall, 2),
            "ingest_events_per_sec": n_events / wall,
            "ingest_items_per_sec": stats["accepted"] / wall,
            "ingest_latency_ms": {"p50": pct(latencies, 50) * 1000, "p99": pct(latencies, 99) * 1000},
            "retries_429": stats["retries_429"],
            "rss_max_mb": rss.max_kb / 1024,
        })
        # The tail request, then poll search for its word.
        c = Client(server.host, server.port)
        status, _, data = c.request("POST", "/v1/ingest", tail_body.encode())
        t_ack = time.perf_counter()
        if status != 200:
            raise BenchError(f"data set tail request answered {status}: {data[:300]!r}")
        stats["accepted"] += json.loads(data).get("accepted", 0)
        lag = None
        while time.perf_counter() - t_ack < 30:
            st, doc = c.get_json(f"/v1/events?q={marker}&limit=5")
            if st == 200 and isinstance(doc, dict) and doc.get("data"):
                lag = (time.perf_counter() - t_ack) * 1000
                break
            if st != 200:
                problems.append(f"search poll GET /v1/events?q={marker} answered {st}: {str(doc)[:200]}")
                break
            time.sleep(0.005)
        c.close()
        info["search_lag_ms"] = lag
        if lag is None:
            problems.append(f"search never returned the last batch's word '{marker}' within 30 s")
        expected_items = spec["events"] + spec["sessions"] + 1
        info["accepted_items"] = stats["accepted"]
        if stats["accepted"] != expected_items:
            problems.append(f"data set: accepted {stats['accepted']} items, sent {expected_items}")
        metrics = fetch_metrics(server)
        info["metrics_ingest_events_total"] = metric_value(metrics, "agentlog_ingest_events_total")
        info["database_size_mb"] = (metric_value(metrics, "agentlog_database_size_bytes") or 0) / 1e6
    except BaseException:
        server.stop()
        shutil.rmtree(ddir, ignore_errors=True)
        raise
    code, secs = server.stop()
    info["shutdown"] = {"exit_code": code, "seconds": round(secs, 3)}
    if code != 0:
        problems.append(f"data set: server exit code after SIGTERM was {code}")
    meta = {**spec, "big_session_id": big_id, "marker_word": marker,
            "rare_word": gen_dataset.RARE_WORD, "medium_word": gen_dataset.MEDIUM_WORD,
            "common_word": gen_dataset.COMMON_WORD, "agents": gen_dataset.AGENTS,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "build": info}
    (ddir / "bench-dataset.json").write_text(json.dumps(meta, indent=2))
    return meta


def load_dataset(ddir: Path, spec: dict) -> dict | None:
    try:
        meta = json.loads((ddir / "bench-dataset.json").read_text())
    except (OSError, ValueError):
        return None
    if any(meta.get(k) != spec[k] for k in ("generator_version", "sessions", "events")):
        return None
    if not (ddir / "data").is_dir():
        return None
    return meta


def check_query(name: str, doc: object, meta: dict) -> str | None:
    """A sanity check of the first answer of each query; returns a problem or None."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        return f"{name}: answer has no data array: {str(doc)[:200]}"
    data = doc["data"]
    if name == "session_list" and len(data) != 50:
        return f"session_list: expected 50 sessions, got {len(data)}"
    if name == "timeline_1000":
        if len(data) != 1000:
            return f"timeline_1000: expected 1000 events, got {len(data)}"
        times = [e.get("started_at") for e in data]
        if times != sorted(times):
            return "timeline_1000: events are not in started_at order"
    if name.startswith("search_") and not data:
        return f"{name}: no events found"
    if name == "search_common" and len(data) != 50:
        return f"search_common: expected a full page of 50, got {len(data)}"
    if name == "agents":
        agents = {a.get("agent") for a in data}
        missing = set(meta["agents"]) - agents
        if missing:
            return f"agents: missing {sorted(missing)}"
    return None


def query_benchmark(server: Server, meta: dict, n: int, warmup: int, problems: list[str]) -> dict:
    big = urllib.parse.quote(meta["big_session_id"], safe="")
    queries = {
        "session_list": "/v1/sessions?limit=50",
        "timeline_1000": f"/v1/sessions/{big}/events?limit=1000",
        "search_rare": f"/v1/events?q={meta['rare_word']}&limit=50",
        "search_medium": f"/v1/events?q={meta['medium_word']}&limit=50",
        "search_common": f"/v1/events?q={meta['common_word']}&limit=50",
        "agents": "/v1/agents",
    }
    c = Client(server.host, server.port)
    out = {}
    try:
        for name, path in queries.items():
            status, doc = c.get_json(path)
            result = {"path": path, "requests": n, "target_ms": QUERY_TARGETS_MS[name]}
            if status != 200:
                problems.append(f"{name}: GET {path} answered {status}: {str(doc)[:300]}")
                result["status"] = status
                out[name] = result
                continue
            problem = check_query(name, doc, meta)
            if problem:
                problems.append(problem)
            result["rows"] = len(doc["data"]) if isinstance(doc, dict) and isinstance(doc.get("data"), list) else None
            for _ in range(warmup):
                c.request("GET", path)
            times, bad, size = [], 0, 0
            for _ in range(n):
                t = time.perf_counter()
                status, _, data = c.request("GET", path)
                times.append((time.perf_counter() - t) * 1000)
                size = len(data)
                bad += status != 200
            if bad:
                problems.append(f"{name}: {bad} of {n} answers were not 200")
            result.update({"p50_ms": pct(times, 50), "p90_ms": pct(times, 90),
                           "p99_ms": pct(times, 99), "mean_ms": statistics.mean(times),
                           "max_ms": max(times), "response_bytes": size})
            result["ok"] = result["p99_ms"] <= result["target_ms"]
            log(f"query {name}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
                f"({result['rows']} rows, {size / 1024:.0f} KiB)")
            out[name] = result
    finally:
        c.close()
    return out


def startup_benchmark(binary: Path, data: Path, runs: int, problems: list[str]) -> dict:
    """Time from spawn to the first /readyz 200 (polled every 2 ms) on an existing database."""
    times, shutdowns = [], []
    for i in range(runs):
        port = free_port()
        server = Server(binary, data, listen=f"127.0.0.1:{port}")
        server.host, server.port = "127.0.0.1", port
        server.spawn()
        t0 = server.spawned_at
        ready = None
        while time.perf_counter() - t0 < 60:
            if server.proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/readyz")
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status == 200:
                    ready = (time.perf_counter() - t0) * 1000
                    break
            except OSError:
                pass
            time.sleep(0.002)
        code, secs = server.stop()
        shutdowns.append(secs * 1000)
        if ready is None:
            problems.append(f"start-up run {i + 1}: no /readyz 200 within 60 s "
                            f"(exit {server.proc.returncode}); {server.stderr_tail[-3:]}")
            continue
        if code != 0:
            problems.append(f"start-up run {i + 1}: exit code after SIGTERM {code}")
        times.append(ready)
        log(f"start-up run {i + 1}: {ready:.1f} ms to ready")
    return {"runs_ms": [round(t, 2) for t in times],
            "median_ms": statistics.median(times) if times else None,
            "shutdown_ms": [round(s, 1) for s in shutdowns]}


# --------------------------------------------------------------------------- report

def fmt_num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def build_table(res: dict) -> list[dict]:
    rows: list[dict] = []

    def add(metric: str, value: str, target: str = "", ok: bool | None = None) -> None:
        rows.append({"metric": metric, "value": value, "target": target,
                     "ok": "" if ok is None else ("yes" if ok else "NO")})

    ceil = res.get("ceiling", {})
    c_def = ceil.get("default", {}).get("rows_per_sec")
    c_tuned = ceil.get("tuned", {}).get("rows_per_sec")
    if c_def:
        add("sqlite ceiling, rows/s (C API, WAL, NORMAL, 10k/txn)", fmt_num(c_def))
    if c_tuned:
        add("sqlite ceiling, rows/s (server settings: 16 KiB pages, 64 MiB cache, 64 MiB WAL)",
            fmt_num(c_tuned))
    ing = res.get("ingest")
    if ing:
        eps = ing["events_per_sec"]
        add("ingest events/s (1000-event requests, 4 conns, wrk)", fmt_num(eps),
            f">= {TARGET_INGEST:,} (stretch {STRETCH_INGEST:,})", eps >= TARGET_INGEST)
        if c_tuned:
            ratio = eps / c_tuned
            add("ingest / sqlite ceiling (server settings)", f"{ratio:.2f}", f">= {TARGET_RATIO}",
                ratio >= TARGET_RATIO)
        if c_def:
            add("ingest / sqlite ceiling (defaults)", f"{eps / c_def:.2f}", "")
        lat = ing["latency_ms"]
        add("ingest request latency p50 / p99 (ms)", f"{lat['p50']:.1f} / {lat['p99']:.1f}",
            "p99 reported")
        add("ingest non-200 responses", str(ing["non200"]), "0", ing["non200"] == 0)
        v = ing["verify"]
        add("ingest events stored / acknowledged",
            f"{v['stored_events_by_sessions']} / {v['acked_events']}",
            f"stored - acked in [0, {v['unacked_in_flight_max']}]", bool(ing.get("verified")))
        add("server RSS max during ingest (MB)", fmt_num(ing["rss_max_mb"], 1), f"<= {TARGET_RSS_MB}",
            ing["rss_max_mb"] <= TARGET_RSS_MB)
        if ing.get("server_cpu_percent") is not None:
            add("server CPU during ingest (% of one core)", fmt_num(ing["server_cpu_percent"]))
    otlp = res.get("otlp")
    if otlp and "spans_per_sec" in otlp:
        sps = otlp["spans_per_sec"]
        add(f"OTLP protobuf ingest spans/s ({otlp['spans_per_request']}-span GenAI requests, "
            f"{otlp['connections']} conns, durable ack, trace ids grouped per request)", fmt_num(sps),
            f">= {TARGET_OTLP_SPANS:,}", sps >= TARGET_OTLP_SPANS)
        rnd = res.get("otlp_random_ids") or {}
        if "spans_per_sec" in rnd:
            add("OTLP ingest spans/s, same but random trace ids (as OpenTelemetry's); p99 ms",
                f"{fmt_num(rnd['spans_per_sec'])}; {rnd['latency_ms']['p99']:.0f}", f">= {TARGET_OTLP_SPANS:,}",
                rnd["spans_per_sec"] >= TARGET_OTLP_SPANS)
        if "ratio_to_native_json_ingest" in otlp:
            add(f"OTLP spans/s / native JSON ingest events/s (same run; {otlp['connections']} vs "
                f"{(res.get('ingest') or {}).get('connections')} conns)", f"{otlp['ratio_to_native_json_ingest']:.2f}")
        lat = otlp["latency_ms"]
        add("OTLP request latency p50 / p99 (ms)", f"{lat['p50']:.1f} / {lat['p99']:.1f}")
        add("OTLP non-200 responses / partial successes", f"{otlp['non200']} / {otlp['partial_success']}", "0 / 0",
            otlp["non200"] == 0 and otlp["partial_success"] == 0)
        v = otlp.get("verify", {})
        add("OTLP spans stored / acknowledged", f"{v.get('metrics_ingest_events_total')} / {v.get('acked_spans')}",
            "stored >= acked", bool(otlp.get("verified")))
    if otlp and "decode" in otlp:
        u = otlp["decode"]["us_per_span"]
        add("OTLP CPU per span: decode+map protobuf / OTLP-JSON (us)",
            f"{u['protobuf_total']:.2f} / {u['json_total']:.2f}")
        add("OTLP protobuf read per span: hand-written / libprotobuf (us)",
            f"{u['protobuf_handwritten_read']:.3f} / {u['protobuf_libprotobuf_parse_and_adapt']:.3f}")
    ds = res.get("dataset")
    if ds:
        b = ds.get("build", {})
        label = f"{ds['events']:,} events / {ds['sessions']:,} sessions"
        if res.get("dataset_built_this_run"):
            add(f"data set ingest events/s (python, {res['options']['dataset_connections']} conns)",
                fmt_num(b.get("ingest_events_per_sec")))
            if c_tuned and b.get("ingest_events_per_sec"):
                add("data set ingest / sqlite ceiling", f"{b['ingest_events_per_sec'] / c_tuned:.2f}")
            lag = b.get("search_lag_ms")
            add("search current after ack (ms)", fmt_num(lag, 1), f"<= {TARGET_SEARCH_LAG_MS}",
                lag is not None and lag <= TARGET_SEARCH_LAG_MS)
        else:
            add("data set", f"cached ({ds.get('created_at', '?')})")
        for name, q in res.get("queries", {}).items():
            if "p50_ms" not in q:
                add(f"{name} p50 / p99 (ms)", f"HTTP {q.get('status')}", f"<= {q['target_ms']}", False)
                continue
            add(f"{name} p50 / p99 (ms) [{label}]", f"{q['p50_ms']:.2f} / {q['p99_ms']:.2f}",
                f"p99 <= {q['target_ms']}", q["ok"])
    st = res.get("startup")
    if st and st.get("median_ms") is not None:
        add(f"start-up to ready, median of {len(st['runs_ms'])} (ms)", fmt_num(st["median_ms"], 1),
            f"<= {TARGET_STARTUP_MS}", st["median_ms"] <= TARGET_STARTUP_MS)
    return rows


def print_table(rows: list[dict]) -> None:
    headers = ("metric", "value", "target", "ok?")
    data = [(r["metric"], r["value"], r["target"], r["ok"]) for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) for i, h in enumerate(headers)] if data else [len(h) for h in headers]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for d in data:
        print(" | ".join(v.ljust(w) for v, w in zip(d, widths)))


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/agentlog", help="server binary (default build/agentlog)")
    ap.add_argument("--duration", type=int, default=None,
                    help="seconds of measured ingest load (default 20; 5 with --quick)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="seconds of ingest warm-up before measuring (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 100k-event data set, shorter ingest, smaller ceiling")
    ap.add_argument("--skip-queries", action="store_true", help="only the ceiling and ingest")
    ap.add_argument("--skip-ingest", action="store_true", help="skip the wrk ingest benchmark")
    ap.add_argument("--skip-otlp", action="store_true", help="skip the OTLP (POST /v1/traces) benchmarks")
    ap.add_argument("--fresh", action="store_true", help="regenerate the cached data set")
    ap.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    ap.add_argument("--otlp-connections", type=int, default=OTLP_CONNECTIONS,
                    help=f"wrk connections of the OTLP benchmark (default {OTLP_CONNECTIONS})")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--dataset-connections", type=int, default=4,
                    help="concurrent connections loading the data set (default 4)")
    ap.add_argument("--ceiling-rows", type=int, default=None,
                    help="rows for the sqlite ceiling (default 1,000,000; 300,000 with --quick)")
    ap.add_argument("--requests", type=int, default=200, help="measured requests per query (default 200)")
    ap.add_argument("--startup-runs", type=int, default=5, help="start-up measurements (default 5)")
    ap.add_argument("--work", default=str(ROOT / "build" / "bench"),
                    help="working directory (default build/bench)")
    ap.add_argument("--results", default=str(BENCH_DIR / "results"), help="where to write JSON results")
    args = ap.parse_args()

    binary = Path(args.bin)
    if not binary.is_absolute():
        binary = (Path.cwd() / binary).resolve()
    if not binary.exists():
        print(f"bench: server binary {binary} not found (run `make build`)", file=sys.stderr)
        return 2
    for tool in ("wrk", "cc"):
        if not shutil.which(tool):
            print(f"bench: `{tool}` is required (scripts/install-deps.sh installs it)", file=sys.stderr)
            return 2
    duration = args.duration if args.duration is not None else (5 if args.quick else 20)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    ceiling_rows = args.ceiling_rows or (300_000 if args.quick else 1_000_000)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    results_dir = Path(args.results).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)

    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.perf_counter()
    problems: list[str] = []
    res: dict = {
        "schema": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": machine_info(binary),
        "options": {"duration_s": duration, "warmup_s": warmup, "connections": args.connections,
                    "threads": args.threads, "dataset_connections": args.dataset_connections,
                    "ceiling_rows": ceiling_rows, "query_requests": args.requests,
                    "startup_runs": args.startup_runs, "quick": args.quick},
        "targets": {"ingest_events_per_sec": TARGET_INGEST, "ingest_stretch": STRETCH_INGEST,
                    "ratio_to_ceiling": TARGET_RATIO, "rss_mb": TARGET_RSS_MB,
                    "startup_ms": TARGET_STARTUP_MS, "search_lag_ms": TARGET_SEARCH_LAG_MS,
                    "query_p99_ms": QUERY_TARGETS_MS},
    }
    status = 0
    try:
        res["ceiling"] = sqlite_ceiling(work, ceiling_rows, problems)
        if not args.skip_ingest:
            res["ingest"] = ingest_benchmark(binary, work, duration, args.connections,
                                             args.threads, warmup, problems)
            log(f"ingest: {res['ingest']['events_per_sec']:,.0f} events/s, "
                f"p99 {res['ingest']['latency_ms']['p99']:.1f} ms, "
                f"RSS max {res['ingest']['rss_max_mb']:.0f} MB")
        if not args.skip_otlp:
            otlp = otlp_ingest_benchmark(binary, work, duration, args.otlp_connections, args.threads, warmup,
                                         problems)
            if otlp:
                res["otlp"] = otlp
                native = (res.get("ingest") or {}).get("events_per_sec")
                if native and otlp.get("spans_per_sec"):
                    otlp["ratio_to_native_json_ingest"] = otlp["spans_per_sec"] / native
                log(f"otlp ingest: {otlp.get('spans_per_sec', 0):,.0f} spans/s"
                    + (f" ({otlp['ratio_to_native_json_ingest']:.2f}x native JSON ingest)"
                       if "ratio_to_native_json_ingest" in otlp else ""))
            rnd = otlp_ingest_benchmark(binary, work, duration, args.otlp_connections, args.threads, warmup,
                                        problems, random_ids=True)
            if rnd:
                res["otlp_random_ids"] = rnd
                log(f"otlp ingest, random trace ids: {rnd.get('spans_per_sec', 0):,.0f} spans/s")
        if not args.skip_queries:
            spec = dataset_spec(args.quick)
            ddir = work / spec["name"]
            meta = None if args.fresh else load_dataset(ddir, spec)
            res["dataset_built_this_run"] = meta is None
            if meta is None:
                meta = build_dataset(binary, ddir, spec, args.dataset_connections, problems)
                b = meta["build"]
                log(f"data set: {b['ingest_events_per_sec']:,.0f} events/s over HTTP; "
                    f"search current {b.get('search_lag_ms') or float('nan'):.0f} ms after ack")
            else:
                log(f"data set: using cached {ddir} (created {meta.get('created_at')}); "
                    "--fresh rebuilds it")
            res["dataset"] = meta
            try:
                server = Server(binary, ddir / "data").start()
            except BenchError:
                if res["dataset_built_this_run"]:
                    raise
                log("the server did not start on the cached data set; rebuilding it")
                meta = build_dataset(binary, ddir, spec, args.dataset_connections, problems)
                res["dataset"], res["dataset_built_this_run"] = meta, True
                server = Server(binary, ddir / "data").start()
            try:
                res["queries"] = query_benchmark(server, meta, args.requests, 20, problems)
            finally:
                code, _ = server.stop()
                if code != 0:
                    problems.append(f"queries: server exit code after SIGTERM was {code}")
            res["startup"] = startup_benchmark(binary, ddir / "data", args.startup_runs, problems)
    except BenchError as e:
        problems.append(f"benchmark aborted: {e}")
        log(f"ABORTED: {e}")
        status = 2
    except KeyboardInterrupt:
        problems.append("interrupted")
        status = 2

    res["problems"] = problems
    res["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    res["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    res["table"] = build_table(res)

    print()
    print(f"AgentLog benchmarks — {res['started_at']} — {res['machine']['cpu_model']}, "
          f"{res['machine']['nproc']} cores — commit {(res['machine']['git_commit'] or 'none')[:12]}"
          f"{' (dirty)' if res['machine'].get('git_dirty') else ''} — {res['mode']} run, "
          f"{res['elapsed_s']:.0f} s")
    print()
    print_table(res["table"])
    if problems:
        print()
        print("Problems:")
        for p in problems:
            print(f"  - {p}")
        status = status or 1

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(res, indent=2, default=str)
    (results_dir / f"{stamp}.json").write_text(text)
    (results_dir / "latest.json").write_text(text)
    print()
    print(f"results: {results_dir / (stamp + '.json')} (and latest.json)")
    return status


if __name__ == "__main__":
    sys.exit(main())
