"""End to end against the real `agentlog` binary: what the SDK sends is stored, nested
and counted as docs/api.md says, and delivery survives retries and restarts."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime as dt
import http.client
import http.server
import math
import re
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import agentlog
from agentlog import AgentLogError
from conftest import SDK_DIR, RealServer, run_python, wait_until


def tree_shape(nodes: List[Dict[str, Any]]) -> List[Any]:
    """(type, name, [children...]) for comparing nesting."""
    return [(n["type"], n["name"], tree_shape(n["children"])) for n in nodes]


def readme_quickstart() -> str:
    text = (SDK_DIR / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- quickstart:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md has no marked quickstart block"
    return m.group(1)


def test_readme_quickstart_runs_and_its_session_is_nested(server: RealServer) -> None:
    p = run_python(readme_quickstart(), env={"AGENTLOG_URL": server.url, "AGENTLOG_API_KEY": server.key})
    assert p.returncode == 0, p.stderr
    assert "Refunds take 5 business days." in p.stdout
    m = re.search(r"session: (\S+)", p.stdout)
    assert m, p.stdout
    sid = m.group(1)
    tree = server.events(sid, tree=True)
    assert tree_shape(tree) == [
        ("agent", "answer", [("tool", "search_docs", []), ("step", "build prompt", []), ("llm", "chat", [])])
    ]
    root = tree[0]
    llm = root["children"][2]
    assert llm["model"] == "gpt-4o-mini"
    assert llm["provider"] == "openai"
    assert llm["usage"] == {"input_tokens": 42, "output_tokens": 7, "total_tokens": 49, "cached_tokens": 0}
    assert llm["cost_usd"] == pytest.approx(0.00012)
    assert root["input"] == {"question": "How long do refunds take?"}
    assert root["output"] == "Refunds take 5 business days."
    assert all(c["parent_id"] == root["id"] for c in root["children"])
    s = server.session(sid)
    assert s["status"] == "success"
    assert s["name"] == "support chat"
    assert s["agent"] == "helpdesk"
    assert s["user_id"] == "user-42"
    assert (s["event_count"], s["llm_count"], s["tool_count"], s["error_count"]) == (4, 1, 1, 0)
    assert (s["input_tokens"], s["output_tokens"], s["total_tokens"]) == (42, 7, 49)
    assert s["cost_usd"] == pytest.approx(0.00012)
    assert s["ended_at"] is not None


def test_async_threads_and_generators_nest_on_the_server(server: RealServer) -> None:
    client = server.client()
    try:

        @client.trace(type="tool")
        def tool(x: int) -> int:
            return x

        @client.trace(type="retrieval")
        def chunks(n: int) -> Iterator[int]:
            for i in range(n):
                yield tool(i)

        @client.trace(type="step")
        async def step(i: int) -> int:
            await asyncio.sleep(0.005)
            return tool(i)

        @client.trace(type="agent")
        async def agent() -> int:
            await asyncio.gather(step(1), step(2))
            ctx = contextvars.copy_context()
            t = threading.Thread(target=ctx.run, args=(tool, 99))
            t.start()
            t.join()
            return sum(chunks(3))

        async def main() -> str:
            async with client.session(name="mixed") as s:
                assert await agent() == 3
            return s.id

        sid = asyncio.run(main())
        assert client.flush(10)
        tree = server.events(sid, tree=True)
        assert len(tree) == 1
        root = tree[0]
        assert (root["type"], root["name"]) == ("agent", "agent")
        kids = sorted(tree_shape(root["children"]), key=repr)
        assert kids == sorted(
            [
                ("step", "step", [("tool", "tool", [])]),
                ("step", "step", [("tool", "tool", [])]),
                ("tool", "tool", []),
                ("retrieval", "chunks", [("tool", "tool", [])] * 3),
            ],
            key=repr,
        )
        s = server.session(sid)
        assert s["event_count"] == 10
        assert s["tool_count"] == 6
        assert s["status"] == "success"
        for e in server.events(sid):
            assert e["duration_ms"] is not None and e["duration_ms"] >= 0
    finally:
        client.shutdown(5)


def test_failure_is_stored_with_error_details(server: RealServer) -> None:
    client = server.client()
    try:

        @client.trace(type="tool")
        def flaky() -> None:
            raise TimeoutError("tool timed out")

        sess = client.session(name="failing")
        with pytest.raises(TimeoutError), sess:
            flaky()
        assert client.flush(10)
        (e,) = server.events(sess.id)
        assert e["status"] == "error"
        assert e["error"]["type"] == "TimeoutError"
        assert e["error"]["message"] == "tool timed out"
        assert "flaky" in e["error"]["stack"]
        s = server.session(sess.id)
        assert s["status"] == "failure"
        assert s["error_count"] == 1
    finally:
        client.shutdown(5)


def test_values_json_cannot_hold_are_accepted_and_stored(server: RealServer) -> None:
    errors: List[AgentLogError] = []
    client = server.client(on_error=errors.append)
    try:
        loop: Dict[str, Any] = {"name": "loop"}
        loop["self"] = loop
        value = {
            "when": dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc),
            "nan": math.nan, "inf": -math.inf, "big": 2**70, "raw": b"\xff\xfe",
            "set": {3, 1}, "loop": loop, "surrogate": "a\ud800b", "huge": "z" * 200_000,
        }  # fmt: skip
        with client.session(name="weird values") as s:
            client.log("weird", data=value)
            client.llm(model="m", usage={"input_tokens": 2**70, "output_tokens": 1}, cost_usd=-1)
        assert client.flush(10), (client.stats(), errors)
        assert errors == []
        st = client.stats()
        assert st["rejected"] == 0 and st["failed"] == 0
        events = {e["type"]: e for e in server.events(s.id)}
        data = events["log"]["output"]["data"]
        assert data["when"] == "2026-11-25T10:00:00+00:00"
        assert (data["nan"], data["inf"]) == ("NaN", "-Infinity")
        assert data["big"] == 2**70
        assert data["raw"] == "base64://4="
        assert data["set"] == [1, 3]
        assert data["loop"] == {"name": "loop", "self": "[circular reference]"}
        assert data["surrogate"] == "a?b"
        assert data["huge"].startswith("z" * 1000)
        assert data["huge"].endswith("…[truncated 100000 chars]")
        assert events["llm"]["usage"]["output_tokens"] == 1
        assert events["llm"]["cost_usd"] is None
    finally:
        client.shutdown(5)


def test_many_events_large_payloads_exact_counts(server: RealServer) -> None:
    client = server.client(max_batch_size=500)
    try:
        n = 3000
        with client.session(name="bulk") as s:
            for i in range(n):
                if i % 100 == 0:
                    client.log(f"big {i}", data="p" * 20_000)
                else:
                    client.llm(model="m", usage={"input_tokens": 1, "output_tokens": 2}, cost_usd=0.001)
        assert client.flush(30), client.stats()
        sess = server.session(s.id)
        assert sess["event_count"] == n
        assert sess["llm_count"] == n - 30
        assert sess["total_tokens"] == 3 * (n - 30)
        assert sess["cost_usd"] == pytest.approx(0.001 * (n - 30))
        st = client.stats()
        assert st["delivered"] == n + 2
        assert st["requests"] >= n // 500
    finally:
        client.shutdown(5)


class LossyProxy:
    """Forwards POSTs to the real server but loses the answer of the first one (the
    server committed it; the client sees a dropped connection and retries)."""

    def __init__(self, upstream_port: int) -> None:
        self.forwarded = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                proxy.forwarded += 1
                if proxy.forwarded == 1:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_retried_batch_is_not_duplicated(server: RealServer) -> None:
    proxy = LossyProxy(server.port)
    client = agentlog.AgentLog(url=proxy.url, api_key=server.key, flush_interval=60, backoff_base=0.05)
    try:
        with client.session(name="lossy") as s:
            for _ in range(20):
                client.llm(model="m", usage={"input_tokens": 10, "output_tokens": 0})
        assert client.flush(10)
        assert proxy.forwarded == 2, "the first answer was lost, the batch re-sent"
        assert client.stats()["retries"] == 1
        sess = server.session(s.id)
        assert sess["event_count"] == 20
        assert sess["input_tokens"] == 200
        assert sess["status"] == "success"
    finally:
        client.shutdown(5)
        proxy.close()


def test_server_restart_mid_run_loses_nothing(tmp_path: Path) -> None:
    srv = RealServer(tmp_path / "data").start()
    client = srv.client(flush_interval=0.05, backoff_base=0.1, backoff_max=0.5)
    try:
        with client.session(name="restart") as s:
            for i in range(50):
                client.log(f"before {i}")
            assert client.flush(10)
            srv.stop()
            for i in range(50):
                client.log(f"during {i}")
            wait_until(lambda: client.stats()["retries"] >= 2, timeout=10)  # it is really down
            srv.requested_port = srv.port  # come back on the same address
            srv.start()
            for i in range(50):
                client.log(f"after {i}")
        assert client.flush(20), client.stats()
        sess = srv.session(s.id)
        assert sess["event_count"] == 150
        assert sess["status"] == "success"
        assert client.stats()["failed"] == 0
    finally:
        client.shutdown(5)
        srv.stop()


def test_wrong_key_is_reported_once_and_not_retried(server: RealServer) -> None:
    errors: List[AgentLogError] = []
    client = agentlog.AgentLog(url=server.url, api_key="al_wrong", flush_interval=60, on_error=errors.append)
    try:
        client.log("nope")
        assert client.flush(10) is False
        st = client.stats()
        assert (st["requests"], st["retries"], st["failed"]) == (1, 0, 1)
        (err,) = errors
        assert (err.kind, err.status) == ("http", 401)
    finally:
        client.shutdown(5)


def test_exit_delivery_from_a_short_lived_process(server: RealServer) -> None:
    code = f"""
