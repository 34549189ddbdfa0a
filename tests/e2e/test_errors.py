"""Every documented error: status, problem+json shape and type slug (docs/api.md, Errors)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib

import pytest

from conftest import (assert_problem, create_key, expect, gen_key, qs, raw_exchange, revoke_key, uid)

V1_ROUTES = [
    ("POST", "/v1/ingest", {"events": [{"session_id": "s"}]}),
    ("GET", "/v1/sessions", None),
    ("POST", "/v1/sessions", {"id": "x"}),
    ("GET", "/v1/sessions/x", None),
    ("PATCH", "/v1/sessions/x", {"name": "n"}),
    ("DELETE", "/v1/sessions/x", None),
    ("GET", "/v1/sessions/x/events", None),
    ("GET", "/v1/events", None),
    ("GET", "/v1/events/x", None),
    ("GET", "/v1/agents", None),
]


# =========================================================================== 401

def test_401_missing_wrong_and_malformed_keys(shared_server):
    srv = shared_server
    for method, path, body in V1_ROUTES:
        assert_problem(srv.request(method, path, body, key=None), 401, "unauthorized")
        assert_problem(srv.request(method, path, body, key=gen_key()), 401, "unauthorized")
    bad_headers = [
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {srv.key}"},
        {"Authorization": f"Bearer {srv.key}x"},
        {"Authorization": f"Bearer {srv.key[:-1]}"},
        {"Authorization": "Bearer " + "a" * 4000},
        {"X-API-Key": ""},
        {"X-API-Key": gen_key()},
        {"X-API-Key": srv.key.upper() if srv.key.upper() != srv.key else srv.key.lower()},
    ]
    for h in bad_headers:
        assert_problem(srv.request("GET", "/v1/sessions", key=None, headers=h), 401, "unauthorized")


def test_valid_key_both_schemes_and_public_routes(shared_server):
    srv = shared_server
    expect(srv.get("/v1/sessions"), 200)
    expect(srv.get("/v1/sessions", scheme="x-api-key"), 200)
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        r = srv.get(path, key=None)
        assert r.status == 200, f"{path} must not need a key:\n{r.describe()}"


def test_401_after_cli_revoke(shared_server):
    srv = shared_server
    name = uid("revokeme-")
    secret = create_key(srv.cli, name=name)
    r = srv.get("/v1/sessions", key=secret)
    assert r.status == 200, f"a freshly created key must work against the running server:\n{r.describe()}"
    revoke_key(srv.cli_run, name, secret)
    deadline = time.monotonic() + 2.0
    while True:
        r = srv.get("/v1/sessions", key=secret)
        if r.status == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert_problem(r, 401, "unauthorized")
    assert_problem(srv.ingest([{"session_id": "s"}], key=secret), 401, "unauthorized")
    expect(srv.get("/v1/sessions"), 200)  # the env key still works


# =========================================================================== 404 / 405

def test_404_unknown_routes_and_ids(shared_server):
    srv = shared_server
    for path in ("/v1/nope", "/v1/sessions/x/nope", "/v1", "/v1/events/a/b", "/assets/nope.js", "/nope.txt"):
        assert_problem(srv.get(path), 404, "not-found")
    # Paths outside /v1 belong to the dashboard, which routes (and shows "not found") itself.
    for path in ("/nope", "/v2/sessions"):
        r = srv.get(path)
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), r.describe()
    assert_problem(srv.request("POST", "/v1/unknown", {"a": 1}), 404, "not-found")
    missing = uid("missing-")
    for method, path, body in [("GET", f"/v1/sessions/{missing}", None),
                               ("PATCH", f"/v1/sessions/{missing}", {"name": "x"}),
                               ("DELETE", f"/v1/sessions/{missing}", None),
                               ("GET", f"/v1/events/{missing}", None)]:
        p = assert_problem(srv.request(method, path, body), 404, "not-found")
        if p.get("instance") is not None:
            assert p["instance"].split("?")[0] == path, p


def test_405_with_allow(shared_server):
    srv = shared_server
    cases = [
        ("GET", "/v1/ingest", {"POST"}),
        ("DELETE", "/v1/ingest", {"POST"}),
        ("PUT", "/v1/sessions", {"GET", "POST"}),
        ("DELETE", "/v1/sessions", {"GET", "POST"}),
        ("POST", "/v1/sessions/x", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/v1/sessions/x", {"GET", "PATCH", "DELETE"}),
        ("POST", "/v1/sessions/x/events", {"GET"}),
        ("POST", "/v1/events", {"GET"}),
        ("DELETE", "/v1/events/x", {"GET"}),
        ("POST", "/v1/agents", {"GET"}),
        ("POST", "/healthz", {"GET"}),
        ("DELETE", "/metrics", {"GET"}),
    ]
    for method, path, allowed in cases:
        body = {"a": 1} if method in ("POST", "PUT", "PATCH") else None
        r = srv.request(method, path, body)
        assert_problem(r, 405, "method-not-allowed")
        allow = r.headers.get("Allow")
        assert allow, f"405 without Allow header:\n{r.describe()}"
        got = {m.strip().upper() for m in allow.split(",") if m.strip()}
        assert allowed <= got and method not in got, f"{method} {path}: Allow {allow!r}, expected {allowed}"


# =========================================================================== 400

MALFORMED = [
    b'{"events": [',
    b"{bad json}",
    b'{"events": [{"session_id": "s",}]}',
    b"{'events': []}",
    b'{"events": [{"session_id": "s\xff"}]}',
    b'{"events": [{"session_id": "\xc0\xaf"}]}',
    b'{"events": [{"session_id": "\xed\xa0\x80"}]}',
    b'{"events": [{"session_id": "s", "name": "\xe2\x82"}]}',
    b'{"events": [{"session_id": "s"}]} trailing',
    b'{"events": [{"session_id": "s", "cost_usd": NaN}]}',
    b'{"events": [{"session_id": "s", "input": ' + b"[" * 600 + b"]" * 600 + b"}]}",
    b"[" * 200_000,
    b"[" * 200_000 + b"]" * 200_000,
    b"",
    b"   ",
    b'{"events": [{"session_id": "s"}]',
    b'{"events": [{"session_id": "s\x01"}]}',
]


def test_400_malformed_json(shared_server):
    srv = shared_server
    for body in MALFORMED:
        r = srv.request("POST", "/v1/ingest", raw_body=body)
        assert_problem(r, 400, "malformed-json")
    for body in (b"{nope", b'{"id": "x"'):
        assert_problem(srv.request("POST", "/v1/sessions", raw_body=body), 400, "malformed-json")
    sid = uid("patchme-")
    srv.ingest_ok(sessions=[{"id": sid}])
    assert_problem(srv.request("PATCH", f"/v1/sessions/{sid}", raw_body=b"{"), 400, "malformed-json")
    expect(srv.get("/healthz", key=None), 200)


def test_400_invalid_parameter(shared_server):
    srv = shared_server
    sid = uid("ip-")
    srv.ingest_ok([{"session_id": sid}])
    cases = [
        ("/v1/sessions", {"limit": "0"}, "limit"),
        ("/v1/sessions", {"limit": "abc"}, "limit"),
        ("/v1/sessions", {"limit": "1001"}, "limit"),
        ("/v1/sessions", {"limit": "-1"}, "limit"),
        ("/v1/sessions", {"limit": "1.5"}, "limit"),
        ("/v1/sessions", {"sort": "bogus"}, "sort"),
        ("/v1/sessions", {"sort": "-name"}, "sort"),
        ("/v1/sessions", {"sort": "--cost_usd"}, "sort"),
        ("/v1/sessions", {"from": "notatime"}, "from"),
        ("/v1/sessions", {"to": "2026-13-45T99:00:00Z"}, "to"),
        ("/v1/sessions", {"status": "weird"}, "status"),
        ("/v1/sessions", {"cursor": "!!garbage!!"}, "cursor"),
        ("/v1/events", {"limit": "0"}, "limit"),
        ("/v1/events", {"limit": "1001"}, "limit"),
        ("/v1/events", {"from": "x"}, "from"),
        ("/v1/events", {"type": "bogus"}, "type"),
        ("/v1/events", {"status": "bogus"}, "status"),
        ("/v1/events", {"cursor": "garbage"}, "cursor"),
        (f"/v1/sessions/{sid}/events", {"limit": "0"}, "limit"),
        (f"/v1/sessions/{sid}/events", {"limit": "10001"}, "limit"),
        (f"/v1/sessions/{sid}/events", {"tree": "maybe"}, "tree"),
        (f"/v1/sessions/{sid}/events", {"cursor": "zz"}, "cursor"),
        ("/v1/agents", {"from": "yesterday"}, "from"),
    ]
    bad = []
    for path, params, field in cases:
        r = srv.get(qs(path, **params))
        try:
            body = assert_problem(r, 400, "invalid-parameter")
            errs = body.get("errors")
            assert isinstance(errs, list) and any(e.get("field") == field for e in errs), \
                f"errors must name field {field!r}:\n{r.describe()}"
        except AssertionError as e:
            bad.append(str(e))
    assert not bad, "\n\n".join(bad)
    # the limits themselves are fine
    for path, limit in (("/v1/sessions", 1000), ("/v1/events", 1000), (f"/v1/sessions/{sid}/events", 10000),
                        ("/v1/sessions", 1)):
        expect(srv.get(qs(path, limit=limit)), 200)


# =========================================================================== 413

@pytest.fixture(scope="module")
def limited(module_servers):
    return module_servers.start(env={"AGENTLOG_MAX_BODY_BYTES": "1048576",
                                     "AGENTLOG_MAX_DECOMPRESSED_BYTES": "2097152"})


def _headers(srv, length, extra=b""):
    return (b"POST /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + srv.key.encode() + b"\r\n" + extra +
            b"Content-Length: " + str(length).encode() + b"\r\n\r\n")


def test_413_content_length_refused_before_body(limited):
    srv = limited
    t = time.monotonic()
    # Only the headers: the server must answer from Content-Length without waiting for the body.
    status, raw, err = raw_exchange(srv.port, _headers(srv, 2 * 1024 * 1024), timeout=5)
    assert status == 413, f"2 MiB Content-Length with a 1 MiB limit: status {status}, err {err}, {raw[:300]!r}"
    assert err != "timeout", f"server answered 413 but did not close the connection: {raw[:300]!r}"
    assert time.monotonic() - t < 5
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head.lower(), raw[:500]
    assert json.loads(body)["type"] == "urn:agentlog:problem:payload-too-large", body[:300]
    # and with the body on its way: still 413, promptly
    status, raw, err = raw_exchange(srv.port, _headers(srv, 2 * 1024 * 1024) + b"x" * (2 * 1024 * 1024),
                                    timeout=10)
    # (a reset while we are still sending may swallow the answer on the client side)
    assert status == 413 or (status is None and err in ("ConnectionResetError", "BrokenPipeError")), \
        f"status {status}, err {err}, {raw[:300]!r}"
    expect(srv.get("/healthz", key=None), 200)


def test_413_is_problem_json_via_http_client(limited):
    srv = limited
    big = {"events": [{"session_id": "s", "input": "x" * (600 * 1024)}, {"session_id": "s",
                                                                          "input": "y" * (600 * 1024)}]}
    try:
        r = srv.request("POST", "/v1/ingest", big)
    except (BrokenPipeError, ConnectionResetError):
        pytest.skip("the server closed before the client finished sending (allowed); covered by the raw test")
    assert_problem(r, 413, "payload-too-large")


def test_under_the_body_limit_is_accepted(limited):
    srv = limited
    sid = uid("big-")
    r = srv.ingest([{"id": f"{sid}-1", "session_id": sid, "input": "z" * (900 * 1024)}])
    assert expect(r, 200)["accepted"] == 1
    assert len(srv.event(f"{sid}-1")["input"]) == 900 * 1024
    # compressed size is what max_body_bytes limits: 1.5 MiB of JSON gzipped to a few KB is fine
    payload = json.dumps({"events": [{"id": f"{sid}-{i}", "session_id": sid, "input": "w" * (500 * 1024)}
                                     for i in range(2, 5)]}).encode()
    assert 1024 * 1024 < len(payload) < 2 * 1024 * 1024
    r = srv.request("POST", "/v1/ingest", raw_body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})
    assert expect(r, 200)["accepted"] == 3, r.describe()


def test_413_gzip_and_deflate_bombs(limited):
    srv = limited
    zeros = b"\0" * (64 * 1024 * 1024)
    bombs = [("gzip", gzip.compress(zeros, 9)), ("deflate", zlib.compress(zeros, 9)),
             ("gzip", gzip.compress(b'{"events":[{"session_id":"s","input":"' + b"a" * (8 * 1024 * 1024) + b'"}]}'))]
    del zeros
    for enc, body in bombs:
        assert len(body) < 1024 * 1024
        t = time.monotonic()
        r = srv.request("POST", "/v1/ingest", raw_body=body, headers={"Content-Encoding": enc})
        assert_problem(r, 413, "payload-too-large")
        assert time.monotonic() - t < 10
    expect(srv.get("/healthz", key=None), 200)


# =========================================================================== 415

def test_415_media_type_and_encoding(shared_server):
    srv = shared_server
    payload = json.dumps({"events": [{"session_id": "s415"}]}).encode()
    for ctype in ("text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data",
                  "application/jsonx", "text/json"):
        r = srv.request("POST", "/v1/ingest", raw_body=payload, headers={"Content-Type": ctype})
        assert_problem(r, 415, "unsupported-media-type")
    assert_problem(srv.request("POST", "/v1/sessions", raw_body=b'{"id":"t415"}',
                               headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type")
    assert_problem(srv.request("PATCH", "/v1/sessions/t415", raw_body=b'{"name":"x"}',
                               headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type")
    for enc in ("br", "compress", "zstd", "gzip, br"):
        r = srv.request("POST", "/v1/ingest", raw_body=payload, headers={"Content-Encoding": enc})
        assert_problem(r, 415, "unsupported-media-type")
    gz = gzip.compress(payload)
    corrupt = [b"\x1f\x8b\x08\x00garbage-after-magic", b"not gzip at all", gz[: len(gz) // 2],
               gz[:10] + bytes(b ^ 0x55 for b in gz[10:])]
    for body in corrupt:
        r = srv.request("POST", "/v1/ingest", raw_body=body, headers={"Content-Encoding": "gzip"})
        assert_problem(r, 415, "unsupported-media-type")
    r = srv.request("POST", "/v1/ingest", raw_body=b"definitely not zlib", headers={"Content-Encoding": "deflate"})
    assert_problem(r, 415, "unsupported-media-type")
    for ctype in ("application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"):
        r = srv.request("POST", "/v1/ingest", raw_body=payload, headers={"Content-Type": ctype})
        expect(r, 200)


# =========================================================================== 422

def test_422_wrong_top_level_shape(shared_server):
    srv = shared_server
    for body in (b"[]", b"[{}]", b"5", b'"events"', b"null", b"true", b'{"events": 5}', b'{"events": "x"}',
                 b'{"events": {}}', b'{"sessions": 5}', b'{"sessions": {"id": "x"}}', b'{"events": [], "sessions": 1}'):
        r = srv.request("POST", "/v1/ingest", raw_body=body)
        p = assert_problem(r, 422, "validation-failed")
        assert isinstance(p.get("errors"), list), f"422 must carry errors:\n{r.describe()}"
    for body in (b"[]", b"5", b'{"tags": 5}'):
        assert_problem(srv.request("POST", "/v1/sessions", raw_body=body), 422, "validation-failed")


def test_422_items_all_invalid(shared_server):
    srv = shared_server
    r = srv.ingest([5, "x", None, [], {"session_id": ""}, {"session_id": "x" * 129}])
    p = assert_problem(r, 422, "validation-failed")
    assert p.get("accepted") == 0 and p.get("rejected") == 6, r.describe()
    assert sorted(e["index"] for e in p["errors"] if e.get("item") == "event") == list(range(6)), r.describe()


# =========================================================================== 429

def test_429_queue_full(module_servers):
    srv = module_servers.start(env={"AGENTLOG_QUEUE_MAX_EVENTS": "1000"})
    statuses: list[int] = []
    problems: list[str] = []
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def worker(t):
        conn = srv.connect(30)
        sid = f"q429-{t}"
        for n in range(20):
            if stop.is_set():
                break
            evs = [{"id": f"{sid}-{n}-{i}", "session_id": sid, "type": "llm", "input": {"i": i, "pad": "p" * 64}}
                   for i in range(1000)]
            try:
                r = srv.request("POST", "/v1/ingest", {"events": evs}, conn=conn)
            except OSError as e:
                with lock:
                    problems.append(f"connection error {e!r}")
                conn = srv.connect(30)
                continue
            with lock:
                statuses.append(r.status)
                if r.status == 200:
                    acked[sid] = acked.get(sid, 0) + r.body["accepted"]
                elif r.status == 429:
                    try:
                        assert_problem(r, 429, "queue-full")
                        assert r.headers.get("Retry-After") == "1", f"Retry-After: {r.headers.get('Retry-After')}"
                    except AssertionError as e:
                        problems.append(str(e))
                    stop.set()
                else:
                    problems.append(r.describe())
        conn.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not problems, "\n".join(problems[:5])
    assert set(statuses) <= {200, 429}, statuses
    assert 429 in statuses, f"no 429 after {len(statuses)} concurrent 1000-event requests with queue_max_events=1000"
    # a 429 stores nothing; every 200 stored all of its events
    for t in range(8):
        sid = f"q429-{t}"
        r = srv.get(f"/v1/sessions/{sid}")
        count = r.body["event_count"] if r.status == 200 else 0
        assert count == acked.get(sid, 0), f"{sid}: {count} events stored, {acked.get(sid, 0)} acknowledged"
    # the queue drains: a small request gets through again
    for _ in range(20):
        r = srv.ingest([{"session_id": "after429"} for _ in range(100)])
        if r.status != 429:
            break
        time.sleep(float(r.headers.get("Retry-After") or 1))
    expect(r, 200)


# =========================================================================== timeouts

def test_request_timeout_drops_stalled_requests(module_servers):
    """request_timeout_ms bounds how long a half-sent request may hold a connection."""
    import socket
    srv = module_servers.start(env={"AGENTLOG_REQUEST_TIMEOUT_MS": "1000"})
    stalled = [b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-",  # headers never finish
               b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 100\r\n\r\n{\"events\": ["]  # body never finishes
    for data in stalled:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        t = time.monotonic()
        s.sendall(data)
        try:
            answer = s.recv(4096)  # a 408 answer or the close
        except ConnectionResetError:
            answer = b""
        took = time.monotonic() - t
        s.close()
        assert took < 6, f"a stalled request held its connection for {took:.1f}s with request_timeout_ms=1000"
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200]
    expect(srv.get("/healthz", key=None), 200)


def test_head_sends_headers_only_so_keep_alive_stays_in_step(shared_server):
    """A HEAD answer with a body would be read as the start of the next response."""
    status, raw, err = raw_exchange(shared_server.port,
                                    b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert err is None and status == 200, raw
    first, rest = raw.split(b"\r\n\r\n", 1)
    assert b"Content-Length: 15" in first, "HEAD reports the GET's length"
    assert rest.startswith(b"HTTP/1.1 200"), raw
    assert rest.endswith(b'{"status":"ok"}'), raw
