"""Reliability (issue 3): kill -9 mid-load loses no acknowledged event; a volley of hostile
requests gets 4xx answers and leaves the server healthy; concurrent clients give exact rollups;
SIGTERM under load drains, exits 0 and keeps every acknowledged event."""

from __future__ import annotations

import gzip
import json
import random
import signal
import socket
import threading
import time
from collections import Counter, defaultdict

import pytest

from conftest import expect, q, raw_exchange, rfc, uid, us_of

T0 = us_of(2026, 11, 25, 10, 0, 0)


# =========================================================================== load generator

class Load:
    """Threads posting batches with client-chosen ids; remembers what was acknowledged.

    Each batch puts 3/4 of its events in a session of its own (so a fully acknowledged batch
    gives an exact count) and 1/4 in a per-thread shared session.
    """

    def __init__(self, srv, threads=4, batch=200, tag="ld"):
        self.srv = srv
        self.nthreads = threads
        self.batch = batch
        self.tag = tag
        self.stop = threading.Event()
        self.ended = threading.Event()  # set when the server is being stopped: errors expected
        self.lock = threading.Lock()
        self.acked_ids: list[str] = []
        self.acked_batch_sessions: dict[str, int] = {}
        self.shared_acked: Counter = Counter()
        self.shared_sent: Counter = Counter()
        self.statuses: Counter = Counter()
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout=30):
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
            assert not t.is_alive(), "a load thread hung"

    def _run(self, t):
        conn = None
        n = 0
        while not self.stop.is_set():
            bsid = f"{self.tag}-b-{t}-{n}"
            shared = f"{self.tag}-shared-{t}"
            events, in_batch, in_shared = [], 0, 0
            for i in range(self.batch):
                sid = shared if i % 4 == 0 else bsid
                if sid == shared:
                    in_shared += 1
                else:
                    in_batch += 1
                events.append({"id": f"{self.tag}-{t}-{n}-{i}", "session_id": sid, "type": "llm",
                               "name": "call", "started_at": rfc(T0 + n * 1000 + i),
                               "usage": {"input_tokens": 3, "output_tokens": 2}, "cost_usd": 0.5,
                               "input": {"prompt": "p" * 40, "i": i}})
            with self.lock:
                self.shared_sent[shared] += in_shared
            try:
                if conn is None:
                    conn = self.srv.connect(30)
                r = self.srv.request("POST", "/v1/ingest", {"events": events}, conn=conn)
            except (OSError, Exception) as e:  # noqa: BLE001 - any transport failure
                if conn is not None:
                    conn.close()
                conn = None
                if self.ended.is_set():
                    return
                with self.lock:
                    self.unexpected.append(f"transport error before the stop: {e!r}")
                time.sleep(0.05)
                continue
            with self.lock:
                self.statuses[r.status] += 1
                if r.status == 200:
                    if r.body.get("accepted") != self.batch:
                        self.unexpected.append(r.describe())
                    self.acked_ids.extend(e["id"] for e in events)
                    self.acked_batch_sessions[bsid] = in_batch
                    self.shared_acked[shared] += in_shared
                elif r.status in (429, 503):
                    pass
                else:
                    self.unexpected.append(r.describe())
            if r.status == 503 or r.headers.get("Connection", "").lower() == "close":
                conn.close()
                conn = None
                if r.status == 503:
                    time.sleep(0.05)
            n += 1
        if conn is not None:
            conn.close()

    def verify(self, srv, sample=300):
        """Every acknowledged event is there after the restart."""
        assert self.acked_ids, f"no batch was acknowledged during the load: {self.statuses}"
        counts = {s["id"]: s["event_count"] for s in srv.walk("/v1/sessions", limit=1000)}
        missing = [(sid, n, counts.get(sid)) for sid, n in self.acked_batch_sessions.items() if counts.get(sid) != n]
        assert not missing, (f"{len(missing)} of {len(self.acked_batch_sessions)} fully acknowledged batches are not "
                             f"exactly present after restart (session, acked, found): {missing[:10]}")
        for sid, n in self.shared_acked.items():
            assert n <= counts.get(sid, 0) <= self.shared_sent[sid], \
                f"{sid}: {counts.get(sid)} events, {n} acknowledged, {self.shared_sent[sid]} sent"
        rnd = random.Random(7)
        for eid in rnd.sample(self.acked_ids, min(sample, len(self.acked_ids))):
            r = srv.get(f"/v1/events/{q(eid)}")
            assert r.status == 200, f"acknowledged event {eid} missing after restart:\n{r.describe()}"


