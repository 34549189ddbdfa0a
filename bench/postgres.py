#!/usr/bin/python3
"""AgentLog on PostgreSQL: `make bench` runs it as
`scripts/services.sh run --durable -- bench/postgres.py --bin build/agentlog`.

Measures, on this machine, in one run, against the PostgreSQL in AGENTLOG_TEST_DATABASE_URL
(fsync on: --durable):
  1. the raw COPY ceiling: the rows the ingest run sends (its request templates, ids made
     unique) COPYed straight into the `events` table of a migrated database (same
     partitions and indexes, the tsvector the server would store precomputed client-side),
     one transaction, durable commit;
  2. native-JSON ingest through `agentlog serve --database ...` with wrk exactly as
     bench/run.py does for SQLite (1000-event requests, durable ack, every acknowledged
     event counted back), and its ratio to the ceiling (target >= 0.5);
  3. the same queries as bench/run.py on a generated data set (1M events by default),
     next to the SQLite numbers of bench/results/latest.json when present.
Writes bench/results/postgres-<timestamp>.json and postgres-latest.json; prints a table.
Exit 0 when every measurement ran (targets missed are reported), 1 when the server
misbehaved, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import run  # noqa: E402  (the SQLite harness: server, wrk, data set, queries)

TARGET_RATIO = 0.5
ID_MARKER = "@@R@@"  # in the ingest templates' ids; bench/ingest.lua replaces it per request
TIME_MARKER_RE = re.compile(r"@@T(\d+)@@")  # a template's times (ms offsets), likewise
WORD_RE = re.compile(r"[A-Za-z0-9\u0080-\U0010ffff]+")


def psql(url: str, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", *args], input=stdin, check=True,
                          capture_output=True, text=True, timeout=3600).stdout.strip()


def with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("://")
    host, _, rest = tail.partition("/")
    query = rest.partition("?")[2]
    return f"{head}://{host}/{name}" + (f"?{query}" if query else "")


class Databases:
    def __init__(self, admin: str):
        self.admin = admin
        self.names: list[str] = []

    def fresh(self, tag: str) -> str:
        name = f"al_bench_{tag}_{os.getpid()}"
        psql(self.admin, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(self.admin, "-c", f"CREATE DATABASE {name}")
        self.names.append(name)
        return with_database(self.admin, name)

    def drop_all(self) -> None:
        for n in self.names:
            psql(self.admin, "-c", f"DROP DATABASE IF EXISTS {n} WITH (FORCE)")


def pg_server_class(url: str):
    """run.Server, started with --database URL (its data dir stays empty)."""

    class PgServer(run.Server):
        def spawn(self) -> None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.spawned_at = time.perf_counter()
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--listen", self.listen, "--data", str(self.data_dir),
                 "--database", url],
                cwd=self.data_dir.parent, env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            import threading
            self._reader = threading.Thread(target=self._drain, daemon=True)
            self._reader.start()

    return PgServer


def copy_escape(v) -> str:
    if v is None:
        return r"\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if not isinstance(v, str):
        v = json.dumps(v, separators=(",", ":"), ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def json_text(v) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [s for x in v for s in json_text(x)]
    if isinstance(v, dict):
        return [s for x in v.values() for s in json_text(x)]
    return []


def to_us(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v * 1000)
    t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def copy_ceiling(url: str, work: Path, rows: int) -> dict:
    """Raw COPY into the real events table (same partitions and indexes) of the very rows the
    ingest run sends: its eight request templates in turn, each copy with ids of its own (as
    bench/ingest.lua makes them), and the tsvector the server stores (the distinct lower-cased
    words of name, error message and the string values of input and output, no positions)."""
    templates = work / "ceiling-bodies"
    shutil.rmtree(templates, ignore_errors=True)
    run.write_ingest_templates(templates, 8)
    bodies = [(templates / f"body-{i}.json").read_text() for i in range(8)]
    shutil.rmtree(templates, ignore_errors=True)
    path = work / "pg-ceiling.copy"
    cols = ("seq, project_id, id, session_id, parent_id, trace_id, span_id, type, name, agent, started_at, "
            "ended_at, status, input, output, has_error, error_type, error_message, error_stack, model, provider, "
            "input_tokens, output_tokens, total_tokens, cached_tokens, cost_usd, attributes, tags, search")
    # Times as ingest.lua sends them: each request's last time about "now", which advances
    # by ~50 ms per request (20k events/s), so rows append at the right edge of the time indexes.
    spans = [max((int(m) for m in TIME_MARKER_RE.findall(b)), default=0) for b in bodies]
    start_ms = int(time.time() * 1000)

    def rfc3339(ms: int) -> str:
        t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    n = 0
    with path.open("w") as f:
        i = 0
        while n < rows:
            k = i % len(bodies)
            base = start_ms + 50 * i - spans[k]
            body = TIME_MARKER_RE.sub(lambda m: rfc3339(base + int(m.group(1))), bodies[k])
            body = body.replace(ID_MARKER, f"c{i:x}")
            i += 1
            for e in json.loads(body)["events"]:
                if n >= rows:
                    break
                n += 1
                err = e.get("error")
                if isinstance(err, str):
                    err = {"message": err}
                usage = e.get("usage")
                text = " ".join([e.get("name") or "", (err or {}).get("message") or ""] + json_text(e.get("input")) +
                                json_text(e.get("output")))
                words = sorted({w.lower() for w in WORD_RE.findall(text)})
                tsv = " ".join("'" + w + "'" for w in words)
                started = to_us(e.get("started_at"))
                status = e.get("status") or ("error" if err else "ok")
                vals = [n, 1, e["id"], e["session_id"], e.get("parent_id"), e.get("trace_id"), e.get("span_id"),
                        e.get("type", "custom"), e.get("name"), e.get("agent"), started, to_us(e.get("ended_at")),
                        status, e.get("input"), e.get("output"), err is not None, (err or {}).get("type"),
                        (err or {}).get("message"), (err or {}).get("stack"), e.get("model"), e.get("provider"),
                        (usage or {}).get("input_tokens") if usage else None,
                        (usage or {}).get("output_tokens") if usage else None,
                        ((usage or {}).get("total_tokens") or (usage["input_tokens"] + usage["output_tokens"]))
                        if usage else None,
                        (usage or {}).get("cached_tokens", 0) if usage else None, e.get("cost_usd"),
                        e.get("attributes") or {}, e.get("tags") or [], tsv]
                f.write("\t".join(copy_escape(v) for v in vals) + "\n")
    size = path.stat().st_size
    t0 = time.perf_counter()
    psql(url, "-c", f"\\copy events ({cols}) FROM '{path}'")
    secs = time.perf_counter() - t0
    path.unlink()
    return {"rows": n, "seconds": round(secs, 3), "rows_per_sec": n / secs, "copy_bytes": size,
            "what": "psql \\copy of the ingest run's rows into the migrated events table (partitions, 4 btree "
                    "+ GIN indexes), one transaction, fsync on; tsvector computed client-side, as the server "
                    "computes it"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/agentlog")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ceiling-rows", type=int, default=300_000)
    ap.add_argument("--quick", action="store_true", help="100k-event data set, 5 s ingest")
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--work", default=str(run.ROOT / "build" / "bench-pg"))
    ap.add_argument("--results", default=str(BENCH_DIR / "results"))
    args = ap.parse_args()
    admin = os.environ.get("AGENTLOG_TEST_DATABASE_URL")
    if not admin:
        print("bench/postgres.py: AGENTLOG_TEST_DATABASE_URL is not set "
              "(run it through scripts/services.sh run --durable -- ...)", file=sys.stderr)
        return 2
    binary = Path(args.bin).resolve()
    if args.quick:
        args.duration, args.warmup = 5, 1
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    results = Path(args.results).resolve()
    results.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    dbs = Databases(admin)
    started = dt.datetime.now(dt.timezone.utc)
    res: dict = {"schema": 1, "backend": "postgres", "started_at": started.isoformat(timespec="seconds"),
                 "machine": run.machine_info(binary),
                 "postgres": psql(admin, "-c", "SHOW server_version"),
                 "options": vars(args) | {"fsync": psql(admin, "-c", "SHOW fsync"),
                                          "synchronous_commit": psql(admin, "-c", "SHOW synchronous_commit")}}
    status = 0
    try:
        url = dbs.fresh("ceiling")
        subprocess.run([str(binary), "migrate", "--database", url], check=True, capture_output=True)
        run.log(f"ceiling: raw COPY of {args.ceiling_rows:,} events")
        res["ceiling"] = copy_ceiling(url, work, args.ceiling_rows)
        run.log(f"ceiling: {res['ceiling']['rows_per_sec']:,.0f} rows/s")

        run.Server = pg_server_class(dbs.fresh("ingest"))
        res["ingest"] = run.ingest_benchmark(binary, work, args.duration, args.connections, args.threads,
                                             args.warmup, problems)
        res["ingest"].pop("wrk_output", None)
        eps = res["ingest"]["events_per_sec"]
        res["ratio_to_ceiling"] = eps / res["ceiling"]["rows_per_sec"]
        run.log(f"ingest: {eps:,.0f} events/s ({res['ratio_to_ceiling']:.2f} of raw COPY), "
                f"p99 {res['ingest']['latency_ms']['p99']:.1f} ms")

        if not args.skip_queries:
            spec = run.dataset_spec(args.quick)
            qurl = dbs.fresh("queries")
            run.Server = pg_server_class(qurl)
            ddir = work / spec["name"]
            meta = run.build_dataset(binary, ddir, spec, 4, problems)
            # A live database has been through autovacuum (within a minute of a bulk load):
            # statistics for the planner, and a visibility map for index-only scans (the agents
            # overview). Without them, plans are guesses and every index entry costs a heap read.
            psql(qurl, "-c", "VACUUM (ANALYZE)")
            res["dataset"] = meta
            server = run.Server(binary, ddir / "data").start()
            try:
                res["queries"] = run.query_benchmark(server, meta, args.requests, 20, problems)
            finally:
                server.stop()
    except run.BenchError as e:
        problems.append(str(e))
        status = 2
    finally:
        dbs.drop_all()
    res["problems"] = problems
    if problems and status == 0:
        status = 1

    sqlite = {}
    try:
        sqlite = json.loads((results / "latest.json").read_text())
    except (OSError, ValueError):
        pass
    rows = []
    if "ceiling" in res:
        rows.append(("raw COPY ceiling (rows/s)", f"{res['ceiling']['rows_per_sec']:,.0f}", ""))
    if "ingest" in res:
        i = res["ingest"]
        s_eps = sqlite.get("ingest", {}).get("events_per_sec")
        rows.append(("ingest, durable ack (events/s)", f"{i['events_per_sec']:,.0f}",
                     f"{s_eps:,.0f}" if s_eps else "-"))
        rows.append(("ratio to raw COPY (target >= 0.5)", f"{res['ratio_to_ceiling']:.2f}", ""))
        rows.append(("ingest p99 request latency (ms)", f"{i['latency_ms']['p99']:.1f}",
                     f"{sqlite.get('ingest', {}).get('latency_ms', {}).get('p99', float('nan')):.1f}"))
    for name, q in res.get("queries", {}).items():
        sq = sqlite.get("queries", {}).get(name, {})
        rows.append((f"{name} p50 / p99 (ms)", f"{q.get('p50_ms', float('nan')):.1f} / {q.get('p99_ms', float('nan')):.1f}",
                     f"{sq.get('p50_ms', float('nan')):.1f} / {sq.get('p99_ms', float('nan')):.1f}" if sq else "-"))
    res["table"] = [{"metric": m, "postgres": p, "sqlite": s} for m, p, s in rows]
    print(f"\n{'metric':<40} {'postgres':>18} {'sqlite':>18}")
    for m, p, s in rows:
        print(f"{m:<40} {p:>18} {s:>18}")
    for p in problems:
        print(f"PROBLEM: {p}")
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(res, indent=2, default=str)
    (results / f"postgres-{stamp}.json").write_text(text)
    (results / "postgres-latest.json").write_text(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
