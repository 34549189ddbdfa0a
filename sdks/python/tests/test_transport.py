"""Delivery against a scripted fake server: batching, gzip, retries and backoff,
Retry-After, what is never retried, queue overflow, flush and shutdown bounds."""

from __future__ import annotations

import email.utils
import gzip
import json
import logging
import random
import time
from typing import Any, Callable, List

import pytest

import agentlog
from agentlog import AgentLogError
from agentlog._client import MAX_EVENT_BYTES, MAX_REQUEST_BYTES
from agentlog._transport import USER_AGENT, backoff_delay, parse_retry_after
from conftest import FakeServer, free_port, wait_until

MakeClient = Callable[..., agentlog.AgentLog]
FAST = {"backoff_base": 0.02, "backoff_max": 0.1}


def record(client: agentlog.AgentLog, n: int, prefix: str = "e", **kw: Any) -> List[str]:
    """n log events in one session; returns their names."""
    names = [f"{prefix}{i}" for i in range(n)]
    with client.session(name="s"):
        for name in names:
            client.log(name, **kw)
    return names


def invariant(client: agentlog.AgentLog) -> None:
    s = client.stats()
    assert s["enqueued"] == (
        s["queued"] + s["in_flight"] + s["delivered"] + s["rejected"] + s["dropped"] + s["failed"]
    ), s


# --------------------------------------------------------------------------- request shape


def test_request_shape_and_headers(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url + "/", api_key="secret-1", flush_interval=60)
    record(client, 2)
    assert client.flush(5)
    (req,) = fake.requests
    assert req.method == "POST"
    assert req.path == "/v1/ingest"
    assert req.headers["authorization"] == "Bearer secret-1"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"] == USER_AGENT
    assert "content-encoding" not in req.headers
    assert set(req.json) == {"events", "sessions"}
    assert [e["name"] for e in req.events] == ["e0", "e1"]
    req.body_bytes.decode("utf-8")  # valid UTF-8
    invariant(client)


def test_url_path_prefix_is_kept(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url + "/agentlog/", flush_interval=60)
    record(client, 1)
    assert client.flush(5)
    assert fake.requests[0].path == "/agentlog/v1/ingest"


def test_invalid_configuration_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="url"):
        agentlog.AgentLog(url="ftp://example", api_key="k")
    with pytest.raises(ValueError):
        agentlog.AgentLog(url="http://127.0.0.1:1", api_key="k", flush_interval=0)
    with pytest.raises(ValueError):
        agentlog.AgentLog(url="http://127.0.0.1:1", api_key="k", max_queue_size=0)


# --------------------------------------------------------------------------- batching


def test_full_batches_are_sent_without_waiting_for_the_interval(
    fake: FakeServer, make_client: MakeClient
) -> None:
    client = make_client(fake.url, flush_interval=60, max_batch_size=10)
    with client.session():
        for i in range(25):
            client.log(f"e{i}")
        # 20 events (two full batches) go out although the interval is a minute away.
        wait_until(lambda: len(fake.events()) >= 20, timeout=5)
    assert client.flush(5)
    events = fake.events()
    assert sorted(e["name"] for e in events) == sorted(f"e{i}" for i in range(25))
    assert all(len(r.events) <= 10 for r in fake.requests)
    invariant(client)


def test_partial_batch_is_sent_after_the_interval(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=0.1)
    record(client, 1)
    wait_until(fake.events, timeout=5)
    assert fake.events()[0]["name"] == "e0"


