"""Every endpoint of docs/api.md end to end: ingest, sessions, events, agents, health, metrics,
OpenAPI — with expectations computed in the test from what it sent."""

from __future__ import annotations

import re
import time

import pytest

import dataset as D
from conftest import (OpenApi, PROBLEM_PREFIX, TIME_RE, UUID7_RE, assert_problem, expect, fmt_us,
                      now_us, parse_time, q, qs, rfc, uid, us_of)

T0 = us_of(2026, 11, 25, 10, 0, 0)
SEC = 1_000_000

EVENT_KEYS = ["id", "session_id", "parent_id", "trace_id", "span_id", "type", "name", "agent", "started_at",
              "ended_at", "duration_ms", "status", "input", "output", "error", "model", "provider", "usage",
              "cost_usd", "attributes", "tags"]
SESSION_KEYS = ["id", "name", "agent", "user_id", "tags", "metadata", "status", "started_at", "ended_at",
                "last_event_at", "duration_ms", "event_count", "error_count", "llm_count", "tool_count",
                "input_tokens", "output_tokens", "total_tokens", "cost_usd"]
AGENT_KEYS = ["agent", "sessions", "running_sessions", "failed_sessions", "events", "errors", "error_rate",
              "llm_calls", "tool_calls", "input_tokens", "output_tokens", "total_tokens", "cost_usd",
              "p50_duration_ms", "p95_duration_ms", "last_seen_at"]


def approx(x):
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def check_fields(actual: dict, expected: dict, what: str) -> None:
    """Every expected key present with the expected value (floats approximately)."""
    assert isinstance(actual, dict), f"{what}: not an object: {actual!r}"
    diffs = []
    for k, v in expected.items():
        if k not in actual:
            diffs.append(f"missing key {k!r}")
            continue
        a = actual[k]
        if isinstance(v, float) or (isinstance(a, float) and isinstance(v, int) and not isinstance(v, bool)):
            if not (isinstance(a, (int, float)) and not isinstance(a, bool) and a == approx(v)):
                diffs.append(f"{k}: got {a!r}, expected {v!r}")
        elif a != v:
            diffs.append(f"{k}: got {a!r}, expected {v!r}")
    assert not diffs, f"{what}:\n  " + "\n  ".join(diffs) + f"\nactual: {actual}"


def session_rollups_of(server, sid):
    s = server.session(sid)
    return {k: s.get(k) for k in ("event_count", "error_count", "llm_count", "tool_count", "input_tokens",
                                  "output_tokens", "total_tokens", "cost_usd")}


# =========================================================================== ingest round trip