import agentlog
agentlog.init(url={server.url!r}, api_key={server.key!r}, flush_interval=60)

@agentlog.trace(type="tool")
def work(i):
    return i * i

with agentlog.session(name="cli run") as s:
    for i in range(25):
        work(i)
print(s.id)
"""
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    sid = p.stdout.strip()
    sess = server.session(sid)
    assert sess["event_count"] == 25
    assert sess["tool_count"] == 25
    assert sess["status"] == "success"
    outputs = sorted(e["output"] for e in server.events(sid))
    assert outputs == sorted(i * i for i in range(25))


class _Getter:
    """An object whose attribute reading raises."""

    def __init__(self) -> None:
        self.ok = 1

    @property
    def broken(self) -> int:
        raise RuntimeError("getter exploded")


def test_invalid_values_are_made_safe_for_the_real_server(server: RealServer) -> None:
    loop: Dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    deep: Any = "leaf"
    for _ in range(1000):
        deep = [deep]

    @dataclasses.dataclass
    class Exploding:
        ok: int

        @property
        def boom(self) -> int:
            raise ValueError("no")

    cases: Dict[str, Dict[str, Any]] = {
        "circular": {"input": loop},
        "big_integer": {"data": {"value": 12345678901234567890}},
        "huge_string": {"input": "x" * 5_000_000},
        "lone_surrogate": {"name": "bad-\ud800-name", "input": {"text": "a\udc00b"}},
        "invalid_utf8": {"input": {"data": b"\xff\xfeA"}},
        "deep_nesting": {"input": deep},
        "non_finite_numbers": {"data": {"nan": math.nan, "inf": math.inf, "ok": True}},
        "huge_name": {"name": "n" * 5000},
        "many_tags": {"tags": [f"t{i}" for i in range(150)] + ["y" * 300]},
        "throwing_getter": {"input": {"ok": 1, "obj": _Getter(), "dc": Exploding(1)}},
        "unsupported_types": {"input": {"fn": len, "other": object(), "cls": Exploding}},
    }
    errors: List[AgentLogError] = []
    client = server.client(on_error=errors.append)
    try:
        threw = []
        with client.session(name="invalid values") as s:
            for case, spec in cases.items():
                try:
                    with client.span(
                        "tool",
                        spec.get("name", f"case-{case}"),
                        input=spec.get("input"),
                        tags=spec.get("tags"),
                    ) as sp:
                        sp.set_attribute("case", case)
                        if "data" in spec:
                            sp.set_output(spec["data"])
                except Exception:
                    threw.append(case)
        assert threw == []
        assert client.flush(20), (client.stats(), [str(e) for e in errors])
        assert errors == []
        st = client.stats()
        assert (st["rejected"], st["failed"], st["dropped"]) == (0, 0, 0)
        stored = {e["attributes"]["case"]: e for e in server.events(s.id)}
        assert set(stored) == set(cases)
        assert stored["lone_surrogate"]["name"] == "bad-?-name"
        assert stored["huge_name"]["name"] == "n" * 1024
        assert len(stored["many_tags"]["tags"]) == 100
        assert stored["non_finite_numbers"]["output"] == {"nan": "NaN", "inf": "Infinity", "ok": True}
        assert stored["big_integer"]["output"] == {"value": 12345678901234567890}
        assert stored["invalid_utf8"]["input"] == {"data": "base64://5B"}
        assert len(stored["huge_string"]["input"]) < 200_000
        assert stored["throwing_getter"]["input"]["ok"] == 1
        assert stored["throwing_getter"]["input"]["obj"] == {"ok": 1}
        assert stored["unsupported_types"]["input"]["fn"] == "<built-in function len>"
    finally:
        client.shutdown(5)
