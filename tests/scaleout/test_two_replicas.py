"""Two `agentlog serve` replicas sharing one PostgreSQL and one Redis, tested as a user of a
load-balanced deployment would see them: writes through either, reads and live streams
from either, a replica killed with SIGKILL mid-load, retries landing on the other one."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import threading
import time
from pathlib import Path

import pytest

from conftest import Stream, all_session_events, expect, ingest, now_us, q, qs, rfc, uid

RESULTS = Path(__file__).resolve().parents[2] / "build" / "scaleout-results.json"


def event(eid: str, sid: str, i: int, **extra) -> dict:
    return {"id": eid, "session_id": sid, "type": "llm", "name": f"call {i}", "agent": "planner",
            "started_at": rfc(now_us() + i), "usage": {"input_tokens": i, "output_tokens": 1},
            "cost_usd": 0.5, **extra}


def test_ingest_through_one_replica_read_and_stream_from_the_other(cluster):
    cluster.migrate()
    a = cluster.replica("a")
    b = cluster.replica("b")
    sid = uid("fan-")
    stream = Stream(b, qs("/v1/stream", session_id=sid))
    try:
        latencies, after_ack = [], []
        total = 0
        for round_ in range(20):
            batch = [event(f"{sid}-{round_}-{i}", sid, round_ * 10 + i, input={"prompt": f"zebra round{round_}"})
                     for i in range(10)]
            sent = time.monotonic()
            expect(ingest(a, batch), 200)
            acked = time.monotonic()
            total += len(batch)
            stream.wait_events(total)
            latencies.append(stream.arrivals[-1] - sent)
            after_ack.append(max(0.0, stream.arrivals[-1] - acked))
        events = stream.events()
        assert [e["id"] for e in events] == [f"{sid}-{r}-{i}" for r in range(20) for i in range(10)]
        seqs = [e["_seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "stream ids must increase"

        s = expect(b.request("GET", f"/v1/sessions/{q(sid)}"), 200)
        assert s["event_count"] == 200 and s["llm_count"] == 200
        assert s["input_tokens"] == sum(range(200)) and s["cost_usd"] == pytest.approx(100.0)
        found = expect(b.request("GET", qs("/v1/events", q="zebra round7", session_id=sid, limit=100)), 200)
        assert sorted(e["id"] for e in found["data"]) == sorted(f"{sid}-7-{i}" for i in range(10))

        ms = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000  # noqa: E731
        report = {"ingest_to_stream_p50_ms": ms(latencies, 0.5), "ingest_to_stream_max_ms": max(latencies) * 1000,
                  "ack_to_stream_p50_ms": ms(after_ack, 0.5), "ack_to_stream_max_ms": max(after_ack) * 1000}
        print("\ncross-replica fan-out (10-event ingest on A, SSE on B): " +
              ", ".join(f"{k} {v:.1f}" for k, v in report.items()))
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2))
    finally:
        stream.close()


def test_resends_through_both_replicas_do_not_duplicate(cluster):
    cluster.migrate()
    a = cluster.replica("a")
    b = cluster.replica("b")
    sid = uid("dup-")
    batch = [event(f"{sid}-{i}", sid, i, status="running") for i in range(50)]
    # The same batch through both replicas at once, several times.
    with cf.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: ingest(s, batch).status, [a, b] * 4))
    assert results == [200] * 8
    done = [dict(e, status="ok", ended_at=rfc(now_us() + 10_000), output={"text": "finished"}) for e in batch]
    expect(ingest(b, done), 200)
    expect(ingest(a, done), 200)
    for server in (a, b):
        stored = all_session_events(server, sid)
        assert sorted(e["id"] for e in stored) == sorted(e["id"] for e in batch)
        assert all(e["status"] == "ok" and e["output"] == {"text": "finished"} for e in stored)
        s = expect(server.request("GET", f"/v1/sessions/{q(sid)}"), 200)
        assert s["event_count"] == 50 and s["input_tokens"] == sum(range(50))
        assert s["cost_usd"] == pytest.approx(25.0)


def test_kill9_of_one_replica_mid_load_loses_no_acknowledged_event(cluster):
    cluster.migrate()
    a = cluster.replica("a")
    b = cluster.replica("b")
    sid_prefix = uid("load-")
    acked: set[str] = set()
    unacked: list[list[dict]] = []
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + 30

    def client(n: int) -> None:
        k = 0
        while not stop.is_set() and time.monotonic() < deadline:
            target = (a, b)[(n + k) % 2]
            sid = f"{sid_prefix}{n}-{k % 5}"
            batch = [event(f"{sid_prefix}{n}-{k}-{i}", sid, i) for i in range(100)]
            k += 1
            try:
                r = ingest(target, batch, timeout=10)
                ok = r.status == 200
            except OSError:
                ok = False
            with lock:
                if ok:
                    acked.update(e["id"] for e in batch)
                else:
                    unacked.append(batch)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    while len(acked) < 3000 and time.monotonic() < deadline:
        time.sleep(0.02)
    a.kill9()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 3000, "the load never got going"
    assert unacked, "SIGKILL hit no request in flight; the test proved nothing"

    # What the killed replica had acknowledged is durable; the clients' retries of what it
    # had not go to the survivor and, being idempotent, duplicate nothing.
    for batch in unacked:
        expect(ingest(b, batch), 200)
    stored: dict[str, int] = {}
    for n in range(6):
        for j in range(5):
            for e in all_session_events(b, f"{sid_prefix}{n}-{j}"):
                stored[e["id"]] = stored.get(e["id"], 0) + 1
    missing = acked - stored.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert all(c == 1 for c in stored.values()), "an event is stored twice"
    retried = {e["id"] for batch in unacked for e in batch}
    assert retried <= stored.keys()
    # Rollups agree with the stored events after the crash and the retries.
    for n in range(6):
        for j in range(5):
            sid = f"{sid_prefix}{n}-{j}"
            r = b.request("GET", f"/v1/sessions/{q(sid)}")
            if r.status == 404:
                continue
            s = expect(r, 200)
            events = all_session_events(b, sid)
            assert s["event_count"] == len(events), sid
            assert s["input_tokens"] == sum(e["usage"]["input_tokens"] for e in events), sid


def test_stream_resumes_on_either_replica_with_last_event_id(cluster):
    cluster.migrate()
    a = cluster.replica("a")
    b = cluster.replica("b")
    sid = uid("resume-")
    first = Stream(b, qs("/v1/stream", session_id=sid))
    expect(ingest(a, [event(f"{sid}-{i}", sid, i) for i in range(5)]), 200)
    seen = first.wait_events(5)
    first.close()
    last_id = seen[-1]["_seq"]
    # Committed while no stream was open, through both replicas.
    expect(ingest(a, [event(f"{sid}-{i}", sid, i) for i in range(5, 10)]), 200)
    expect(ingest(b, [event(f"{sid}-{i}", sid, i) for i in range(10, 15)]), 200)
    for server in (a, b):
        again = Stream(server, qs("/v1/stream", session_id=sid), headers={"Last-Event-ID": str(last_id)})
        try:
            got = again.wait_events(10)
            assert [e["id"] for e in got] == [f"{sid}-{i}" for i in range(5, 15)]
            assert all(e["_seq"] > last_id for e in got)
        finally:
            again.close()


def test_replicas_starting_together_migrate_a_fresh_database_once(cluster):
    replicas = [cluster.replica(n, start=False) for n in ("a", "b", "c")]
    with cf.ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda s: s.start(timeout=60), replicas))
    key = f"{uid('m-')}"
    expect(ingest(replicas[0], [event(key, "s", 1)]), 200)
    for s in replicas:
        assert expect(s.request("GET", f"/v1/events/{q(key)}"), 200)["id"] == key
        assert s.request("GET", "/readyz").status == 200


def test_one_replica_on_postgres_without_redis_streams_its_own_commits(cluster):
    cluster.migrate()
    solo = cluster.replica("solo", redis=False)
    sid = uid("solo-")
    stream = Stream(solo, qs("/v1/stream", session_id=sid))
    try:
        expect(ingest(solo, [event(f"{sid}-{i}", sid, i) for i in range(3)]), 200)
        assert [e["id"] for e in stream.wait_events(3)] == [f"{sid}-{i}" for i in range(3)]
    finally:
        stream.close()


def test_misconfigured_redis_or_database_stops_the_server(agentlog_bin, services, tmp_path):
    from conftest import clean_env
    import subprocess

    db, _ = services
    r = subprocess.run([agentlog_bin, "serve", "--listen", "127.0.0.1:0", "--database", db, "--redis",
                        "redis://127.0.0.1:1"], capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode != 0 and "Redis" in r.stderr
    r = subprocess.run([agentlog_bin, "serve", "--listen", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1",
                        "--data", str(tmp_path)], capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode != 0 and "postgres" in r.stderr
    r = subprocess.run([agentlog_bin, "migrate", "--database", "postgres://nobody@127.0.0.1:1/x"],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode != 0 and "PostgreSQL" in r.stderr