def test_kill9_mid_load_keeps_every_acked_event(servers):
    srv = servers.start()
    load = Load(srv, threads=4, batch=200, tag="k9").start()
    time.sleep(2.0)
    load.ended.set()
    srv.kill9()
    load.join()
    assert not load.unexpected, "\n".join(load.unexpected[:5])
    assert set(load.statuses) <= {200, 429}, load.statuses
    srv.start()
    load.verify(srv)


def test_sigterm_under_load_drains_and_exits_0(servers):
    srv = servers.start()
    load = Load(srv, threads=4, batch=200, tag="st").start()
    time.sleep(1.5)
    load.ended.set()
    t = time.monotonic()
    rc = srv.stop(signal.SIGTERM, timeout=30)
    took = time.monotonic() - t
    load.join()
    assert rc == 0, f"SIGTERM must exit 0, got {rc}\n" + "\n".join(srv.log_lines[-20:])
    assert not load.unexpected, "\n".join(load.unexpected[:5])
    assert set(load.statuses) <= {200, 429, 503}, load.statuses
    assert took < 30
    srv.start()
    load.verify(srv)


def test_sigint_exits_0(servers):
    srv = servers.start()
    srv.ingest_ok([{"id": "int-1", "session_id": "int"}])
    assert srv.stop(signal.SIGINT) == 0
    srv.start()
    assert srv.event("int-1")["session_id"] == "int"


# =========================================================================== concurrency