def test_large_bodies_are_gzipped(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    with client.session():
        client.log("big", data="x" * 50_000)
    assert client.flush(5)
    client.log("small")
    assert client.flush(5)
    big, small = fake.requests
    assert big.headers["content-encoding"] == "gzip"
    assert len(big.raw) < 5_000
    assert big.events[0]["output"]["data"] == "x" * 50_000
    assert "content-encoding" not in small.headers


def test_batches_are_split_by_bytes(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    with client.session():
        for i in range(24):
            client.log(f"e{i}", data=[f"{i}-{j}-" + "y" * 90_000 for j in range(4)])
    assert client.flush(10)
    assert len(fake.requests) >= 2
    for r in fake.requests:
        assert len(r.body_bytes) <= MAX_REQUEST_BYTES + MAX_EVENT_BYTES
    assert sorted(e["name"] for e in fake.events()) == sorted(f"e{i}" for i in range(24))


def test_oversized_event_fields_are_cut_to_fit(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    with client.session():
        client.log("huge", data=["é" * 99_000 for _ in range(12)])
    assert client.flush(5)
    (e,) = fake.events()
    assert len(json.dumps(e, ensure_ascii=False).encode()) <= MAX_EVENT_BYTES
    assert isinstance(e["output"], str) and "truncated" in e["output"]


def test_lone_surrogates_do_not_poison_the_batch(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    with client.session():
        client.log("bad \ud800 text", data={"k\udfff": "v"})
        client.log("fine")
    assert client.flush(5)
    (req,) = fake.requests
    req.body_bytes.decode("utf-8")  # strict: would raise on a surrogate
    assert [e["name"] for e in req.events] == ["bad ? text", "fine"]


# --------------------------------------------------------------------------- retries


def test_5xx_is_retried_with_the_same_ids(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(503, {}, {"detail": "draining"}), (500, {}, {"detail": "oops"})]
    client = make_client(fake.url, flush_interval=60, **FAST)
    record(client, 3)
    assert client.flush(10)
    assert len(fake.requests) == 3
    bodies = [r.body_bytes for r in fake.requests]
    assert bodies[0] == bodies[1] == bodies[2], "a retry re-sends the same events (same ids)"
    stats = client.stats()
    assert stats["retries"] == 2
    assert stats["delivered"] == 5  # 3 events + session start + session end
    assert stats["failed"] == 0
    invariant(client)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_retryable_statuses(fake: FakeServer, make_client: MakeClient, status: int) -> None:
    fake.script = [(status, {}, {"detail": "later"})]
    client = make_client(fake.url, flush_interval=60, **FAST)
    client.log("x")
    assert client.flush(5)
    assert len(fake.requests) == 2
    assert client.stats()["retries"] == 1


def test_retry_after_seconds_is_honoured(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(429, {"Retry-After": "1"}, {"detail": "queue full"})]
    client = make_client(fake.url, flush_interval=60, **FAST)
    record(client, 1)
    assert client.flush(10)
    first, second = fake.requests
    gap = second.time - first.time
    assert 1.0 <= gap < 2.5, gap
    assert client.stats()["delivered"] == 3


def test_retry_after_http_date_is_honoured(fake: FakeServer, make_client: MakeClient) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: >= 1 s away
    fake.script = [(503, {"Retry-After": when}, {"detail": "draining"})]
    client = make_client(fake.url, flush_interval=60, **FAST)
    record(client, 1)
    assert client.flush(10)
    first, second = fake.requests
    assert second.time - first.time >= 0.95


@pytest.mark.parametrize("status", [400, 401, 403, 404, 415, 422])
def test_other_4xx_are_not_retried(
    fake: FakeServer, make_client: MakeClient, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script = [(status, {}, {"type": "urn:agentlog:problem:x", "title": "t", "status": status,
                                 "detail": f"nope {status}"})]  # fmt: skip
    errors: List[AgentLogError] = []
    client = make_client(fake.url, flush_interval=60, on_error=errors.append, **FAST)
    with caplog.at_level(logging.WARNING, logger="agentlog"):
        record(client, 2)
        assert client.flush(5) is False, "not delivered"
    assert len(fake.requests) == 1
    stats = client.stats()
    assert stats["failed"] == 4
    assert stats["retries"] == 0
    (err,) = errors
    assert err.kind == "http"
    assert err.status == status
    assert err.count == 4
    assert f"nope {status}" in str(err)
    assert any(f"answered {status}" in r.getMessage() for r in caplog.records)
    invariant(client)


def test_413_splits_the_batch(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(413, {}, {"detail": "too large"})]
    client = make_client(fake.url, flush_interval=60, **FAST)
    record(client, 4)
    assert client.flush(5)
    assert [len(r.events) for r in fake.requests] == [4, 2, 2]
    assert sorted(e["name"] for r in fake.requests[1:] for e in r.events) == ["e0", "e1", "e2", "e3"]
    assert client.stats()["delivered"] == 6
    invariant(client)


def test_dropped_connection_is_retried(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = ["drop"]
    client = make_client(fake.url, flush_interval=60, **FAST)
    record(client, 2)
    assert client.flush(5)
    assert len(fake.requests) == 2
    assert fake.requests[0].body_bytes == fake.requests[1].body_bytes
    assert client.stats()["retries"] == 1
    assert client.stats()["delivered"] == 4


def test_server_down_at_start_then_up(make_client: MakeClient) -> None:
    port = free_port()
    client = make_client(f"http://127.0.0.1:{port}", flush_interval=0.05, backoff_base=0.1, backoff_max=0.2)
    record(client, 3)
    wait_until(lambda: client.stats()["retries"] >= 2, timeout=5)
    late = FakeServer(port)
    try:
        assert client.flush(10)
        assert sorted(e["name"] for e in late.events()) == ["e0", "e1", "e2"]
        assert client.stats()["failed"] == 0
    finally:
        late.close()


def test_retries_are_bounded(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(502, {}, {"detail": "bad gateway"})] * 3
    errors: List[AgentLogError] = []
    client = make_client(fake.url, flush_interval=60, max_retries=2, on_error=errors.append, **FAST)
    record(client, 1)
    assert client.flush(5) is False
    assert len(fake.requests) == 3
    assert client.stats()["failed"] == 3
    assert [e.kind for e in errors] == ["http"]
    assert errors[0].status == 502
    invariant(client)


def test_stale_keepalive_connection_is_retried_at_once(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = ["close-after"]
    client = make_client(fake.url, flush_interval=60, backoff_base=5, backoff_max=5)
    record(client, 1)
    assert client.flush(5)
    t0 = time.monotonic()
    client.log("next")
    assert client.flush(5)
    assert time.monotonic() - t0 < 2, "no backoff for a connection the server closed while idle"
    assert client.stats()["retries"] == 0
    assert len(fake.requests) == 2


def test_keepalive_connection_is_reused(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    for i in range(3):
        client.log(f"e{i}")
        assert client.flush(5)
    assert len(fake.requests) == 3
    assert fake.connections == 1


# --------------------------------------------------------------------------- server answers


def test_partial_rejection_is_counted_and_reported(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(200, {}, {"accepted": 2, "rejected": 1, "ids": [None, "x"],
                              "errors": [{"index": 0, "item": "event", "field": "name", "message": "too long"}]})]  # fmt: skip
    errors: List[AgentLogError] = []
    client = make_client(fake.url, flush_interval=60, on_error=errors.append)
    client.log("a")
    client.log("b")
    assert client.flush(5) is False
    stats = client.stats()
    assert stats["rejected"] == 1
    assert stats["delivered"] == 1
    (err,) = errors
    assert err.kind == "rejected"
    assert "too long" in str(err)
    assert err.errors[0]["field"] == "name"
    invariant(client)


def test_all_rejected_422_is_final(fake: FakeServer, make_client: MakeClient) -> None:
    fake.script = [(422, {}, {"type": "urn:agentlog:problem:validation-failed", "status": 422, "title": "t",
                              "detail": "all rejected", "accepted": 0, "rejected": 1,
                              "errors": [{"index": 0, "item": "event", "field": "type", "message": "bad"}]})]  # fmt: skip
    client = make_client(fake.url, flush_interval=60, **FAST)
    client.log("a")
    assert client.flush(5) is False
    assert len(fake.requests) == 1
    assert client.stats()["rejected"] == 1
    invariant(client)


# --------------------------------------------------------------------------- buffer, flush, shutdown


def test_full_queue_drops_oldest_counts_and_warns_once(
    fake: FakeServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.gate.clear()  # the server holds its answers: nothing drains
    errors: List[AgentLogError] = []
    client = make_client(
        fake.url, flush_interval=60, max_batch_size=5, max_queue_size=10, on_error=errors.append
    )
    with caplog.at_level(logging.WARNING, logger="agentlog"):
        client.log("first")
        assert client.flush(0.01) is False  # sends "first"; the server holds the answer
        wait_until(lambda: fake.requests, timeout=5)
        for i in range(100):
            client.log(f"e{i}")
        stats = client.stats()
        assert stats["queued"] == 10
        assert stats["dropped"] == 90
        invariant(client)
        fake.gate.set()
        assert client.flush(5)
    names = [e["name"] for e in fake.events()]
    assert names == ["first"] + [f"e{i}" for i in range(90, 100)], "the oldest are dropped"
    warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1
    assert [e.kind for e in errors] == ["queue_full"]
    assert errors[0].count == 90
    invariant(client)


def test_queue_bound_counts_the_batch_encoded_ahead(fake: FakeServer, make_client: MakeClient) -> None:
    """While one request is on the wire the next batch is encoded; it still counts against
    max_queue_size and is dropped first, so what is kept is the batch being sent plus the
    newest max_queue_size items."""
    fake.gate.clear()
    errors: List[AgentLogError] = []
    client = make_client(
        fake.url, flush_interval=60, max_queue_size=100, max_batch_size=10, on_error=errors.append
    )
    t0 = time.monotonic()
    for i in range(1000):
        client.log("ev", attributes={"seq": i}, session_id="bound")
        if i == 15:  # a full batch is on the wire (held by the server), the next one taken
            wait_until(lambda: fake.requests, timeout=5)
    burst = time.monotonic() - t0
    stats = client.stats()
    # The batch encoded ahead (items 10..15, usually) held the oldest unsent items: dropped first.
    assert stats["in_flight"] == 10
    assert stats["queued"] == 100
    assert stats["dropped"] == 890
    invariant(client)
    fake.gate.set()
    assert client.flush(10)
    seqs = [e["attributes"]["seq"] for e in fake.events()]
    assert seqs == list(range(10)) + list(range(900, 1000)), "the newest 100 kept, in order"
    assert [e.kind for e in errors] == ["queue_full"]
    assert burst < 5


def test_flush_times_out_while_the_server_hangs(fake: FakeServer, make_client: MakeClient) -> None:
    fake.gate.clear()
    client = make_client(fake.url, flush_interval=60)
    client.log("held")
    t0 = time.monotonic()
    assert client.flush(0.3) is False
    assert 0.25 <= time.monotonic() - t0 < 2
    fake.gate.set()
    assert client.flush(5) is True


def test_flush_with_nothing_recorded_is_immediate(make_client: MakeClient) -> None:
    client = make_client("http://127.0.0.1:9", flush_interval=60)
    t0 = time.monotonic()
    assert client.flush(5)
    assert time.monotonic() - t0 < 0.1


def test_shutdown_is_bounded_when_the_server_is_unreachable(make_client: MakeClient) -> None:
    errors: List[AgentLogError] = []
    client = make_client(f"http://127.0.0.1:{free_port()}", flush_interval=60, on_error=errors.append,
                         backoff_base=0.2, backoff_max=1.0)  # fmt: skip
    record(client, 5)
    t0 = time.monotonic()
    assert client.shutdown(timeout=0.5) is False
    assert time.monotonic() - t0 < 1.5
    stats = client.stats()
    assert stats["failed"] == 7
    assert errors and errors[-1].kind == "shutdown"
    invariant(client)


def test_shutdown_delivers_then_later_events_are_dropped(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    record(client, 3)
    assert client.shutdown(timeout=5) is True
    assert len(fake.events()) == 3
    assert client.shutdown() is True  # idempotent
    client.log("too late")
    stats = client.stats()
    assert stats["dropped"] == 1
    assert stats["delivered"] == 5
    invariant(client)
    assert len(fake.events()) == 3


def test_on_error_that_raises_or_flushes_does_not_break_the_worker(
    fake: FakeServer, make_client: MakeClient
) -> None:
    calls: List[bool] = []

    def on_error(err: AgentLogError) -> None:
        calls.append(client.flush(1))  # from the worker thread: must not wait for itself
        raise RuntimeError("callback bug")

    fake.script = [(400, {}, {"detail": "bad"})]
    client = make_client(fake.url, flush_interval=60, on_error=on_error)
    client.log("a")
    assert client.flush(5) is False
    client.log("b")
    assert client.flush(5)
    assert calls == [False]
    assert [e["name"] for e in fake.events()] == ["a", "b"]


def test_async_flush_and_shutdown_do_not_block_the_loop(fake: FakeServer, make_client: MakeClient) -> None:
    import asyncio

    client = make_client(fake.url, flush_interval=60)
    fake.gate.clear()

    async def main() -> bool:
        client.log("x")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.ensure_future(ticker())
        asyncio.get_running_loop().call_later(0.2, fake.gate.set)
        ok = await client.aflush(5)
        t.cancel()
        assert ticks >= 5, "the loop kept running while flush waited"
        return ok and await client.ashutdown(5)

    assert asyncio.run(main())


# --------------------------------------------------------------------------- pure helpers


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    rng = random.Random(7)
    for attempt, exp in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0), (100, 30.0)]:
        delays = [backoff_delay(attempt, None, 0.5, 30.0, rng) for _ in range(200)]
        assert all(exp / 2 <= d <= exp for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > exp / 4, "jittered"


def test_backoff_honours_retry_after_as_a_floor() -> None:
    rng = random.Random(1)
    assert 5.0 <= backoff_delay(1, 5.0, 0.5, 30.0, rng) <= 5.5
    assert 300.0 <= backoff_delay(1, 10_000.0, 0.5, 30.0, rng) <= 301.0  # absurd values capped
    assert 0.25 <= backoff_delay(1, 0.0, 0.5, 30.0, rng) <= 0.5


def test_parse_retry_after() -> None:
    now = time.time()
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    date = email.utils.formatdate(now + 10, usegmt=True)
    parsed = parse_retry_after(date, now=now)
    assert parsed is not None and 8.9 <= parsed <= 10.1
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


def test_gzip_threshold_boundary(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60, gzip_threshold=1)
    client.log("tiny")
    assert client.flush(5)
    (req,) = fake.requests
    assert req.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(req.raw))["events"][0]["name"] == "tiny"
