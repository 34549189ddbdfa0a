"""The server side of the dashboard, against the real binary: users and log-in (argon2id,
cookie session, CSRF, roles, rate limit), the live stream (GET /v1/stream, SSE), and the
agents time series."""
from __future__ import annotations

import gzip
import re
import signal
import socket
import time

import pytest

from conftest import assert_problem, expect, now_us, qs, rfc, uid
from sse import Stream, count_events

PASSWORD = "correct horse battery"


def create_user(server, email: str, role: str, password: str | None = PASSWORD) -> str:
    args = ["users", "create", "--email", email, "--role", role]
    if password is not None:
        args += ["--password", password]
    out = server.cli(*args)
    return out.strip().splitlines()[-1] if password is None else password


def login(server, email: str, password: str = PASSWORD, headers: dict | None = None):
    return server.request("POST", "/v1/auth/login", {"email": email, "password": password}, key=None,
                          headers=headers)


class Browser:
    """A logged-in cookie jar: what the dashboard has after log-in."""

    def __init__(self, server, email: str, password: str = PASSWORD):
        self.server = server
        r = login(server, email, password)
        body = expect(r, 200)
        cookie = r.headers["Set-Cookie"]
        self.cookie = cookie.split(";", 1)[0]
        self.csrf = body["csrf_token"]
        self.user = body["user"]

    def request(self, method: str, path: str, body=None, csrf: bool = True, headers: dict | None = None):
        h = {"Cookie": self.cookie}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        return self.server.request(method, path, body, key=None, headers=h)


@pytest.fixture
def users(server):
    create_user(server, "admin@example.com", "admin")
    create_user(server, "member@example.com", "member")
    create_user(server, "viewer@example.com", "viewer")
    return server


# ---------------------------------------------------------------------------- users + log-in

def test_users_cli_creates_lists_and_deletes(server):
    generated = create_user(server, "Gen@Example.com", "viewer", password=None)
    assert len(generated) >= 16, "a generated password is long and printed last"
    listing = server.cli("users", "list")
    assert re.search(r"gen@example\.com\s+viewer", listing), listing
    p = server.cli_run("users", "create", "--email", "gen@example.com", "--password", PASSWORD, check=False)
    assert p.returncode != 0 and "exists" in p.stderr
    p = server.cli_run("users", "create", "--email", "short@example.com", "--password", "short", check=False)
    assert p.returncode != 0 and "8 characters" in p.stderr
    expect(login(server, "GEN@example.com", generated), 200)  # e-mails are case-insensitive
    server.cli("users", "delete", "--email", "gen@example.com")
    assert_problem(login(server, "gen@example.com", generated), 401, "invalid-credentials")