def roundtrip_batch(sid):
    a, b, c, d, e = (f"{sid}-{x}" for x in "abcde")
    session = {"id": sid, "name": "Unicode ✓ run", "agent": "planner", "user_id": "u-1",
               "tags": ["alpha", "β"], "metadata": {"k": [1, {"x": None}], "s": "日本"},
               "status": "running", "started_at": rfc(T0 + SEC // 2)}
    events = [
        {"id": a, "session_id": sid, "type": "agent", "name": "run", "agent": "planner",
         "started_at": "2026-11-25T10:00:00Z", "ended_at": "2026-11-25T10:00:10.000000Z",
         "trace_id": "trace-1", "span_id": "span-1", "attributes": {"env": "test", "n": 1}, "tags": ["root"]},
        {"id": b, "session_id": sid, "parent_id": a, "type": "step", "name": "plan", "agent": "planner",
         "started_at": (T0 + 1_000_250) / 1000, "ended_at": (T0 + 5 * SEC) // 1000},
        {"id": c, "session_id": sid, "parent_id": b, "type": "llm", "name": "chat", "agent": "planner",
         "started_at": "2026-11-25T12:00:01.500000+02:00", "ended_at": "2026-11-25T10:00:02.5Z",
         "model": "gpt-4o", "provider": "openai", "usage": {"input_tokens": 100, "output_tokens": 50},
         "cost_usd": 0.0015,
         "input": {"messages": [{"role": "user", "content": "héllo wörld ✓ 日本語 🚀 \"quoted\" \\ \n"}]},
         "output": "plain string output ✓"},
        {"id": d, "session_id": sid, "parent_id": c, "type": "tool", "name": "search_web", "agent": "planner",
         "started_at": rfc(T0 + 3 * SEC), "ended_at": rfc(T0 + 3_250_000),
         "error": {"type": "Timeout", "message": "tool timed out", "stack": "at x\nat y"},
         "input": [1, 2.5, {"a": None, "b": [True, False]}]},
        {"id": e, "session_id": sid, "type": "llm", "name": "chat", "agent": "planner",
         "started_at": rfc(T0 + 4 * SEC), "error": "rate limited",
         "usage": {"input_tokens": 10, "output_tokens": 0, "total_tokens": 10, "cached_tokens": 5},
         "cost_usd": 0.0001, "input": True, "output": 42},
        {"session_id": sid, "started_at": rfc(T0 + 6 * SEC), "status": "running",
         "input": {"nested": {"deep": ["x"]}}, "unknown_top_level_field": {"ignored": True}},
    ]
    expected = {
        a: {"id": a, "session_id": sid, "parent_id": None, "trace_id": "trace-1", "span_id": "span-1",
            "type": "agent", "name": "run", "agent": "planner", "started_at": fmt_us(T0),
            "ended_at": fmt_us(T0 + 10 * SEC), "duration_ms": 10000.0, "status": "ok", "input": None,
            "output": None, "error": None, "model": None, "provider": None, "usage": None, "cost_usd": None,
            "attributes": {"env": "test", "n": 1}, "tags": ["root"]},
        b: {"id": b, "session_id": sid, "parent_id": a, "trace_id": None, "span_id": None, "type": "step",
            "name": "plan", "agent": "planner", "started_at": fmt_us(T0 + 1_000_250),
            "ended_at": fmt_us(T0 + 5 * SEC), "duration_ms": (5 * SEC - 1_000_250) / 1000, "status": "ok",
            "input": None, "output": None, "error": None, "model": None, "provider": None, "usage": None,
            "cost_usd": None, "attributes": {}, "tags": []},
        c: {"id": c, "session_id": sid, "parent_id": b, "trace_id": None, "span_id": None, "type": "llm",
            "name": "chat", "agent": "planner", "started_at": fmt_us(T0 + 1_500_000),
            "ended_at": fmt_us(T0 + 2_500_000), "duration_ms": 1000.0, "status": "ok",
            "input": events[2]["input"], "output": "plain string output ✓", "error": None, "model": "gpt-4o",
            "provider": "openai", "cost_usd": 0.0015, "attributes": {}, "tags": []},
        d: {"id": d, "session_id": sid, "parent_id": c, "trace_id": None, "span_id": None, "type": "tool",
            "name": "search_web", "agent": "planner", "started_at": fmt_us(T0 + 3 * SEC),
            "ended_at": fmt_us(T0 + 3_250_000), "duration_ms": 250.0, "status": "error",
            "input": [1, 2.5, {"a": None, "b": [True, False]}], "output": None,
            "error": {"type": "Timeout", "message": "tool timed out", "stack": "at x\nat y"},
            "model": None, "provider": None, "usage": None, "cost_usd": None, "attributes": {}, "tags": []},
        e: {"id": e, "session_id": sid, "parent_id": None, "type": "llm", "name": "chat",
            "started_at": fmt_us(T0 + 4 * SEC), "ended_at": None, "duration_ms": None, "status": "error",
            "input": True, "output": 42, "error": {"type": None, "message": "rate limited", "stack": None},
            "usage": {"input_tokens": 10, "output_tokens": 0, "total_tokens": 10, "cached_tokens": 5},
            "cost_usd": 0.0001, "model": None, "provider": None},
    }
    return session, events, expected


def test_ingest_roundtrip_shapes_and_rollups(shared_server):
    srv = shared_server
    sid = uid("rt-")
    session, events, expected = roundtrip_batch(sid)
    before = now_us()
    r = srv.ingest(events, [session])
    body = expect(r, 200)
    assert body.get("accepted") == 7 and body.get("rejected") == 0 and body.get("errors") == [], r.describe()
    ids = body.get("ids")
    assert isinstance(ids, list) and len(ids) == 6, r.describe()
    assert ids[:5] == [ev["id"] for ev in events[:5]], r.describe()
    gen = ids[5]
    assert isinstance(gen, str) and UUID7_RE.match(gen), f"generated id is not a UUIDv7: {gen!r}"
    ms = int(gen.replace("-", "")[:12], 16)  # UUIDv7: first 48 bits = unix ms
    assert abs(ms * 1000 - before) < 60 * SEC, f"UUIDv7 timestamp {ms} far from now"

    for eid, exp in expected.items():
        got = srv.event(eid)
        for k in EVENT_KEYS:
            assert k in got, f"event output lacks key {k!r}: {got}"
        check_fields(got, exp, f"GET /v1/events/{eid}")
        for k in ("started_at", "ended_at"):
            if got[k] is not None:
                assert TIME_RE.match(got[k]), got[k]
    c = srv.event(f"{sid}-c")
    assert c["usage"]["input_tokens"] == 100 and c["usage"]["output_tokens"] == 50, c
    assert c["usage"]["total_tokens"] == 150, f"total_tokens must default to input+output: {c['usage']}"
    assert c["usage"].get("cached_tokens") in (0, None), c["usage"]

    g = srv.event(gen)
    for k in EVENT_KEYS:
        assert k in g, f"event output lacks key {k!r}: {g}"
    check_fields(g, {"id": gen, "session_id": sid, "type": "custom", "status": "running", "name": None,
                     "agent": None, "parent_id": None, "started_at": fmt_us(T0 + 6 * SEC), "ended_at": None,
                     "input": {"nested": {"deep": ["x"]}}, "output": None, "error": None, "usage": None,
                     "cost_usd": None, "attributes": {}, "tags": []}, "generated-id event")
    assert "unknown_top_level_field" not in g

    s = srv.session(sid)
    for k in SESSION_KEYS:
        assert k in s, f"session output lacks key {k!r}: {s}"
    check_fields(s, {"id": sid, "name": "Unicode ✓ run", "agent": "planner", "user_id": "u-1",
                     "tags": ["alpha", "β"], "metadata": {"k": [1, {"x": None}], "s": "日本"},
                     "status": "running", "ended_at": None,
                     "started_at": fmt_us(T0), "last_event_at": fmt_us(T0 + 10 * SEC), "duration_ms": 10000.0,
                     "event_count": 6, "error_count": 2, "llm_count": 2, "tool_count": 1, "input_tokens": 110,
                     "output_tokens": 50, "total_tokens": 160, "cost_usd": 0.0016}, f"session {sid}")


def test_idempotent_resend_keeps_rollups_exact(shared_server):
    srv = shared_server
    sid = uid("idem-")
    session, events, _ = roundtrip_batch(sid)
    events = events[:5]  # the last one has no id: re-sending it would create a new event
    srv.ingest_ok(events, [session])
    srv.ingest_ok(events, [session])  # identical re-send
    base = {"event_count": 5, "error_count": 2, "llm_count": 2, "tool_count": 1, "input_tokens": 110,
            "output_tokens": 50, "total_tokens": 160, "cost_usd": 0.0016}
    check_fields(session_rollups_of(srv, sid), base, "after identical re-send")

    changed = [dict(ev) for ev in events]
    # c: more tokens and now an error; e: becomes an ok tool call without usage/cost.
    changed[2].update(usage={"input_tokens": 200, "output_tokens": 100}, error="boom")
    del changed[4]["error"]
    del changed[4]["usage"]
    del changed[4]["cost_usd"]
    changed[4].update(type="tool", status="ok")
    r = srv.ingest(changed[2:5:2])
    assert expect(r, 200)["ids"] == [changed[2]["id"], changed[4]["id"]], r.describe()
    check_fields(session_rollups_of(srv, sid),
                 {"event_count": 5, "error_count": 2, "llm_count": 1, "tool_count": 2, "input_tokens": 200,
                  "output_tokens": 100, "total_tokens": 300, "cost_usd": 0.0015}, "after changed re-send")
    ev = srv.event(changed[2]["id"])
    assert ev["status"] == "error" and ev["error"]["message"] == "boom" and ev["usage"]["total_tokens"] == 300
    ev = srv.event(changed[4]["id"])
    assert ev["type"] == "tool" and ev["status"] == "ok" and ev["error"] is None and ev["usage"] is None, ev

    srv.ingest_ok(events)  # back to the original versions
    check_fields(session_rollups_of(srv, sid), base, "after re-sending the originals")
    assert len(srv.walk(f"/v1/sessions/{q(sid)}/events")) == 5


def test_resend_moving_event_to_another_session(shared_server):
    srv = shared_server
    s1, s2 = uid("mv1-"), uid("mv2-")
    ev = {"id": uid("mv-ev-"), "session_id": s1, "type": "llm", "started_at": rfc(T0),
          "usage": {"input_tokens": 7, "output_tokens": 3}, "cost_usd": 0.5, "error": "x"}
    other = {"id": uid("mv-ev-"), "session_id": s1, "type": "tool", "started_at": rfc(T0 + SEC)}
    srv.ingest_ok([ev, other])
    srv.ingest_ok([dict(ev, session_id=s2)])
    check_fields(session_rollups_of(srv, s1), {"event_count": 1, "error_count": 0, "llm_count": 0,
                                               "tool_count": 1, "total_tokens": 0, "cost_usd": 0.0}, s1)
    check_fields(session_rollups_of(srv, s2), {"event_count": 1, "error_count": 1, "llm_count": 1,
                                               "tool_count": 0, "input_tokens": 7, "output_tokens": 3,
                                               "total_tokens": 10, "cost_usd": 0.5}, s2)
    assert srv.event(ev["id"])["session_id"] == s2


def test_duplicate_ids_within_one_batch_count_once(shared_server):
    srv = shared_server
    sid = uid("dup-")
    eid = uid("dup-ev-")
    first = {"id": eid, "session_id": sid, "type": "llm", "started_at": rfc(T0),
             "usage": {"input_tokens": 1, "output_tokens": 1}}
    last = dict(first, usage={"input_tokens": 5, "output_tokens": 5})
    r = srv.ingest([first, last])
    expect(r, 200)
    check_fields(session_rollups_of(srv, sid), {"event_count": 1, "llm_count": 1, "input_tokens": 5,
                                                "output_tokens": 5, "total_tokens": 10},
                 "same id twice in one batch (the later one replaces the earlier)")


def test_long_strings_round_trip(shared_server):
    """Strings of every length up to the limits come back byte for byte (sessions and events)."""
    srv = shared_server
    sid = uid("long-") + "s" * 100  # 113 bytes
    session = {"id": sid, "name": "ñ" * 300 + "n", "agent": "agent-" + "a" * 200, "user_id": "user-" + "u" * 100,
               "tags": ["t" * 17, "tag-" + "é" * 40], "metadata": {"k" * 40: "v" * 5000, "list": ["x" * 33]},
               "status": "running", "started_at": rfc(T0)}
    names = {n: "N" * n for n in (15, 16, 17, 31, 32, 33, 64, 1024)}
    events = [{"id": f"{sid[:100]}-{n}", "session_id": sid, "name": v, "agent": "g" * 256, "model": "m" * 256,
               "provider": "p" * 256, "trace_id": "t" * 128, "span_id": "s" * 128, "parent_id": "q" * 128,
               "started_at": rfc(T0 + n), "error": {"type": "T" * 100, "message": "M" * 10000, "stack": "S" * 20000},
               "attributes": {"a" * 20: "b" * 300}, "tags": ["c" * 50]} for n, v in names.items()]
    srv.ingest_ok(events, [session])
    s = srv.session(sid)
    check_fields(s, {k: v for k, v in session.items() if k not in ("started_at",)}, "session with long strings")
    for ev in events:
        got = srv.event(ev["id"])
        check_fields(got, {k: v for k, v in ev.items() if k != "started_at"}, f"event {ev['id'][-8:]}")
    listed = {x["id"]: x for x in srv.walk("/v1/sessions", {"q": sid[:20]})}
    check_fields(listed[sid], {k: v for k, v in session.items() if k != "started_at"}, "listed long session")
    r = srv.request("POST", "/v1/sessions", {"id": sid + "-post", "name": "P" * 500, "user_id": "U" * 200})
    check_fields(expect(r, 201), {"name": "P" * 500, "user_id": "U" * 200}, "POST long strings")
    r = srv.request("PATCH", f"/v1/sessions/{q(sid)}-post", {"name": "Q" * 700, "agent": "A" * 100})
    check_fields(expect(r, 200), {"name": "Q" * 700, "agent": "A" * 100, "user_id": "U" * 200}, "PATCH long")
    check_fields(srv.session(sid + "-post"), {"name": "Q" * 700, "agent": "A" * 100, "user_id": "U" * 200}, "GET")


def test_time_formats(shared_server):
    srv = shared_server
    sid = uid("tf-")
    cases = [
        ("2026-11-25T10:00:00.123456+02:00", us_of(2026, 11, 25, 8, 0, 0, 123456)),
        ("2026-11-25T10:00:00Z", us_of(2026, 11, 25, 10, 0, 0)),
        ("2026-11-25T10:00:00.5-01:30", us_of(2026, 11, 25, 11, 30, 0, 500000)),
        (us_of(2026, 11, 25, 10, 0, 0, 123000) // 1000, us_of(2026, 11, 25, 10, 0, 0, 123000)),
        (us_of(2026, 11, 25, 10, 0, 0, 123456) / 1000, us_of(2026, 11, 25, 10, 0, 0, 123456)),
    ]
    evs = [{"id": f"{sid}-{i}", "session_id": sid, "started_at": t} for i, (t, _) in enumerate(cases)]
    srv.ingest_ok(evs)
    for i, (t, want) in enumerate(cases):
        got = srv.event(f"{sid}-{i}")["started_at"]
        assert got == fmt_us(want), f"input {t!r} should come back as {fmt_us(want)}, got {got!r}"


def test_started_at_defaults_to_now_and_status_defaults(shared_server):
    srv = shared_server
    sid = uid("now-")
    before = now_us()
    r = srv.ingest([{"session_id": sid}, {"session_id": sid, "error": {"message": "m"}}])
    after = now_us()
    ids = expect(r, 200)["ids"]
    e0, e1 = srv.event(ids[0]), srv.event(ids[1])
    t = parse_time(e0["started_at"])
    assert before - SEC <= t <= after + SEC, f"default started_at {e0['started_at']} is not 'now'"
    assert e0["status"] == "ok" and e0["type"] == "custom", e0
    assert e1["status"] == "error", e1
    assert e1["error"] == {"type": None, "message": "m", "stack": None}, e1


def test_event_creates_unknown_session(shared_server):
    srv = shared_server
    sid = uid("auto-")
    srv.ingest_ok([{"session_id": sid, "agent": "auto-agent", "type": "tool", "started_at": rfc(T0)}])
    s = srv.session(sid)
    check_fields(s, {"id": sid, "status": "running", "agent": "auto-agent", "name": None, "user_id": None,
                     "tags": [], "metadata": {}, "event_count": 1, "tool_count": 1,
                     "started_at": fmt_us(T0)}, "auto-created session")


def test_partial_batch(shared_server):
    srv = shared_server
    sid = uid("pb-")
    good = lambda n: {"id": f"{sid}-ok{n}", "session_id": sid, "type": "llm", "started_at": rfc(T0 + n * SEC),
                      "usage": {"input_tokens": n, "output_tokens": 1}}
    events = [
        good(0),
        {"id": f"{sid}-bad-nosession", "type": "llm"},                                   # 1 session_id
        {"id": f"{sid}-bad-type", "session_id": sid, "type": "bogus"},                   # 2 type
        {"id": f"{sid}-bad-time", "session_id": sid, "started_at": "not-a-time"},        # 3 started_at
        good(4),
        {"id": f"{sid}-bad-usage", "session_id": sid, "usage": {"input_tokens": -1}},    # 5 usage
        {"id": f"{sid}-bad-end", "session_id": sid, "started_at": rfc(T0 + 10 * SEC),
         "ended_at": rfc(T0 + 5 * SEC)},                                                   # 6 ended_at
        {"id": f"{sid}-bad-cost", "session_id": sid, "cost_usd": -1},                    # 7 cost_usd
        {"id": "x" * 129, "session_id": sid},                                             # 8 id
        {"id": f"{sid}-bad-status", "session_id": sid, "status": "finished"},           # 9 status
        good(10),
    ]
    sessions = [
        {"id": f"{sid}-s-ok", "name": "fine"},
        {"name": "no id"},                                                                # 1 id
        {"id": f"{sid}-s-bad", "status": "exploded"},                                   # 2 status
    ]
    r = srv.ingest(events, sessions)
    body = expect(r, 200)
    bad_events = {1: "session_id", 2: "type", 3: "started_at", 5: "usage", 6: "ended_at", 7: "cost_usd",
                  8: "id", 9: "status"}
    bad_sessions = {1: "id", 2: "status"}
    assert body["accepted"] == 4 and body["rejected"] == 10, r.describe()
    errs = body["errors"]
    assert isinstance(errs, list), r.describe()
    got = {}
    for er in errs:
        for k in ("index", "item", "field", "message"):
            assert k in er, f"error entry lacks {k!r}: {er}"
        assert er["item"] in ("event", "session"), er
        assert isinstance(er["message"], str) and er["message"], er
        got[(er["item"], er["index"])] = er["field"]
    want = {("event", i): f for i, f in bad_events.items()} | {("session", i): f for i, f in bad_sessions.items()}
    assert set(got) == set(want), f"errors name the wrong items: got {sorted(got)}, want {sorted(want)}"
    for key, f in want.items():
        field = got[key] or ""
        assert re.split(r"[.\[/]", field)[0] == f, f"error for {key} names field {field!r}, expected {f!r}"
    ids = body["ids"]
    assert len(ids) == len(events), r.describe()
    for i, ev in enumerate(events):
        if i in bad_events:
            assert ids[i] is None, f"ids[{i}] of a rejected event must be null: {ids}"
        else:
            assert ids[i] == ev["id"], ids
    for i in (0, 4, 10):
        srv.event(events[i]["id"])
    for i in (2, 3, 5, 6, 7, 9):
        assert srv.get(f"/v1/events/{q(events[i]['id'])}").status == 404, f"rejected event {i} was stored"
    assert srv.session(f"{sid}-s-ok")["name"] == "fine"
    assert srv.get(f"/v1/sessions/{q(sid + '-s-bad')}").status == 404
    check_fields(session_rollups_of(srv, sid), {"event_count": 3, "llm_count": 3, "input_tokens": 14,
                                                "output_tokens": 3, "total_tokens": 17}, "partial batch")


def test_all_invalid_is_422_with_errors(shared_server):
    srv = shared_server
    r = srv.ingest([{"type": "llm"}, {"session_id": 5}], [{"name": "x"}])
    body = assert_problem(r, 422, "validation-failed")
    assert body.get("accepted") == 0 and body.get("rejected") == 3, r.describe()
    errs = body.get("errors")
    assert isinstance(errs, list) and len(errs) == 3, r.describe()
    assert {(e["item"], e["index"]) for e in errs} == {("event", 0), ("event", 1), ("session", 0)}, r.describe()


def test_empty_ingest_is_ok(shared_server):
    srv = shared_server
    for body in ({}, {"events": []}, {"events": [], "sessions": []}):
        r = srv.request("POST", "/v1/ingest", body)
        b = expect(r, 200)
        assert b["accepted"] == 0 and b["rejected"] == 0 and b["errors"] == [] and b["ids"] == [], r.describe()


def test_x_api_key_and_gzip_and_deflate(shared_server):
    import gzip
    import json
    import zlib
    srv = shared_server
    sid = uid("enc-")
    r = srv.ingest([{"id": f"{sid}-1", "session_id": sid}], scheme="x-api-key")
    expect(r, 200)
    payload = json.dumps({"events": [{"id": f"{sid}-2", "session_id": sid}]}).encode()
    r = srv.request("POST", "/v1/ingest", raw_body=gzip.compress(payload),
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert expect(r, 200)["accepted"] == 1, r.describe()
    payload = json.dumps({"events": [{"id": f"{sid}-3", "session_id": sid}]}).encode()
    r = srv.request("POST", "/v1/ingest", raw_body=zlib.compress(payload),
                    headers={"Content-Encoding": "deflate", "Content-Type": "application/json; charset=utf-8"})
    assert expect(r, 200)["accepted"] == 1, r.describe()
    r = srv.request("POST", "/v1/ingest", raw_body=json.dumps({"events": [{"id": f"{sid}-4", "session_id": sid}]})
                    .encode(), headers={"Content-Encoding": "identity"})
    assert expect(r, 200)["accepted"] == 1, r.describe()
    assert srv.session(sid)["event_count"] == 4


# =========================================================================== sessions CRUD

def test_sessions_create_get_conflict(shared_server):
    srv = shared_server
    sid = uid("crud-")
    body = {"id": sid, "name": "n1", "agent": "a1", "user_id": "u1", "tags": ["t1", "t2"],
            "metadata": {"m": {"n": [1, 2]}}, "status": "running", "started_at": rfc(T0)}
    r = srv.request("POST", "/v1/sessions", body)
    s = expect(r, 201)
    for k in SESSION_KEYS:
        assert k in s, f"session lacks {k!r}: {s}"
    check_fields(s, {"id": sid, "name": "n1", "agent": "a1", "user_id": "u1", "tags": ["t1", "t2"],
                     "metadata": {"m": {"n": [1, 2]}}, "status": "running", "started_at": fmt_us(T0),
                     "ended_at": None, "last_event_at": None, "event_count": 0, "error_count": 0,
                     "llm_count": 0, "tool_count": 0, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                     "cost_usd": 0.0}, "POST /v1/sessions")
    assert srv.session(sid) == s
    assert_problem(srv.request("POST", "/v1/sessions", body), 409, "conflict")
    assert_problem(srv.request("POST", "/v1/sessions", {"id": sid}), 409, "conflict")

    r = srv.request("POST", "/v1/sessions", {"name": "generated"})
    s2 = expect(r, 201)
    assert UUID7_RE.match(s2["id"] or ""), f"POST without id must generate a UUIDv7: {s2}"
    assert s2["name"] == "generated" and s2["status"] == "running" and s2["tags"] == [] and s2["metadata"] == {}
    assert srv.session(s2["id"])["name"] == "generated"

    # events into the created session update its rollups
    srv.ingest_ok([{"session_id": sid, "type": "llm", "started_at": rfc(T0 + SEC),
                    "ended_at": rfc(T0 + 3 * SEC), "usage": {"input_tokens": 4, "output_tokens": 6},
                    "cost_usd": 0.25}])
    check_fields(srv.session(sid), {"event_count": 1, "llm_count": 1, "total_tokens": 10, "cost_usd": 0.25,
                                    "started_at": fmt_us(T0), "last_event_at": fmt_us(T0 + 3 * SEC),
                                    "duration_ms": 3000.0, "name": "n1"}, "after ingest")


def test_sessions_post_validation(shared_server):
    srv = shared_server
    for bad in ({"status": "weird"}, {"tags": "x"}, {"metadata": [1]}, {"id": "x" * 129}, {"started_at": "no"}):
        r = srv.request("POST", "/v1/sessions", bad)
        assert_problem(r, 422, "validation-failed")


def test_sessions_patch(shared_server):
    srv = shared_server
    sid = uid("patch-")
    expect(srv.request("POST", "/v1/sessions", {"id": sid, "name": "before", "agent": "ag", "user_id": "u",
                                                 "tags": ["x"], "metadata": {"a": 1},
                                                 "started_at": rfc(T0)}), 201)
    r = srv.request("PATCH", f"/v1/sessions/{q(sid)}", {"name": "after"})
    s = expect(r, 200)
    check_fields(s, {"name": "after", "agent": "ag", "user_id": "u", "tags": ["x"], "metadata": {"a": 1},
                     "status": "running", "ended_at": None}, "PATCH name only keeps the rest")
    s = expect(srv.request("PATCH", f"/v1/sessions/{q(sid)}", {"tags": ["y", "z"], "metadata": {"b": 2},
                                                                 "user_id": "u2"}), 200)
    check_fields(s, {"name": "after", "tags": ["y", "z"], "metadata": {"b": 2}, "user_id": "u2"}, "PATCH")
    before = now_us()
    s = expect(srv.request("PATCH", f"/v1/sessions/{q(sid)}", {"status": "success"}), 200)
    after = now_us()
    assert s["status"] == "success"
    assert s["ended_at"] is not None, f"terminal status without ended_at must set ended_at to now: {s}"
    t = parse_time(s["ended_at"])
    assert before - SEC <= t <= after + SEC, f"ended_at {s['ended_at']} is not now"
    assert s["duration_ms"] == approx((t - T0) / 1000), s
    assert srv.session(sid) == s
    s = expect(srv.request("PATCH", f"/v1/sessions/{q(sid)}",
                           {"status": "failure", "ended_at": rfc(T0 + 60 * SEC)}), 200)
    check_fields(s, {"status": "failure", "ended_at": fmt_us(T0 + 60 * SEC), "duration_ms": 60000.0}, "PATCH")
    assert_problem(srv.request("PATCH", f"/v1/sessions/{q(sid)}", {"status": "bogus"}), 422, "validation-failed")
    assert_problem(srv.request("PATCH", "/v1/sessions/" + uid("nope-"), {"name": "x"}), 404, "not-found")


def test_ingest_session_fields_overwrite(shared_server):
    srv = shared_server
    sid = uid("ow-")
    srv.ingest_ok(sessions=[{"id": sid, "name": "one", "agent": "a", "tags": ["t"], "user_id": "u"}])
    srv.ingest_ok(sessions=[{"id": sid, "name": "two", "status": "cancelled", "ended_at": rfc(T0 + SEC),
                             "started_at": rfc(T0)}])
    check_fields(srv.session(sid), {"name": "two", "agent": "a", "tags": ["t"], "user_id": "u",
                                    "status": "cancelled", "ended_at": fmt_us(T0 + SEC), "duration_ms": 1000.0},
                 "present fields overwrite, absent ones are kept")


def test_sessions_delete_removes_events(shared_server):
    srv = shared_server
    sid = uid("del-")
    keep = uid("keep-")
    srv.ingest_ok([{"id": f"{sid}-{i}", "session_id": sid, "name": f"delword{sid[-4:]}"} for i in range(3)]
                  + [{"id": f"{keep}-0", "session_id": keep}])
    r = srv.request("DELETE", f"/v1/sessions/{q(sid)}")
    assert r.status == 204, r.describe()
    assert r.raw == b"", f"204 must have no body: {r.raw[:100]!r}"
    assert_problem(srv.get(f"/v1/sessions/{q(sid)}"), 404, "not-found")
    for i in range(3):
        assert_problem(srv.get(f"/v1/events/{q(f'{sid}-{i}')}"), 404, "not-found")
    r = srv.get(f"/v1/sessions/{q(sid)}/events")
    assert r.status == 404 or (r.status == 200 and r.body["data"] == []), r.describe()
    assert expect(srv.get(qs("/v1/events", session_id=sid)), 200)["data"] == []
    assert sid not in [s["id"] for s in srv.walk("/v1/sessions", {"q": sid})]
    assert_problem(srv.request("DELETE", f"/v1/sessions/{q(sid)}"), 404, "not-found")
    srv.session(keep)
    srv.event(f"{keep}-0")
    # the id is free again
    expect(srv.request("POST", "/v1/sessions", {"id": sid}), 201)
    assert srv.session(sid)["event_count"] == 0


def test_ids_with_special_characters(shared_server):
    srv = shared_server
    sid = "weird id/é?#%" + uid()
    eid = "ev id/ü&=+" + uid()
    srv.ingest_ok([{"id": eid, "session_id": sid}])
    assert srv.session(sid)["id"] == sid
    assert srv.event(eid)["id"] == eid


# =========================================================================== session events

def test_session_events_order_pagination_and_tree(shared_server):
    srv = shared_server
    sid = uid("tree-")
    # a (root) > b > c > d ; e (root) ; f's parent is not in the session at all
    spec = [("a", None, 0), ("b", "a", 1), ("c", "b", 2), ("d", "c", 3), ("e", None, 4), ("f", "zz", 5),
            ("g", "a", 6)]
    evs = [{"id": f"{sid}-{n}", "session_id": sid, "parent_id": f"{sid}-{p}" if p else None,
            "started_at": rfc(T0 + t * SEC), "type": "step"} for n, p, t in spec]
    for ev in evs:
        if ev["parent_id"] is None:
            del ev["parent_id"]
    shuffled = [evs[i] for i in (5, 2, 0, 6, 4, 1, 3)]
    srv.ingest_ok(shuffled)
    order = [f"{sid}-{n}" for n, _, _ in spec]
    data = expect(srv.get(f"/v1/sessions/{q(sid)}/events"), 200)["data"]
    assert [e["id"] for e in data] == order, "events must be in started_at order"
    for e in data:
        assert "children" not in e or e["children"] == [], "flat listing has no nesting"
    assert [e["id"] for e in srv.walk(f"/v1/sessions/{q(sid)}/events", limit=2)] == order
    assert [e["id"] for e in srv.walk(f"/v1/sessions/{q(sid)}/events", limit=1)] == order

    def shape(nodes):
        out = []
        for n in nodes:
            assert "children" in n and isinstance(n["children"], list), f"tree node without children: {n}"
            out.append((n["id"].rsplit("-", 1)[1], shape(n["children"])))
        return out

    tree = expect(srv.get(qs(f"/v1/sessions/{q(sid)}/events", tree="true")), 200)
    assert tree["next_cursor"] is None
    assert shape(tree["data"]) == [("a", [("b", [("c", [("d", [])])]), ("g", [])]), ("e", []), ("f", [])], \
        f"tree=true nesting wrong: {shape(tree['data'])}"
    for k in EVENT_KEYS:
        assert k in tree["data"][0], f"tree node lacks {k!r}"
    # pagination with tree: page 2 of size 3 is c,d,e -> c is top-level (its parent b is on page 1)
    p1 = expect(srv.get(qs(f"/v1/sessions/{q(sid)}/events", tree="true", limit=3)), 200)
    assert shape(p1["data"]) == [("a", [("b", [("c", [])])])], shape(p1["data"])
    p2 = expect(srv.get(qs(f"/v1/sessions/{q(sid)}/events", tree="true", limit=3, cursor=p1["next_cursor"])), 200)
    assert shape(p2["data"]) == [("d", []), ("e", []), ("f", [])], shape(p2["data"])
    flat = expect(srv.get(qs(f"/v1/sessions/{q(sid)}/events", tree="false")), 200)["data"]
    assert [e["id"] for e in flat] == order


def test_session_events_many_pages(shared_server):
    srv = shared_server
    sid = uid("many-")
    n = 1234
    evs = [{"id": f"{sid}-{i:05d}", "session_id": sid, "started_at": rfc(T0 + (n - i) * 1000)} for i in range(n)]
    srv.ingest_ok(evs)
    want = [f"{sid}-{i:05d}" for i in reversed(range(n))]
    first = expect(srv.get(f"/v1/sessions/{q(sid)}/events"), 200)
    assert len(first["data"]) == 1000 and first["next_cursor"], "default limit is 1000"
    assert [e["id"] for e in srv.walk(f"/v1/sessions/{q(sid)}/events", limit=500)] == want
    assert [e["id"] for e in srv.walk(f"/v1/sessions/{q(sid)}/events", limit=10000)] == want
    assert srv.session(sid)["event_count"] == n


# =========================================================================== data set server

@pytest.fixture(scope="module")
def ds(module_servers):
    """A server holding dataset.build(), read-only for the tests that use it."""
    srv = module_servers.start()
    sessions = D.build()
    srv.ingest_ok(sessions=[s.wire for s in sessions])
    srv.ingest_ok([e.wire for e in D.all_events(sessions)])
    return srv, sessions


def test_dataset_rollups_exact(ds):
    srv, sessions = ds
    listed = {s["id"]: s for s in srv.walk("/v1/sessions", limit=1000)}
    assert set(listed) == {s.id for s in sessions}
    for s in sessions:
        check_fields(listed[s.id], D.expected_session_fields(s), f"listed session {s.id}")
        check_fields(srv.session(s.id), D.expected_session_fields(s), f"GET session {s.id}")


def test_sessions_filters(ds):
    srv, sessions = ds
    start = lambda s: s.started_at

    def ids(**params):
        got = [s["id"] for s in srv.walk("/v1/sessions", params, limit=1000)]
        assert len(got) == len(set(got)), f"duplicates for {params}: {got}"
        return set(got)

    def want(pred):
        return {s.id for s in sessions if pred(s)}

    cases = [
        ({"agent": "alpha"}, lambda s: s.agent == "alpha"),
        ({"status": "failure"}, lambda s: s.status == "failure"),
        ({"status": "running"}, lambda s: s.status == "running"),
        ({"tag": "three"}, lambda s: "three" in s.tags),
        ({"tag": "even"}, lambda s: "even" in s.tags),
        ({"tag": "nosuchtag"}, lambda s: False),
        ({"user_id": "user-1"}, lambda s: s.user_id == "user-1"),
        ({"q": "RESEARCH"}, lambda s: "research" in (s.name or "").lower()),
        ({"q": "User-3"}, lambda s: s.user_id == "user-3"),
        ({"q": "LS-05"}, lambda s: s.id == "ls-05"),
        ({"q": "gAmMa"}, lambda s: s.agent == "gamma"),
        ({"q": "noagent"}, lambda s: s.id == "ls-noagent"),
        ({"from": D.fmt_us(D.BASE + 4 * D.HOUR + D.HOUR // 2)}, lambda s: start(s) >= D.BASE + 4.5 * D.HOUR),
        ({"to": D.fmt_us(D.BASE + 5 * D.HOUR + D.HOUR // 2)}, lambda s: start(s) <= D.BASE + 5.5 * D.HOUR),
        ({"from": (D.BASE + 2 * D.HOUR + 1000) // 1000, "to": (D.BASE + 8 * D.HOUR + 1000) // 1000},
         lambda s: D.BASE + 2 * D.HOUR < start(s) < D.BASE + 8 * D.HOUR + 1000),
        ({"agent": "beta", "status": "success"}, lambda s: s.agent == "beta" and s.status == "success"),
        ({"agent": "alpha", "tag": "even", "q": "research"},
         lambda s: s.agent == "alpha" and "even" in s.tags and "research" in (s.name or "").lower()),
    ]
    for params, pred in cases:
        assert ids(**params) == want(pred), f"GET /v1/sessions {params}"


SORT_KEYS = {
    "started_at": lambda s: s.started_at,
    "last_event_at": lambda s: s.last_event_at,
    "cost_usd": lambda s: round(s.cost, 9),
    "total_tokens": lambda s: s.total_tokens,
    "event_count": lambda s: s.event_count,
    "error_count": lambda s: s.error_count,
}


@pytest.mark.parametrize("key", list(SORT_KEYS))
def test_sessions_sort_and_cursor_pagination(ds, key):
    srv, sessions = ds
    by_id = {s.id: s for s in sessions}
    f = SORT_KEYS[key]
    for desc in (False, True):
        sort = ("-" if desc else "") + key
        for limit in (4, 1000):
            got = [s["id"] for s in srv.walk("/v1/sessions", {"sort": sort}, limit=limit)]
            assert len(got) == len(set(got)), f"sort={sort} limit={limit}: duplicate ids across pages {got}"
            assert set(got) == set(by_id), f"sort={sort} limit={limit}: missing {set(by_id) - set(got)}"
            vals = [f(by_id[i]) for i in got]
            assert vals == sorted(vals, reverse=desc), f"sort={sort} limit={limit} order wrong: {list(zip(got, vals))}"


def test_sessions_default_sort_and_limit(ds):
    srv, sessions = ds
    want = [s.id for s in sorted(sessions, key=lambda s: s.started_at, reverse=True)]
    body = expect(srv.get("/v1/sessions"), 200)
    assert [s["id"] for s in body["data"]] == want and body["next_cursor"] is None
    body = expect(srv.get(qs("/v1/sessions", limit=3)), 200)
    assert [s["id"] for s in body["data"]] == want[:3] and body["next_cursor"]
    got = srv.walk("/v1/sessions", {"agent": "alpha"}, limit=1)
    assert [s["id"] for s in got] == [i for i in want if i in {s.id for s in sessions if s.agent == "alpha"}]


def test_events_filters_newest_first(ds):
    srv, sessions = ds
    evs = D.all_events(sessions)
    newest = sorted(evs, key=lambda e: e.start, reverse=True)

    def want(pred):
        return [e.id for e in newest if pred(e)]

    t_from, t_to = D.BASE + 3 * D.HOUR + 30 * D.SEC, D.BASE + 6 * D.HOUR + 30 * D.SEC
    cases = [
        ({}, lambda e: True),
        ({"type": "llm"}, lambda e: e.type == "llm"),
        ({"type": "tool"}, lambda e: e.type == "tool"),
        ({"name": "chat"}, lambda e: e.name == "chat"),
        ({"name": "quokka lookup"}, lambda e: e.name == "quokka lookup"),
        ({"status": "error"}, lambda e: e.status == "error"),
        ({"status": "ok"}, lambda e: e.status == "ok"),
        ({"model": "gpt-4o"}, lambda e: e.model == "gpt-4o"),
        ({"session_id": "ls-07"}, lambda e: e.session_id == "ls-07"),
        ({"agent": "beta"}, lambda e: e.agent == "beta"),
        ({"from": D.fmt_us(t_from)}, lambda e: e.start >= t_from),
        ({"to": D.fmt_us(t_to)}, lambda e: e.start <= t_to),
        ({"from": t_from // 1000, "to": t_to // 1000}, lambda e: t_from <= e.start <= t_to),
        ({"type": "llm", "status": "error", "agent": "gamma"},
         lambda e: e.type == "llm" and e.status == "error" and e.agent == "gamma"),
        ({"type": "llm", "model": "claude-3", "from": D.fmt_us(t_from)},
         lambda e: e.type == "llm" and e.model == "claude-3" and e.start >= t_from),
    ]
    for params, pred in cases:
        got = [e["id"] for e in srv.walk("/v1/events", params, limit=1000)]
        assert got == want(pred), f"GET /v1/events {params}: got {got}\nwant {want(pred)}"
    # pagination walks everything newest first without dupes
    assert [e["id"] for e in srv.walk("/v1/events", limit=7)] == want(lambda e: True)
    assert [e["id"] for e in srv.walk("/v1/events", {"type": "llm"}, limit=5)] == want(lambda e: e.type == "llm")
    body = expect(srv.get("/v1/events"), 200)
    assert len(body["data"]) == 50 and body["next_cursor"], "default limit is 50"


def test_events_full_text_search(ds):
    srv, _ = ds
    cases = {
        "quick fox": ["ls-03-e1"],                  # words AND, in input
        "QUICK": ["ls-03-e1"],                      # case-insensitive
        "quick zebra": [],                          # all words must match
        "brown glacier": [],                        # words in different events do not match
        "glac": ["ls-05-e2"],                       # prefix on the last word, in output
        "cold gla": ["ls-05-e2"],
        "reykjavik": ["ls-05-e2"],
        "refused upstream": ["ls-07-e0"],           # error message
        "proxy": ["ls-07-e0"],
        "quokka": ["ls-09-e3"],                     # name
        "quok": ["ls-09-e3"],
        "qui fox": [],                              # prefix only on the LAST word
    }
    deadline = time.monotonic() + 3.0
    while True:
        failures = {}
        for text, want in cases.items():
            r = srv.get(qs("/v1/events", q=text))
            got = [e["id"] for e in expect(r, 200)["data"]]
            if got != want:
                failures[text] = got
        if not failures or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not failures, f"full-text search wrong (q -> got), expected {cases}: {failures}"
    got = [e["id"] for e in expect(srv.get(qs("/v1/events", q="quick", type="tool")), 200)["data"]]
    assert got == (["ls-03-e1"] if _type_of("ls-03-e1") == "tool" else []), got
    got = [e["id"] for e in expect(srv.get(qs("/v1/events", q="quick", session_id="ls-03")), 200)["data"]]
    assert got == ["ls-03-e1"], got


def _type_of(eid):
    for s in D.build():
        for e in s.events:
            if e.id == eid:
                return e.type
    raise KeyError(eid)


def test_events_search_syntax_is_plain_words(ds):
    srv, _ = ds
    for text in ['quick "fox', "quick fox*", "(quick) fox", "quick: fox", "fox'", "quick^ fox-", "quick OR fox"]:
        r = srv.get(qs("/v1/events", q=text))
        assert r.status == 200, f"q={text!r} must be treated as plain words:\n{r.describe()}"
    r = srv.get(qs("/v1/events", q='quick "fox'))
    assert [e["id"] for e in r.body["data"]] == ["ls-03-e1"], r.describe()


def test_event_search_is_current_within_a_second(shared_server):
    srv = shared_server
    word = "zyx" + uid()
    eid = uid("fts-")
    srv.ingest_ok([{"id": eid, "session_id": uid("fts-s-"), "name": f"find {word}"}])
    deadline = time.monotonic() + 3.0
    while True:
        got = [e["id"] for e in expect(srv.get(qs("/v1/events", q=word)), 200)["data"]]
        if got == [eid] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == [eid], f"search for a fresh word found {got} (must be current within 1 s)"


def test_agents_stats(ds):
    srv, sessions = ds

    def expected(ss):
        groups = {}
        for s in ss:
            groups.setdefault(s.agent, []).append(s)
        out = {}
        for agent, g in groups.items():
            failed = sum(s.failed for s in g)
            durs = [s.duration_ms for s in g]
            out[agent] = {
                "sessions": len(g), "running_sessions": sum(s.status == "running" for s in g),
                "failed_sessions": failed, "events": sum(s.event_count for s in g),
                "errors": sum(s.error_count for s in g), "error_rate": failed / len(g),
                "llm_calls": sum(s.llm_count for s in g), "tool_calls": sum(s.tool_count for s in g),
                "input_tokens": sum(s.input_tokens for s in g), "output_tokens": sum(s.output_tokens for s in g),
                "total_tokens": sum(s.total_tokens for s in g), "cost_usd": sum(s.cost for s in g),
                "_last_seen": {fmt_us(max(s.last_event_at for s in g)),
                               fmt_us(max(s.ended if s.ended is not None else s.last_event_at for s in g))},
                "_p50": D.percentile_candidates(durs, 0.5), "_p95": D.percentile_candidates(durs, 0.95),
            }
        return out

    def check(params, ss):
        r = srv.get(qs("/v1/agents", **params))
        body = expect(r, 200)
        rows = body["data"]
        by = {}
        for row in rows:
            for k in AGENT_KEYS:
                assert k in row, f"agents row lacks {k!r}: {row}"
            assert row["agent"] not in by, f"agent {row['agent']!r} listed twice"
            by[row["agent"]] = row
        exp = expected(ss)
        assert set(by) == set(exp), f"/v1/agents {params}: agents {set(by)} != {set(exp)}"
        for agent, e in exp.items():
            row = by[agent]
            check_fields(row, {k: v for k, v in e.items() if not k.startswith("_")}, f"agent {agent!r} {params}")
            assert row["last_seen_at"] in e["_last_seen"], \
                f"agent {agent!r} last_seen_at={row['last_seen_at']}, expected one of {e['_last_seen']}"
            for p in ("_p50", "_p95"):
                key = f"{p[1:]}_duration_ms"
                val = row[key]
                assert isinstance(val, (int, float)) and any(val == approx(c) for c in e[p]), \
                    f"agent {agent!r} {key}={val}, expected one of {e[p]} (session durations)"

    check({}, sessions)
    t_from = D.BASE + 4 * D.HOUR + D.HOUR // 2
    t_to = D.BASE + 9 * D.HOUR + D.HOUR // 2
    check({"from": fmt_us(t_from)}, [s for s in sessions if s.started_at >= t_from])
    check({"from": fmt_us(t_from), "to": t_to // 1000}, [s for s in sessions if t_from <= s.started_at <= t_to])


# =========================================================================== health, metrics, openapi

def test_health_and_ready(shared_server):
    srv = shared_server
    r = srv.get("/healthz", key=None)
    assert r.status == 200 and r.body == {"status": "ok"}, r.describe()
    r = srv.get("/readyz", key=None)
    assert r.status == 200 and r.body == {"status": "ready"}, r.describe()


def parse_metrics(text: str) -> dict:
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)', line)
        assert m, f"unparseable metrics line: {line!r}"
        labels = {}
        if m.group(2):
            for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)):
                labels[lm.group(1)] = lm.group(2)
        samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return samples


def test_metrics(shared_server):
    srv = shared_server
    r = srv.get("/metrics", key=None)
    assert r.status == 200, r.describe()
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    before = parse_metrics(r.raw.decode())
    names = ["agentlog_http_requests_total", "agentlog_ingest_events_total", "agentlog_ingest_events_per_second",
             "agentlog_ingest_queue_events", "agentlog_ingest_queue_bytes", "agentlog_commit_duration_seconds_bucket",
             "agentlog_commit_duration_seconds_sum", "agentlog_commit_duration_seconds_count",
             "agentlog_database_size_bytes"]
    for n in names:
        assert n in before, f"/metrics lacks {n}"
    for labels, _ in before["agentlog_http_requests_total"]:
        assert {"method", "route", "status"} <= set(labels), f"http_requests_total labels: {labels}"
    assert any(l.get("le") == "+Inf" for l, _ in before["agentlog_commit_duration_seconds_bucket"])
    assert before["agentlog_database_size_bytes"][0][1] > 0

    def ingest_200(samples):
        return sum(v for l, v in samples.get("agentlog_http_requests_total", [])
                   if l.get("method") == "POST" and l.get("status") == "200" and "ingest" in l.get("route", ""))

    total = lambda s: sum(v for _, v in s["agentlog_ingest_events_total"])
    commits = lambda s: sum(v for _, v in s["agentlog_commit_duration_seconds_count"])
    sid = uid("met-")
    srv.ingest_ok([{"session_id": sid} for _ in range(7)])
    srv.ingest_ok([{"session_id": sid} for _ in range(3)])
    after = parse_metrics(srv.metrics())
    assert total(after) - total(before) == 10, "agentlog_ingest_events_total must grow by the 10 ingested events"
    assert ingest_200(after) - ingest_200(before) == 2, "http_requests_total{POST,ingest,200} must grow by 2"
    assert commits(after) > commits(before), "commit histogram count must grow"


EXPECTED_PATHS = {
    "/v1/ingest": {"post"},
    "/v1/sessions": {"get", "post"},
    "/v1/sessions/{}": {"get", "patch", "delete"},
    "/v1/sessions/{}/events": {"get"},
    "/v1/events": {"get"},
    "/v1/events/{}": {"get"},
    "/v1/agents": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/openapi.json": {"get"},
}


@pytest.fixture(scope="module")
def openapi(shared_server) -> OpenApi:
    r = shared_server.get("/openapi.json", key=None)
    assert r.status == 200, r.describe()
    assert "json" in (r.headers.get("Content-Type") or ""), r.describe()
    assert isinstance(r.body, dict), f"/openapi.json is not a JSON object: {r.raw[:200]!r}"
    return OpenApi(r.body)


def test_openapi_document(openapi):
    doc = openapi.doc
    assert isinstance(doc.get("openapi"), str) and re.match(r"^3\.1\.\d+$", doc["openapi"]), doc.get("openapi")
    missing = []
    for p, methods in EXPECTED_PATHS.items():
        item = openapi.paths.get(p)
        if item is None:
            missing.append(p)
            continue
        for m in methods:
            if m not in item:
                missing.append(f"{m.upper()} {p}")
    assert not missing, f"/openapi.json lacks: {missing}"
    schemas = (doc.get("components") or {}).get("schemas") or {}
    assert schemas, "/openapi.json has no components/schemas"
    assert any("problem" in k.lower() for k in schemas), \
        f"/openapi.json has no Problem schema among {sorted(schemas)}"


def test_responses_conform_to_openapi(openapi, ds, shared_server):
    srv, _ = ds
    sid = uid("oa-")
    checks = []

    def check(path_tmpl, method, status, resp):
        if resp.status != status:
            checks.append(f"{method} {path_tmpl}: expected {status}:\n{resp.describe()}")
            return
        try:
            schema = openapi.response_schema(path_tmpl, method, status)
        except AssertionError as e:
            checks.append(str(e))
            return
        errs = openapi.validate(resp.body, schema)
        if errs:
            checks.append(f"{method} {path_tmpl} {status}: {errs[:5]}")

    _, events, _ = roundtrip_batch(sid)
    session = {"id": sid, "name": "oa", "tags": ["x"]}
    check("/v1/ingest", "POST", 200, shared_server.ingest(events, [session]))
    check("/v1/ingest", "POST", 200, shared_server.ingest([{"session_id": sid}, {"type": 1}]))
    check("/v1/sessions", "GET", 200, srv.get("/v1/sessions"))
    check("/v1/sessions", "GET", 200, srv.get(qs("/v1/sessions", limit=2)))
    check("/v1/sessions/{}", "GET", 200, shared_server.get(f"/v1/sessions/{q(sid)}"))
    check("/v1/sessions/{}", "GET", 200, srv.get("/v1/sessions/ls-noagent"))
    check("/v1/sessions", "POST", 201, shared_server.request("POST", "/v1/sessions", {"id": sid + "-p"}))
    check("/v1/sessions/{}", "PATCH", 200,
          shared_server.request("PATCH", f"/v1/sessions/{q(sid)}-p", {"status": "success"}))
    check("/v1/sessions/{}/events", "GET", 200, shared_server.get(f"/v1/sessions/{q(sid)}/events"))
    check("/v1/sessions/{}/events", "GET", 200, shared_server.get(f"/v1/sessions/{q(sid)}/events?tree=true"))
    check("/v1/events", "GET", 200, srv.get("/v1/events"))
    check("/v1/events", "GET", 200, shared_server.get(qs("/v1/events", session_id=sid)))
    for eid in ("a", "c", "d", "e"):
        check("/v1/events/{}", "GET", 200, shared_server.get(f"/v1/events/{q(sid)}-{eid}"))
    check("/v1/agents", "GET", 200, srv.get("/v1/agents"))
    check("/healthz", "GET", 200, srv.get("/healthz", key=None))
    check("/readyz", "GET", 200, srv.get("/readyz", key=None))
    check("/v1/sessions/{}", "GET", 404, srv.get("/v1/sessions/" + uid("none-")))
    check("/v1/events/{}", "GET", 404, srv.get("/v1/events/" + uid("none-")))
    check("/v1/ingest", "POST", 422, shared_server.ingest([{"type": 1}]))
    check("/v1/sessions", "POST", 409, shared_server.request("POST", "/v1/sessions", {"id": sid}))
    check("/v1/sessions", "GET", 400, srv.get("/v1/sessions?limit=0"))
    assert not checks, "responses do not conform to /openapi.json:\n" + "\n".join(checks)