def test_concurrent_ingest_into_same_sessions_exact_rollups(servers):
    srv = servers.start()
    rnd = random.Random(1234)
    sessions = [f"cc-{k}" for k in range(5)]
    universe = []
    for j in range(3000):
        typ = rnd.choice(["llm", "llm", "tool", "step", "log"])
        ev = {"id": f"cc-ev-{j}", "session_id": sessions[rnd.randrange(5)], "type": typ,
              "started_at": rfc(T0 + rnd.randrange(10**9)), "name": f"n{j % 17}"}
        ev["ended_at"] = rfc(us_from(ev["started_at"]) + rnd.randrange(10**7))
        if rnd.random() < 0.15:
            ev["error"] = {"type": "E", "message": f"err {j}"}
        if typ == "llm":
            ev["usage"] = {"input_tokens": rnd.randrange(500), "output_tokens": rnd.randrange(200)}
            ev["cost_usd"] = rnd.randrange(1000) / 4096
        universe.append(ev)

    def expected(sid):
        evs = [e for e in universe if e["session_id"] == sid]
        return {
            "event_count": len(evs),
            "error_count": sum("error" in e for e in evs),
            "llm_count": sum(e["type"] == "llm" for e in evs),
            "tool_count": sum(e["type"] == "tool" for e in evs),
            "input_tokens": sum(e.get("usage", {}).get("input_tokens", 0) for e in evs),
            "output_tokens": sum(e.get("usage", {}).get("output_tokens", 0) for e in evs),
            "total_tokens": sum(sum(e.get("usage", {}).values()) for e in evs),
            "cost_usd": sum(e.get("cost_usd", 0) for e in evs),
            "started_at": min(e["started_at"] for e in evs),
            "last_event_at": max(e["ended_at"] for e in evs),
        }

    problems: list[str] = []
    lock = threading.Lock()

    def worker(t, phase):
        r = random.Random(t * 100 + phase)
        own = [e for j, e in enumerate(universe) if j % 8 == t]
        if phase == 1:
            r.shuffle(own)
        conn = srv.connect(60)
        for b in range(0, len(own), 100):
            batch = own[b:b + 100] + r.sample(universe, 40)  # re-sends of other threads' events
            batch += r.sample(batch, 3)  # the same id twice within one request
            r.shuffle(batch)
            resp = srv.request("POST", "/v1/ingest", {"events": batch}, conn=conn)
            if resp.status != 200 or resp.body.get("rejected") != 0:
                with lock:
                    problems.append(resp.describe())
        conn.close()

    for phase in (0, 1):
        threads = [threading.Thread(target=worker, args=(t, phase)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        assert not problems, "\n".join(problems[:3])
        for sid in sessions:
            s = srv.session(sid)
            exp = expected(sid)
            diffs = {k: (s.get(k), v) for k, v in exp.items()
                     if (abs(s.get(k) - v) > 1e-6 if isinstance(v, float) else s.get(k) != v)}
            assert not diffs, f"phase {phase}: rollups of {sid} wrong (got, expected): {diffs}"
            ids = [e["id"] for e in srv.walk(f"/v1/sessions/{sid}/events", limit=10000)]
            want = {e["id"] for e in universe if e["session_id"] == sid}
            assert len(ids) == len(set(ids)) and set(ids) == want, f"{sid}: event list differs from what was sent"


def us_from(s: str) -> int:
    from conftest import parse_time
    return parse_time(s)


# =========================================================================== garbage volley

def _req(key, method="POST", path="/v1/ingest", body=b"", ctype="application/json", extra=b"", cl=True,
         auth=True) -> bytes:
    h = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
    if auth:
        h += b"Authorization: Bearer " + key.encode() + b"\r\n"
    if ctype:
        h += b"Content-Type: " + ctype.encode() + b"\r\n"
    h += extra
    if cl:
        h += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return h + b"\r\n" + body


def _batch(*events, sessions=None) -> bytes:
    doc = {"events": list(events)}
    if sessions is not None:
        doc["sessions"] = sessions
    return json.dumps(doc).encode()


EVENT_WRONG = [
    ("session_id", 5), ("session_id", None), ("session_id", ""), ("session_id", {}), ("session_id", []),
    ("session_id", True), ("session_id", "x" * 129), ("session_id", "s" * 1_000_000),
    ("id", 5), ("id", ""), ("id", {}), ("id", "x" * 129), ("id", True),
    ("parent_id", 5), ("parent_id", "x" * 129), ("trace_id", 5), ("trace_id", "x" * 129), ("span_id", []),
    ("type", "bogus"), ("type", 5), ("type", []),
    ("name", 5), ("name", []), ("name", "x" * 1025), ("name", "n" * 2_000_000),
    ("agent", 5), ("agent", "x" * 257),
    ("started_at", "yesterday"), ("started_at", True), ("started_at", {}), ("started_at", "2026-13-45T99:00:00Z"),
    ("started_at", []),
    ("ended_at", "nope"), ("ended_at", False),
    ("status", "done"), ("status", 1),
    ("input", "x" * (1024 * 1024 + 10)), ("output", ["y" * (1024 * 1024 + 10)]),
    ("error", 5), ("error", []), ("error", {"message": 5}), ("error", True),
    ("model", 5), ("model", "x" * 257), ("provider", {}), ("provider", "x" * 257),
    ("usage", "x"), ("usage", []), ("usage", 5), ("usage", {"input_tokens": -1}), ("usage", {"input_tokens": "10"}),
    ("usage", {"input_tokens": 1.5}), ("usage", {"output_tokens": -5}), ("usage", {"cached_tokens": -1}),
    ("usage", {"total_tokens": "a"}),
    ("cost_usd", "free"), ("cost_usd", -0.5), ("cost_usd", []), ("cost_usd", True),
    ("attributes", []), ("attributes", "x"), ("attributes", 5),
    ("tags", "x"), ("tags", [1]), ("tags", {}), ("tags", [None]),
]
SESSION_WRONG = [
    ("id", 5), ("id", ""), ("id", "x" * 129), ("id", None), ("name", 5), ("agent", 5), ("user_id", 5),
    ("tags", "x"), ("tags", [1]), ("metadata", []), ("metadata", "x"), ("status", "done"), ("status", 5),
    ("started_at", "x"), ("ended_at", "x"),
]


def build_volley(key: str) -> list[tuple[str, bytes, object, bool]]:
    """(label, raw request, expected status | '4xx' | '4xx-or-close', half_close)."""
    rnd = random.Random(99)
    v: list[tuple[str, bytes, object, bool]] = []
    add = lambda label, data, exp, half=False: v.append((label, data, exp, half))

    # malformed JSON -> 400
    malformed = [b'{"events": [', b"{bad json}", b'{"events": [{"session_id": "s",}]}', b"{'events': []}",
                 b'{"events": [{"session_id": "s"}]} trailing', b'{"events": [{"cost_usd": NaN}]}',
                 b'{"events": [{"cost_usd": Infinity}]}', b'{"events": [{"session_id": "s\x01"}]}',
                 b'{"events": [{"session_id": "\\x41"}]}', b'{"events": [{"session_id": "\\u12"}]}',
                 b'{"events": [01]}', b'{"events": [{"a" 1}]}', b'{"events": [}', b'{,}', b'{"events": [-]}',
                 b"", b"\x00", b'{"events": [{"session_id": "s"}]}\x00', b'{"events": [.5]}', b'{"events": [1e]}']
    for i, b in enumerate(malformed):
        add(f"malformed#{i}", _req(key, body=b), 400)
    # truncated valid bodies -> 400
    full = _batch(*[{"id": f"tr-{i}", "session_id": "tr", "type": "llm", "input": {"messages": [{"c": "héllo ✓"}]},
                     "usage": {"input_tokens": 1}} for i in range(3)])
    for i in range(60):
        cut = rnd.randrange(1, len(full))
        add(f"truncated@{cut}", _req(key, body=full[:cut]), 400)
    # random binary -> 400 (and 415 when it claims to be gzip)
    for i in range(40):
        b = bytes([rnd.choice(b"!#%&()*+;<=>?@^_`|~\x00\x01\x7f\x80\xff")]) + rnd.randbytes(rnd.randrange(16, 4096))
        add(f"binary#{i}", _req(key, body=b), 400)
    for i in range(10):
        add(f"binary-gzip#{i}", _req(key, body=rnd.randbytes(rnd.randrange(16, 2048)),
                                     extra=b"Content-Encoding: gzip\r\n"), 415)
    # invalid UTF-8 in every kind of position -> 400
    bad_seqs = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82",
                b"\x80"]
    for i, seq in enumerate(bad_seqs):
        add(f"utf8-value#{i}", _req(key, body=b'{"events": [{"session_id": "s' + seq + b'"}]}'), 400)
        add(f"utf8-key#{i}", _req(key, body=b'{"events": [{"session_id": "s", "k' + seq + b'": 1}]}'), 400)
        add(f"utf8-input#{i}", _req(key, body=b'{"events": [{"session_id": "s", "input": {"a": ["' + seq +
                                             b'"]}}]}'), 400)
    # deep nesting -> 400
    add("nest-200k-open", _req(key, body=b"[" * 200_000), 400)
    add("nest-200k-balanced", _req(key, body=b"[" * 200_000 + b"]" * 200_000), 400)
    add("nest-100k-objects", _req(key, body=b'{"a":' * 100_000 + b"1" + b"}" * 100_000), 400)
    add("nest-in-input", _req(key, body=b'{"events": [{"session_id": "s", "input": ' + b"[" * 1000 + b"]" * 1000
                                      + b"}]}"), 400)
    add("nest-513", _req(key, body=b"[" * 513 + b"]" * 513), 400)
    # wrong types / oversize values for every field (the only item of its batch) -> 422
    for field, val in EVENT_WRONG:
        ev = {"session_id": "gv"}
        ev[field] = val
        add(f"event.{field}={json.dumps(val)[:20]}", _req(key, body=_batch(ev)), 422)
    for field, val in SESSION_WRONG:
        s = {"id": "gv-s"}
        s[field] = val
        if val is None:
            del s[field]
        add(f"session.{field}={json.dumps(val)[:20]}", _req(key, body=json.dumps({"sessions": [s]}).encode()), 422)
    # wrong top-level shapes -> 422
    for i, b in enumerate([b"[]", b"5", b'"x"', b"null", b"true", b'{"events": 5}', b'{"events": "x"}',
                           b'{"events": {}}', b'{"sessions": 5}', b'{"sessions": "x"}', b"[[]]", b"[{}]"]):
        add(f"shape#{i}", _req(key, body=b), 422)
    # oversized / broken Content-Length
    add("cl-over-limit", _req(key, body=b"", cl=False, extra=b"Content-Length: 10485761\r\n"), 413)
    add("cl-huge", _req(key, body=b"", cl=False, extra=b"Content-Length: 99999999999\r\n"), 413)
    add("cl-overflow", _req(key, body=b"", cl=False, extra=b"Content-Length: 999999999999999999999999\r\n"), "4xx")
    add("cl-negative", _req(key, body=b"{}", cl=False, extra=b"Content-Length: -1\r\n"), "4xx")
    add("cl-text", _req(key, body=b"{}", cl=False, extra=b"Content-Length: abc\r\n"), "4xx")
    add("cl-list", _req(key, body=b"{}", cl=False, extra=b"Content-Length: 2, 3\r\n"), "4xx")
    add("cl-double", _req(key, body=b"{}", cl=False, extra=b"Content-Length: 2\r\nContent-Length: 3\r\n"), "4xx")
    # gzip bomb with the default limits (50 MiB decompressed) -> 413
    add("gzip-bomb-60MiB", _req(key, body=gzip.compress(b" " * (60 * 1024 * 1024), 6),
                                extra=b"Content-Encoding: gzip\r\n"), 413)
    # header junk (a malformed body, so an answer can only be 4xx), any 4xx or a close
    junk = b"{bad"
    hj = [
        ("no-colon", b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nThisIsNotAHeader\r\nContent-Length: 4\r\n\r\n" + junk),
        ("space-in-name", b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nBad Header: y\r\nContent-Length: 4\r\n\r\n" + junk),
        ("space-before-colon", b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\n" + junk),
        ("obs-fold", b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nX-A: b\r\n folded\r\nContent-Length: 4\r\n\r\n" + junk),
        ("huge-header-20k", _req(key, body=junk, extra=b"X-Big: " + b"a" * 20_000 + b"\r\n")),
        ("many-headers", _req(key, body=junk, extra=b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 80)
                                                              for i in range(300)))),
        ("nul-in-header", _req(key, body=junk, extra=b"X-Nul: a\x00b\r\n")),
        ("ctl-in-header", _req(key, body=junk, extra=b"X-Ctl: a\x07\x1bb\r\n")),
        ("binary-header-name", _req(key, body=junk, extra=b"X-\xff\xfe: 1\r\n")),
        ("no-host", b"POST /v1/ingest HTTP/1.1\r\nAuthorization: Bearer " + key.encode() +
         b"\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\n" + junk),
        ("double-host", _req(key, body=junk, extra=b"Host: other\r\n")),
        ("bad-method", _req(key, method="G@T", body=junk)),
        ("lowercase-method", _req(key, method="post", body=junk)),
        ("long-method", _req(key, method="X" * 5000, body=junk)),
        ("target-no-slash", _req(key, path="nothttp", body=junk)),
        ("target-absolute", _req(key, path="http://127.0.0.1/v1/ingest", body=junk)),
        ("target-asterisk", _req(key, path="*", body=junk)),
        ("target-20k", _req(key, path="/v1/ingest?" + "a" * 20_000, body=junk)),
        ("target-ctl", _req(key, path="/v1/in\x01gest", body=junk)),
        ("bad-version", _req(key, body=junk).replace(b"HTTP/1.1", b"HTTP/1.x", 1)),
        ("garbage-version", _req(key, body=junk).replace(b"HTTP/1.1", b"HTTQ/1.1", 1)),
        ("lf-only", _req(key, body=junk).replace(b"\r\n", b"\n")),
        ("cr-only", _req(key, body=junk).replace(b"\r\n", b"\r")),
        ("te-and-cl", _req(key, body=b"4\r\n{bad\r\n0\r\n\r\n", extra=b"Transfer-Encoding: chunked\r\n")),
        ("chunk-bad-size", _req(key, body=b"zz\r\n{bad\r\n0\r\n\r\n", cl=False,
                                extra=b"Transfer-Encoding: chunked\r\n")),
        ("chunk-huge-size", _req(key, body=b"ffffffffffffffffffff\r\n{bad\r\n0\r\n\r\n", cl=False,
                                 extra=b"Transfer-Encoding: chunked\r\n")),
        ("chunk-malformed-json", _req(key, body=b"4\r\n{bad\r\n0\r\n\r\n", cl=False,
                                      extra=b"Transfer-Encoding: chunked\r\n")),
        ("ctype-binary", _req(key, body=junk, ctype="application/json; charset=\xff".encode("latin-1")
                              .decode("latin-1"))),
        ("ctype-empty", _req(key, body=junk, ctype="")),
        ("auth-20k", _req(key, body=junk, auth=False, extra=b"Authorization: Bearer " + b"k" * 20_000 + b"\r\n")),
        ("auth-binary", _req(key, body=junk, auth=False, extra=b"Authorization: Bearer \xff\xfe\x00\r\n")),
        ("auth-basic", _req(key, body=junk, auth=False, extra=b"Authorization: Basic Zm9vOmJhcg==\r\n")),
        ("two-auth", _req(key, body=junk, extra=b"Authorization: Bearer al_wrong\r\n")),
        ("encoding-junk", _req(key, body=junk, extra=b"Content-Encoding: \xff\xfe\r\n")),
    ]
    for label, data in hj:
        add(f"header:{label}", data, "4xx-or-close", True)
    # query/path junk on GET routes -> 4xx
    gets = ["/v1/sessions?limit=-1", "/v1/sessions?limit=99999999999999999999999",
            "/v1/sessions?sort=%3BDROP%20TABLE%20sessions", "/v1/sessions?from=%00", "/v1/sessions?cursor=%FF%FE",
            "/v1/sessions?cursor=" + "A" * 5000, "/v1/sessions?to=1e999", "/v1/events?limit=1e3",
            "/v1/events?from=NaN", "/v1/events?cursor=eyJ4IjoxfQ", "/v1/sessions/x/events?tree=2",
            "/v1/sessions/x/events?limit=10001", "/v1/sessions/%00/nope", "/v1/sessions/%ZZ/events/x",
            "/v1/../../etc/passwd", "/v1/sessions/..%2F..%2Fetc%2Fpasswd/x", "/v1/events/" + "a" * 5000 + "/x",
            "/v1/agents?from=bad", "/v1/agents?to=2026-02-30T00:00:00Z"]
    for p in gets:
        add(f"get:{p[:40]}", _req(key, method="GET", path=p, ctype="", cl=False), "4xx")
    # wrong credentials on otherwise fine requests -> 401
    for i, auth in enumerate([b"Bearer al_" + b"0" * 40, b"Bearer ", b"Token abc", b"bearer", b"Bearer al_x"]):
        add(f"auth#{i}", _req(key, method="GET", path="/v1/sessions", ctype="", cl=False, auth=False,
                               extra=b"Authorization: " + auth + b"\r\n"), 401)
    # bare garbage on the socket: a 4xx or a close
    for i in range(20):
        add(f"bare-garbage#{i}", rnd.randbytes(rnd.randrange(1, 3000)) + b"\r\n\r\n", "4xx-or-close", True)
    add("bare-crlf", b"\r\n" * 5000, "4xx-or-close", True)
    add("bare-tls-hello", bytes.fromhex("16030100a5010000a10303") + rnd.randbytes(160), "4xx-or-close", True)
    add("bare-http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rnd.randbytes(64), "4xx-or-close", True)
    return v


def slowloris(port: int, key: str) -> list[bytes]:
    """Partial requests closed early; the server must simply drop them."""
    parts = [b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-", b"GET /v1/sess", b"P",
             _req(key, body=b"", cl=False)[:-2] + b"Content-Length: 100\r\n\r\n" + b'{"events": [',
             _req(key, body=b'{"events": []}')[:-5]]
    for p in parts:
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(p)
            s.close()
    return parts


def test_garbage_volley(servers):
    srv = servers.start()
    key = srv.key
    volley = build_volley(key)
    assert len(volley) >= 300, len(volley)

    # A prober checks that bad input never blocks other requests, and samples the RSS.
    probe_fail: list[str] = []
    rss_max = [srv.rss_kb()]
    stop = threading.Event()

    def prober():
        while not stop.is_set():
            try:
                t = time.monotonic()
                r = srv.get("/healthz", key=None, timeout=5)
                if r.status != 200 or time.monotonic() - t > 3:
                    probe_fail.append(f"/healthz {r.status} after {time.monotonic() - t:.1f}s")
            except OSError as e:
                probe_fail.append(f"/healthz failed: {e!r}")
            try:
                rss_max[0] = max(rss_max[0], srv.rss_kb())
            except (OSError, AssertionError):
                pass
            time.sleep(0.05)

    pt = threading.Thread(target=prober, daemon=True)
    pt.start()
    violations: list[str] = []
    hangs = 0
    try:
        for label, data, exp, half in volley:
            try:
                status, raw, err = raw_exchange(srv.port, data, timeout=10, half_close=half)
            except OSError as e:
                violations.append(f"{label}: could not connect: {e!r}")
                if not srv.alive():
                    break
                continue
            desc = f"{label}: status={status} err={err} answer={raw[:200]!r}"
            if err == "timeout":
                hangs += 1
                violations.append(f"HANG {desc}")
                if hangs > 5:
                    break
            elif status is None:
                if exp != "4xx-or-close":
                    violations.append(f"no answer {desc}")
            elif isinstance(exp, int):
                if status != exp:
                    violations.append(f"expected {exp} {desc}")
            elif not 400 <= status <= 499:
                violations.append(f"expected 4xx {desc}")
            if status is not None and status >= 400:
                head, _, body = raw.partition(b"\r\n\r\n")
                if b"application/problem+json" not in head.lower():
                    violations.append(f"not application/problem+json: {desc}")
                else:
                    try:
                        doc = json.loads(body)
                        if not isinstance(doc, dict) or doc.get("status") != status or \
                                not str(doc.get("type", "")).startswith("urn:agentlog:problem:"):
                            violations.append(f"problem fields wrong: {desc}")
                    except ValueError:
                        violations.append(f"problem body is not valid JSON: {label}: {body[-80:]!r}")
            if not srv.alive():
                violations.append(f"SERVER DIED after {label}; exit code {srv.proc.returncode}")
                break
        slowloris(srv.port, key)
    finally:
        stop.set()
        pt.join(10)

    # Mixed batches keep their valid items.
    mixed_ids = []
    for m in range(10):
        good = [{"id": f"mix-{m}-{i}", "session_id": f"mix-{m}", "type": "tool"} for i in range(3)]
        bad = [{"id": f"mix-{m}-bad-{i}", "session_id": "x", field: val}
               for i, (field, val) in enumerate(random.Random(m).sample(
                   [w for w in EVENT_WRONG if w[0] not in ("session_id", "id")], 3))]
        events = good + bad
        random.Random(m).shuffle(events)
        r = srv.ingest(events)
        if r.status != 200 or r.body.get("accepted") != 3 or r.body.get("rejected") != 3:
            violations.append(f"mixed batch {m}: {r.describe()}")
        mixed_ids += [g["id"] for g in good]

    assert srv.alive(), "the server died during the volley:\n" + "\n".join(srv.log_lines[-30:])
    expect(srv.get("/healthz", key=None), 200)
    expect(srv.get("/readyz", key=None), 200)
    for eid in mixed_ids:
        assert srv.get(f"/v1/events/{eid}").status == 200, f"valid item {eid} of a mixed batch was lost"
    r = srv.get("/v1/sessions/gv")
    assert r.status == 404, f"an invalid item was stored: {r.describe()}"
    rss_max[0] = max(rss_max[0], srv.rss_kb())
    assert rss_max[0] < 300 * 1024, f"RSS reached {rss_max[0] // 1024} MB (limit 300 MB)"
    assert not probe_fail, f"healthz blocked/failed during the volley: {probe_fail[:5]}"
    kinds = Counter(v.split(":")[0].split(" ")[0] if not v.startswith("problem body") else "problem body invalid JSON"
                    for v in violations)
    assert not violations, f"{len(violations)} answers wrong for {len(volley)} hostile requests {dict(kinds)}:\n" + \
        "\n".join(sorted(violations, key=lambda v: v.startswith("problem body"))[:40])


def test_durability_full_and_threads_flags(servers):
    srv = servers.start(args=["--durability", "full", "--threads", "1"])
    ids = [f"full-{i}" for i in range(300)]
    for b in range(0, 300, 100):
        srv.ingest_ok([{"id": i, "session_id": "full"} for i in ids[b:b + 100]])
    srv.kill9()
    srv.start()
    assert srv.session("full")["event_count"] == 300
    assert srv.event("full-299")["session_id"] == "full"