def test_login_sets_a_safe_cookie_and_me_describes_the_user(users):
    r = login(users, "member@example.com")
    body = expect(r, 200)
    assert body["user"]["email"] == "member@example.com" and body["user"]["role"] == "member"
    assert body["project"]["name"] == "default"
    assert re.fullmatch(r"[0-9a-f]{64}", body["csrf_token"])
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("agentlog_session=")
    for attr in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"):
        assert attr in cookie, cookie
    assert "Secure" not in cookie, "plain HTTP on loopback: a Secure cookie would never come back"
    behind_tls = login(users, "member@example.com", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in behind_tls.headers["Set-Cookie"]
    b = Browser(users, "member@example.com")
    me = expect(b.request("GET", "/v1/auth/me"), 200)
    assert me["user"] == b.user and me["csrf_token"] == b.csrf
    # The cookie works on the whole API, like a key of the default project.
    users.ingest_ok([{"session_id": "cookie-s", "type": "llm"}])
    assert expect(b.request("GET", "/v1/sessions/cookie-s"), 200)["id"] == "cookie-s"


def test_wrong_credentials_are_401_and_repeated_failures_429(users):
    assert_problem(login(users, "member@example.com", "wrong password"), 401, "invalid-credentials")
    assert_problem(login(users, "nobody@example.com"), 401, "invalid-credentials")
    assert_problem(users.request("POST", "/v1/auth/login", {"email": "member@example.com"}, key=None), 422)
    assert_problem(users.request("POST", "/v1/auth/login", raw_body=b"{", key=None), 400, "malformed-json")
    statuses = [login(users, "viewer@example.com", f"guess {i}").status for i in range(8)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 3, statuses
    r = login(users, "viewer@example.com")  # even the right password waits out the window
    assert_problem(r, 429, "too-many-attempts")
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    expect(login(users, "member@example.com"), 200)  # other accounts are unaffected


def test_cookie_writes_need_the_csrf_token_and_a_role_that_may_write(users):
    users.ingest_ok([{"session_id": s, "type": "step"} for s in ("del-1", "del-2", "del-3")])
    member = Browser(users, "member@example.com")
    assert_problem(member.request("DELETE", "/v1/sessions/del-1", csrf=False), 403, "csrf")
    bad = member.request("DELETE", "/v1/sessions/del-1", headers={"X-CSRF-Token": "0" * 64})
    assert_problem(bad, 403, "csrf")
    assert member.request("DELETE", "/v1/sessions/del-1").status == 204
    viewer = Browser(users, "viewer@example.com")
    expect(viewer.request("GET", "/v1/sessions/del-2"), 200)  # viewers read
    assert_problem(viewer.request("DELETE", "/v1/sessions/del-2"), 403, "forbidden")
    assert_problem(viewer.request("PATCH", "/v1/sessions/del-2", {"status": "success"}), 403, "forbidden")
    expect(users.get("/v1/sessions/del-2"), 200)
    # API keys need no CSRF token: they are never sent by a browser on its own.
    assert users.request("DELETE", "/v1/sessions/del-3").status == 204


def test_logout_ends_the_session_everywhere(users):
    b = Browser(users, "admin@example.com")
    expect(b.request("GET", "/v1/auth/me"), 200)
    r = b.request("POST", "/v1/auth/logout")
    assert r.status == 204
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert_problem(b.request("GET", "/v1/auth/me"), 401, "unauthorized")
    assert_problem(b.request("GET", "/v1/sessions"), 401, "unauthorized")


def test_me_with_an_api_key_has_no_user(shared_server):
    body = expect(shared_server.get("/v1/auth/me"), 200)
    assert body["user"] is None and body["csrf_token"] is None and body["project"]["name"] == "default"


def test_seed_creates_the_demo_user(server):
    out = server.cli("seed", "--demo")
    assert "demo@agentlog.local / agentlog-demo" in out
    server.cli("seed", "--demo")  # again: the user is kept, not an error
    body = expect(login(server, "demo@agentlog.local", "agentlog-demo"), 200)
    assert body["user"]["role"] == "admin"


# ---------------------------------------------------------------------------- live stream

def test_stream_delivers_committed_events_and_sessions_live(shared_server):
    sid = uid("live-")
    s = Stream(shared_server, qs("/v1/stream", session_id=sid))
    try:
        assert s.status_line.startswith("HTTP/1.1 200")
        assert s.headers["content-type"].startswith("text/event-stream")
        assert s.headers["cache-control"] == "no-store"
        s.wait(lambda m: any(x.get(":") == "connected" or x.get("retry") for x in m))
        shared_server.ingest_ok([{"id": f"{sid}-1", "session_id": sid, "type": "llm", "name": "plan"},
                                 {"id": f"{sid}-2", "session_id": sid, "type": "tool", "name": "search"}])
        shared_server.ingest_ok([{"id": "elsewhere", "session_id": uid("other-"), "type": "llm"}])
        s.wait(lambda m: sum(1 for x in m if x.get("event") == "session") >= 1 and count_events(2)(m))
        events = s.events()
        assert [e["id"] for e in events] == [f"{sid}-1", f"{sid}-2"]
        stored = shared_server.event(f"{sid}-1")
        assert events[0]["_seq"] == stored["seq"], "the SSE id is the event's seq"
        assert {k: v for k, v in events[0].items() if k != "_seq"} == stored, "same shape as GET /v1/events/{id}"
        assert s.sessions()[-1]["id"] == sid and s.sessions()[-1]["event_count"] == 2
    finally:
        s.close()


def test_stream_filters_by_type_and_agent_and_kind(shared_server):
    agent = uid("agent-")
    by_type = Stream(shared_server, qs("/v1/stream", agent=agent, type="tool", include="events"))
    sessions_only = Stream(shared_server, qs("/v1/stream", agent=agent, include="sessions"))
    try:
        sid = uid("f-")
        shared_server.ingest_ok(
            [{"session_id": sid, "type": "llm", "agent": agent}, {"session_id": sid, "type": "tool", "agent": agent},
             {"session_id": uid("f-"), "type": "tool", "agent": "someone-else"}])
        by_type.wait(count_events(1))
        sessions_only.wait(lambda m: any(x.get("event") == "session" for x in m))
        time.sleep(0.3)  # anything wrongly sent would have arrived by now
        assert [e["type"] for e in by_type.events()] == ["tool"] and not by_type.sessions()
        assert not sessions_only.events() and {x["id"] for x in sessions_only.sessions()} == {sid}
    finally:
        by_type.close()
        sessions_only.close()


def test_stream_resumes_from_last_event_id(shared_server):
    sid = uid("resume-")
    shared_server.ingest_ok([{"id": f"{sid}-{i}", "session_id": sid} for i in range(5)])
    seqs = [shared_server.event(f"{sid}-{i}")["seq"] for i in range(5)]
    s = Stream(shared_server, qs("/v1/stream", session_id=sid, include="events"),
               headers={"Last-Event-ID": str(seqs[1])})
    q = Stream(shared_server, qs("/v1/stream", session_id=sid, include="events", last_event_id=seqs[3]))
    try:
        s.wait(count_events(3))
        q.wait(count_events(1))
        shared_server.ingest_ok([{"id": f"{sid}-5", "session_id": sid}])
        s.wait(count_events(4))
        q.wait(count_events(2))
        assert [e["id"] for e in s.events()] == [f"{sid}-{i}" for i in (2, 3, 4, 5)]
        assert [e["id"] for e in q.events()] == [f"{sid}-{i}" for i in (4, 5)]
    finally:
        s.close()
        q.close()


def test_stream_rejects_bad_parameters_and_needs_auth(shared_server):
    assert_problem(shared_server.get("/v1/stream?type=bogus"), 400, "invalid-parameter")
    assert_problem(shared_server.get("/v1/stream?last_event_id=abc"), 400, "invalid-parameter")
    assert_problem(shared_server.get("/v1/stream?include=nothing"), 400, "invalid-parameter")
    assert_problem(shared_server.get("/v1/stream", key=None), 401, "unauthorized")


def test_a_reader_that_stops_reading_is_dropped_and_ingest_goes_on(shared_server):
    sid = uid("slow-")
    slow = socket.create_connection((shared_server.host, shared_server.port))
    slow.sendall(f"GET /v1/stream?session_id={sid}&include=events HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {shared_server.key}\r\n\r\n".encode())
    fast = Stream(shared_server, qs("/v1/stream", session_id=sid, include="events"))
    try:
        big = "x" * 50_000
        # 2 MB per batch, 40 MB in all: beyond the 8 MiB a client may lag plus what the
        # kernel's socket buffers hold (a few MB each way on loopback).
        for i in range(20):
            shared_server.ingest_ok([{"session_id": sid, "input": big} for _ in range(40)])
        fast.wait(count_events(800), timeout=60)
    finally:
        fast.close()
    # The slow client's buffer overflowed: the server closed its stream. Reading now finds
    # the end (after whatever had been buffered), well before everything was sent.
    slow.settimeout(30)
    received = 0
    while True:
        chunk = slow.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
    slow.close()
    assert received < 800 * 50_000 * 0.75, received
    dropped = re.search(r"^agentlog_stream_dropped_clients_total (\d+)$", shared_server.metrics(), re.M)
    assert dropped and int(dropped.group(1)) >= 1


def test_sigterm_ends_open_streams_and_exits_promptly(servers):
    s = servers.start()
    st = Stream(s, "/v1/stream")
    st.wait(lambda m: len(m) >= 1)
    t0 = time.time()
    assert s.stop(signal.SIGTERM, timeout=15) == 0
    st.wait_closed()
    assert time.time() - t0 < 10


# ---------------------------------------------------------------------------- time series

def test_agents_timeseries_buckets_events(server):
    base = (now_us() // 3_600_000_000 - 3) * 3_600_000_000  # three hours ago, on the hour
    events = [
        {"session_id": "ts1", "agent": "planner", "type": "llm", "started_at": rfc(base + 60_000_000),
         "usage": {"input_tokens": 10, "output_tokens": 5}, "cost_usd": 0.5},
        {"session_id": "ts1", "agent": "planner", "started_at": rfc(base + 3_600_000_000 + 1),
         "error": "boom"},
        {"session_id": "ts2", "agent": "coder", "started_at": rfc(base + 2 * 3_600_000_000)},
    ]
    server.ingest_ok(events)
    body = expect(server.get(qs("/v1/agents/timeseries", **{"from": rfc(base), "to": rfc(base + 3 * 3_600_000_000),
                                                             "step": 3600})), 200)
    assert body["step_seconds"] == 3600
    assert body["t"] == [base // 1_000_000 + 3600 * i for i in range(3)]
    by = {s["agent"]: s for s in body["series"]}
    assert set(by) == {"planner", "coder"}
    assert by["planner"]["events"] == [1, 1, 0] and by["planner"]["errors"] == [0, 1, 0]
    assert by["planner"]["total_tokens"] == [15, 0, 0] and by["planner"]["cost_usd"] == [0.5, 0, 0]
    assert by["coder"]["events"] == [0, 0, 1]
    only = expect(server.get(qs("/v1/agents/timeseries", agent="coder", **{"from": rfc(base)}, step=3600)), 200)
    assert [s["agent"] for s in only["series"]] == ["coder"]
    default = expect(server.get("/v1/agents/timeseries"), 200)
    assert len(default["t"]) <= 201 and default["step_seconds"] % 60 == 0, "last 24 h in whole minutes"
    assert_problem(server.get(qs("/v1/agents/timeseries", step=1, **{"from": rfc(base)})), 400, "invalid-parameter")
    assert_problem(server.get(qs("/v1/agents/timeseries", **{"from": rfc(base), "to": rfc(base)})), 400)


# ---------------------------------------------------------------------------- the dashboard's files

def test_dashboard_is_served_with_caching_compression_and_spa_fallback(shared_server):
    s = shared_server
    index = s.get("/", key=None)
    assert index.status == 200 and index.headers["Content-Type"].startswith("text/html"), index.describe()
    assert index.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    html = index.raw.decode()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets), html
    etag = index.headers["ETag"]
    assert s.get("/", key=None, headers={"If-None-Match": etag}).status == 304
    # The app's own routes get the app, so links can be shared and reloaded.
    deep = s.get("/sessions/some-id?event=e1", key=None)
    assert deep.status == 200 and deep.raw == index.raw
    compressed = 0
    for a in assets:
        plain = s.get(a, key=None)
        assert plain.status == 200 and "immutable" in plain.headers["Cache-Control"], plain.describe()
        assert plain.headers.get("Content-Encoding") is None, "no gzip for a client that did not ask"
        gz = s.get(a, key=None, headers={"Accept-Encoding": "gzip, br"})
        if gz.headers.get("Content-Encoding") == "gzip":
            compressed += 1
            assert gzip.decompress(gz.raw) == plain.raw
    assert compressed > 0, "scripts and styles compress well; they must be sent gzipped"
    assert_problem(s.get("/assets/missing.js", key=None), 404, "not-found")
    assert_problem(s.get("/v1/unknown"), 404, "not-found")
