"""OTLP/gRPC vs OTLP/HTTP ingest throughput, same bodies, same server, same client.

Run with an interpreter that has grpcio (the e2e venv does: build-e2e-venv/otel-grpc-*/bin/python):

  build/agentlog_otlp_bench --write-bodies /tmp/otlp-bodies --count 8 --spans 500 --marker '~@OTLP@~'
  AGENTLOG_API_KEY=al_... build/agentlog serve --data /tmp/d --listen 127.0.0.1:7654 \\
      --otlp-grpc-listen 127.0.0.1:4317 &
  python bench/otlp_grpc.py --bodies /tmp/otlp-bodies --key al_... \\
      --http 127.0.0.1:7654 --grpc 127.0.0.1:4317

Each request is one of the bodies (500 GenAI spans, protobuf) with its 8-byte marker replaced
by 8 hex digits unique to the request, so every request carries new spans, and its time
placeholders by times ending about now (as bench/otlp.lua does for wrk). `--connections` clients keep one request in flight each; a call counts once it
is answered OK (after the commit). The transports alternate in rounds so that a noisy
neighbour hurts both alike; prints spans/s per round and the median, one JSON line last.
Numbers only: it never fails on a threshold.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import statistics
import struct
import threading
import time
from pathlib import Path

import grpc

MARKER = b"~@OTLP@~"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


# A time placeholder: "~@T" and the time's offset in microseconds (5 bytes, little-endian),
# in place of a fixed64 of nanoseconds (see genai_workload in server/tests/testing/otlp.h).
PIECE = re.compile(rb"~@OTLP@~|~@T.{5}", re.DOTALL)


def load(bodies_dir: Path) -> list[tuple[list[bytes | int | None], int]]:
    """Each template as its pieces (bytes, None for the marker, int for a time offset in
    microseconds) and its largest time offset."""
    templates = []
    for path in sorted(bodies_dir.glob("body-*.pb")):
        data, pieces, pos = path.read_bytes(), [], 0
        for m in PIECE.finditer(data):
            pieces.append(data[pos:m.start()])
            pieces.append(None if m.group() == MARKER else int.from_bytes(m.group()[3:], "little"))
            pos = m.end()
        pieces.append(data[pos:])
        templates.append((pieces, max((p for p in pieces if isinstance(p, int)), default=0)))
    return templates


class Round:
    def __init__(self, templates, key, connections, seconds, tag):
        self.templates, self.key, self.connections, self.seconds = templates, key, connections, seconds
        self.tag, self.counter = tag, itertools.count()
        self.lock = threading.Lock()
        self.ok = self.failed = 0
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}

    def body(self) -> bytes:
        n = next(self.counter)
        unique = f"{self.tag:02x}{n:06x}".encode()[:8]
        pieces, span = self.templates[n % len(self.templates)]
        # Times end about now, as a live exporter's (bench/otlp.lua does the same).
        base = int(time.time()) * 1_000_000 - span + (n % 1000) * 1000
        return b"".join(unique if p is None else struct.pack("<Q", (base + p) * 1000) if isinstance(p, int) else p
                        for p in pieces)

    def record(self, ok: bool, started: float, error: str = "") -> None:
        with self.lock:
            if ok:
                self.ok += 1
                self.latencies.append(time.perf_counter() - started)
            else:
                self.failed += 1
                self.errors[error] = self.errors.get(error, 0) + 1

    def run(self, worker, server_pid: int | None = None) -> dict:
        cpu0 = cpu_seconds(server_pid)
        stop = time.perf_counter() + self.seconds
        threads = [threading.Thread(target=worker, args=(self, stop)) for _ in range(self.connections)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(server_pid) - cpu0 if server_pid else None
        lat = sorted(self.latencies) or [0.0]
        return {"server_cpu_us_per_span": round(1e6 * cpu / (self.ok * SPANS), 2) if cpu and self.ok else None,
                "requests_ok": self.ok, "failed": self.failed, "errors": self.errors, "seconds": round(elapsed, 2),
                "spans_per_sec": round(self.ok * SPANS / elapsed),
                "latency_ms_p50": round(1000 * lat[len(lat) // 2], 1),
                "latency_ms_p99": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)}


def cpu_seconds(pid: int | None) -> float:
    """user + system CPU of a process so far: less noisy than wall-clock rates on a shared machine."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_worker(host: str):
    h, p = host.rsplit(":", 1)

    def work(r: Round, stop: float) -> None:
        conn = http.client.HTTPConnection(h, int(p), timeout=60)
        headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {r.key}"}
        while time.perf_counter() < stop:
            body, started = r.body(), time.perf_counter()
            try:
                conn.request("POST", "/v1/traces", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                r.record(resp.status == 200 and not data, started, f"http {resp.status}")
            except OSError as e:
                r.record(False, started, type(e).__name__)
                conn = http.client.HTTPConnection(h, int(p), timeout=60)
        conn.close()
    return work


def grpc_worker(target: str):
    def work(r: Round, stop: float) -> None:
        # One channel per client, as an exporter has: one HTTP/2 connection each.
        channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        export = channel.unary_unary(EXPORT)
        md = (("authorization", f"Bearer {r.key}"),)
        while time.perf_counter() < stop:
            body, started = r.body(), time.perf_counter()
            try:
                response = export(body, metadata=md, timeout=60)
                r.record(not response, started, "partial success")
            except grpc.RpcError as e:
                r.record(False, started, e.code().name)
        channel.close()
    return work


SPANS = 500


def main() -> None:
    global SPANS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bodies", type=Path, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--http", required=True, help="HOST:PORT of the HTTP listener")
    ap.add_argument("--grpc", required=True, help="HOST:PORT of the OTLP/gRPC listener")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=10, help="per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per transport (alternating)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--spans", type=int, default=500, help="spans per body (for spans/s)")
    ap.add_argument("--server-pid", type=int, help="also report the server's CPU time per span")
    args = ap.parse_args()
    SPANS = args.spans
    templates = load(args.bodies)
    workers = {"http": http_worker(args.http), "grpc": grpc_worker(args.grpc)}
    tag = int(time.time()) % 200
    for name, worker in workers.items():
        Round(templates, args.key, args.connections, args.warmup, tag).run(worker)
        tag += 1
    results: dict[str, list[dict]] = {"http": [], "grpc": []}
    for i in range(args.rounds):
        for name in (("http", "grpc") if i % 2 == 0 else ("grpc", "http")):
            res = Round(templates, args.key, args.connections, args.seconds, tag).run(workers[name], args.server_pid)
            tag += 1
            results[name].append(res)
            cpu = f"  server CPU {res['server_cpu_us_per_span']} us/span" if args.server_pid else ""
            print(f"round {i + 1} {name:4}: {res['spans_per_sec']:>8,} spans/s  p50 {res['latency_ms_p50']} ms  "
                  f"p99 {res['latency_ms_p99']} ms{cpu}  failed {res['failed']} {res['errors'] or ''}", flush=True)
    summary = {name: statistics.median(r["spans_per_sec"] for r in rs) for name, rs in results.items()}
    summary["grpc_over_http"] = round(summary["grpc"] / summary["http"], 3) if summary["http"] else None
    print(f"median: http {summary['http']:,.0f} spans/s, grpc {summary['grpc']:,.0f} spans/s, "
          f"ratio {summary['grpc_over_http']}")
    out = {"connections": args.connections, "seconds": args.seconds, "spans_per_request": SPANS,
           "median_spans_per_sec": summary, "rounds": results}
    if args.server_pid:
        out["median_server_cpu_us_per_span"] = {
            name: statistics.median(r["server_cpu_us_per_span"] for r in rs) for name, rs in results.items()}
        print(f"median server CPU per span: {out['median_server_cpu_us_per_span']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
