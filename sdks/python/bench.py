#!/usr/bin/env python3
"""Python SDK benchmark, with the real server up on 127.0.0.1:0.

Measures, in this order (the second on the data the first left):
  1. events/s delivered end to end, on a fresh database: N traced calls as fast as one
     thread can make them, then flush(); N / (time from the first call to the end of
     flush), checked against the session's event_count on the server.
  2. the cost of one @trace'd call around a no-op function, inside a session, while the
     worker sends: each call timed alone with perf_counter_ns (the timer's own cost is in
     the numbers; the untraced call measured the same way shows it); median, p90, p99 in
     microseconds. Target (DESIGN.md §10, issue 6): median <= 20 us. Also a traced call
     with no session around it (each call then also starts and ends a session).

Prints one JSON object on stdout. Exit status: 0 when everything ran and every event
arrived (a missed target is reported, not failed), 1 when events were lost or the server
misbehaved, 2 when the benchmark could not run.

    python3 sdks/python/bench.py [--bin build/agentlog] [--calls 200000] [--events 200000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
try:
    import agentlog
except ImportError:  # run from a checkout without installing: use the source tree
    sys.path.insert(0, str(HERE / "src"))
    import agentlog

TARGET_US = 20.0
LISTEN_RE = re.compile(r"listening on http://([0-9.]+):([0-9]+)")


class Server:
    def __init__(self, binary: str, data_dir: str) -> None:
        self.key = "al_" + secrets.token_hex(20)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
        env.update(AGENTLOG_API_KEY=self.key, AGENTLOG_LOG="info")  # "listening on" is an info line
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data", data_dir],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.port = 0
        found = threading.Event()
        self.log: List[str] = []

        def drain() -> None:
            assert self.proc.stderr is not None
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                self.log.append(line)
                m = LISTEN_RE.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(2))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + 20
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + " | ".join(self.log[-5:]))
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.03)
        raise RuntimeError("server never became ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def session(self, sid: str) -> Dict[str, Any]:
        req = urllib.request.Request(
            f"{self.url}/v1/sessions/{sid}", headers={"Authorization": f"Bearer {self.key}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            doc: Dict[str, Any] = json.loads(r.read())
            return doc

    def stop(self) -> Optional[int]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def time_calls(fn: Callable[[], Any], n: int) -> List[int]:
    """Nanoseconds of each of n calls, timed one by one."""
    clock = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = clock()
        fn()
        out[i] = clock() - t0
    return out


def summary_us(samples: List[int]) -> Dict[str, float]:
    s = sorted(samples)
    return {
        "median": round(statistics.median(s) / 1000, 3),
        "p90": round(s[int(len(s) * 0.90)] / 1000, 3),
        "p99": round(s[int(len(s) * 0.99)] / 1000, 3),
    }


def bench(server: Server, calls: int, events: int) -> Dict[str, Any]:
    # ---- 1. end to end, first: on a fresh database (the server slows as tables grow)
    client = agentlog.AgentLog(url=server.url, api_key=server.key, max_queue_size=events + 10)

    @client.trace
    def noop() -> None:
        return None

    gc.collect()
    t0 = time.perf_counter()
    with client.session(name="bench: end to end") as s:
        for _ in range(events):
            noop()
    t_produced = time.perf_counter()
    e2e_ok = client.flush(120)
    t_done = time.perf_counter()
    e2e_stats = client.stats()
    client.shutdown(10)
    stored = server.session(s.id)["event_count"]

    # ---- 2. per-call cost, the worker sending meanwhile (queue large enough to drop nothing)
    client = agentlog.AgentLog(url=server.url, api_key=server.key, max_queue_size=calls * 3)

    @client.trace
    def traced() -> None:
        return None

    def plain() -> None:
        return None

    for _ in range(2_000):  # warm up: worker thread, connection, caches
        traced()
    client.flush(30)
    baseline = time_calls(plain, calls)
    with client.session(name="bench: per call"):
        in_session = time_calls(traced, calls)
    roots = time_calls(traced, calls // 4)
    per_call_ok = client.flush(60)
    per_call_stats = client.stats()
    client.shutdown(10)

    med = summary_us(in_session)["median"]
    return {
        "python": platform.python_version(),
        "sdk": agentlog.__version__,
        "calls": calls,
        "untraced_call_us": summary_us(baseline),
        "traced_call_us": summary_us(in_session),
        "traced_call_overhead_us": round(med - summary_us(baseline)["median"], 3),
        "traced_root_call_us": summary_us(roots),
        "target_us": TARGET_US,
        "target_met": med <= TARGET_US,
        "per_call_delivered": per_call_ok and per_call_stats["dropped"] == 0,
        "end_to_end": {
            "events": events,
            "record_seconds": round(t_produced - t0, 3),
            "flush_seconds": round(t_done - t_produced, 3),
            "events_per_second": round(events / (t_done - t0)),
            "record_events_per_second": round(events / (t_produced - t0)),
            "stored_events": stored,
            "requests": e2e_stats["requests"],
            "retries": e2e_stats["retries"],
            "dropped": e2e_stats["dropped"],
            "failed": e2e_stats["failed"],
            "flushed": e2e_ok,
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = os.environ.get("AGENTLOG_BIN") or str(HERE.parents[1] / "build" / "agentlog")
    ap.add_argument("--bin", default=default_bin, help="the agentlog binary (default: %(default)s)")
    ap.add_argument("--calls", type=int, default=200_000, help="timed calls (default: %(default)s)")
    ap.add_argument("--events", type=int, default=200_000, help="end-to-end events (default: %(default)s)")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        print(f"bench.py: no agentlog binary at {args.bin}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="agentlog-sdk-bench-") as tmp:
        try:
            server = Server(args.bin, tmp)
        except (RuntimeError, OSError) as e:
            print(f"bench.py: {e}", file=sys.stderr)
            return 2
        try:
            result = bench(server, args.calls, args.events)
        except (OSError, urllib.error.URLError) as e:
            print(f"bench.py: server misbehaved: {e}", file=sys.stderr)
            server.stop()
            return 1
        rc = server.stop()
    result["server_exit_code"] = rc
    print(json.dumps(result, indent=2))
    e2e = result["end_to_end"]
    lost = e2e["stored_events"] != e2e["events"] or not e2e["flushed"] or not result["per_call_delivered"]
    return 1 if lost or rc != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
