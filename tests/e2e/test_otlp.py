"""OpenTelemetry ingestion (POST /v1/traces) against the real binary.

Real exporters: the OpenTelemetry Python SDK with opentelemetry-exporter-otlp-proto-http
(protobuf) and opentelemetry-exporter-otlp-json-http (JSON), pinned, installed once into
venvs under build-e2e-venv/ (the fixture fails, never skips, when pip cannot install
them). Then raw HTTP for what exporters never send: wrong content types, garbage, ids in
the wrong encoding, oversized and corrupt bodies. docs/otlp.md is the contract.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_problem, expect, q, uid

HERE = Path(__file__).resolve().parent
EXPORT_SCRIPT = HERE / "otlp_export.py"
VENV_ROOT = REPO / "build-e2e-venv"
# Pinned: the SDK and its two HTTP exporters (their transitive pins differ, hence two venvs).
REQUIREMENTS = {
    "protobuf": ["opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-proto-http==1.45.2"],
    "json": ["opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-json-http==0.66b1"],
}
PB = "application/x-protobuf"


# --------------------------------------------------------------------------- venvs

def _venv(encoding: str, reqs: list[str] | None = None) -> Path:
    """The venv's interpreter, with REQUIREMENTS[encoding] (or `reqs`) installed once."""
    reqs = reqs or REQUIREMENTS[encoding]
    digest = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:12]
    venv = VENV_ROOT / f"otel-{encoding}-{digest}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists() and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *reqs]]
    for cmd in steps:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            pytest.fail(f"cannot set up the OpenTelemetry venv ({' '.join(cmd)}):\n{p.stdout}\n{p.stderr}",
                        pytrace=False)
    marker.write_text("\n".join(reqs) + "\n")
    return python


@pytest.fixture(scope="session")
def otel_python() -> dict[str, Path]:
    return {enc: _venv(enc) for enc in REQUIREMENTS}


JS_DIR = HERE / "otlp_js"


@pytest.fixture(scope="session")
def otel_node() -> Path:
    """A directory with the pinned JS SDK and exporters installed (npm ci, once)."""
    lock = (JS_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256((JS_DIR / "package.json").read_bytes() + lock).hexdigest()[:12]
    d = VENV_ROOT / f"otel-js-{digest}"
    if not (d / ".installed").exists():
        npm = shutil.which("npm")
        if not npm or not shutil.which("node"):
            pytest.fail("node and npm are required for the JS exporter tests (scripts/install-deps.sh)", pytrace=False)
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(JS_DIR / f, d / f)
        p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=d, capture_output=True, text=True,
                           timeout=900)
        if p.returncode != 0:
            pytest.fail(f"npm ci of the OpenTelemetry JS packages failed:\n{p.stdout}\n{p.stderr}", pytrace=False)
        (d / ".installed").write_text("ok\n")
    shutil.copy(JS_DIR / "export.mjs", d / "export.mjs")  # always the current script
    return d


def export(otel_python, server, encoding: str, scenario: str, *, endpoint: str | None = "default",
           headers: dict | None | str = "default", gzip_body: bool = False, env: dict | None = None,
           check: bool = True) -> dict:
    """Runs tests/e2e/otlp_export.py with the real exporter; returns its JSON report.

    With check=False a failed export is returned (report["ok"] False) instead of failing."""
    tag = uid()
    if endpoint == "default":
        endpoint = f"http://{server.host}:{server.port}/v1/traces"
    if headers == "default":
        headers = {"Authorization": f"Bearer {server.key}"}
    cfg = {"encoding": encoding, "scenario": scenario, "endpoint": endpoint, "headers": headers,
           "gzip": gzip_body, "tag": tag}
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    run_env.update(env or {})
    p = subprocess.run([str(otel_python[encoding]), str(EXPORT_SCRIPT), json.dumps(cfg)], capture_output=True,
                       text=True, timeout=120, env=run_env)
    assert p.returncode == 0 or (not check and p.returncode == 1 and p.stdout.strip()), \
        f"exporter run failed ({encoding}/{scenario}):\n{p.stdout}\n{p.stderr}"
    report = json.loads(p.stdout.strip().splitlines()[-1])
    report["stderr"] = p.stderr
    report["tag"] = tag
    return report


def tree(server, session: str) -> list[dict]:
    body = expect(server.get(f"/v1/sessions/{q(session)}/events?tree=true"), 200)
    return body["data"]


def flatten(nodes: list[dict]) -> list[dict]:
    out = []
    for n in nodes:
        out.append(n)
        out.extend(flatten(n.get("children", [])))
    return out


# --------------------------------------------------------------------------- real exporters

@pytest.mark.parametrize("encoding,gzip_body", [("protobuf", False), ("protobuf", True), ("json", False),
                                                ("json", True)])
def test_real_exporter_agent_run(otel_python, shared_server, encoding, gzip_body):
    s = shared_server
    r = export(otel_python, s, encoding, "agent_run", gzip_body=gzip_body)
    assert_agent_run(s, r)


def assert_agent_run(s, r: dict) -> None:
    """The sessions and events the `agent_run` scenario of otlp_export.py must produce."""
    assert r["exports"] >= 1 and r["spans"] == 5
    session = expect(s.get(f"/v1/sessions/{q(r['session'])}"), 200)
    assert session["agent"] == "Planner"
    assert session["user_id"] == "alice"
    assert session["status"] == "success", "the finished root span ends the run"
    assert session["event_count"] == 5
    assert session["llm_count"] == 2
    assert session["tool_count"] == 1
    assert session["error_count"] == 1
    assert session["input_tokens"] == 131 and session["output_tokens"] == 37 and session["total_tokens"] == 168
    assert session["cost_usd"] == pytest.approx(0.00125)

    roots = tree(s, r["session"])
    assert len(roots) == 1, roots
    root = roots[0]
    trace_id, root_span = r["trace_id"], r["root_span_id"]
    assert root["type"] == "agent" and root["name"] == "invoke_agent Planner"
    assert root["id"] == f"{trace_id}-{root_span}"
    assert root["trace_id"] == trace_id and root["span_id"] == root_span and root["parent_id"] is None
    assert root["attributes"]["otel.resource"]["service.name"] == f"e2e-{r['tag']}"
    assert root["attributes"]["otel.scope"]["name"] == "agentlog.e2e"
    kids = {c["name"]: c for c in root["children"]}
    assert set(kids) == {"chat gpt-4o", "execute_tool search_flights", "openai.chat", "retrieve"}
    for c in kids.values():
        assert c["parent_id"] == root["id"]
        assert c["agent"] == "Planner", "children inherit the enclosing agent"
        assert c["session_id"] == r["session"]

    chat = kids["chat gpt-4o"]
    assert chat["type"] == "llm"
    assert chat["model"] == "gpt-4o-2024-08-06" and chat["provider"] == "openai"
    assert chat["usage"] == {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150, "cached_tokens": 0}
    assert chat["cost_usd"] == pytest.approx(0.00125)
    assert chat["input"]["messages"][0]["parts"][0]["content"] == "Plan a trip to Lisbon"
    assert chat["output"]["messages"][0]["role"] == "assistant"
    assert chat["attributes"]["gen_ai.request.temperature"] == pytest.approx(0.3)
    assert chat["attributes"]["otel.span.kind"] == "client"
    assert chat["duration_ms"] is not None and chat["duration_ms"] >= 0

    tool = kids["execute_tool search_flights"]
    assert tool["type"] == "tool" and tool["status"] == "error"
    assert tool["error"]["type"] == "TimeoutError"
    assert tool["error"]["message"] == "flight search did not answer in 30s"
    assert "Traceback" in tool["error"]["stack"]
    assert tool["input"] == {"to": "LIS"}

    old = kids["openai.chat"]
    assert old["type"] == "llm"
    assert old["usage"]["input_tokens"] == 11 and old["usage"]["output_tokens"] == 7
    assert old["input"] == {"messages": [{"role": "user", "content": "Say hi"}]}
    assert old["output"] == {"messages": [{"role": "assistant", "content": "Hi!"}]}
    assert kids["retrieve"]["type"] == "retrieval"
    assert kids["retrieve"]["input"] == "lisbon hotels"

    # Times are the spans' own, in microseconds, and nest.
    assert root["started_at"] <= chat["started_at"] <= chat["ended_at"] <= root["ended_at"]

    # Searchable like any event.
    found = expect(s.get(f"/v1/events?session_id={q(r['session'])}&type=llm"), 200)["data"]
    assert {e["name"] for e in found} == {"chat gpt-4o", "openai.chat"}


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_real_js_exporters(otel_node, shared_server, encoding):
    """@opentelemetry/sdk-trace-base with exporter-trace-otlp-http (JSON) and -proto."""
    s = shared_server
    cfg = {"encoding": encoding, "url": f"http://{s.host}:{s.port}/v1/traces", "key": s.key, "tag": uid()}
    p = subprocess.run(["node", "export.mjs", json.dumps(cfg)], cwd=otel_node, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, f"JS exporter failed ({encoding}):\n{p.stdout}\n{p.stderr}"
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["exports"] == 4, "one request per span (SimpleSpanProcessor), children first"
    session = expect(s.get(f"/v1/sessions/{q(r['session'])}"), 200)
    assert session["agent"] == "Writer" and session["status"] == "success"
    assert session["event_count"] == 4 and session["llm_count"] == 1 and session["tool_count"] == 1
    assert session["error_count"] == 1
    assert session["input_tokens"] == 9 and session["output_tokens"] == 17, "the ai.generateText totals are not counted twice"
    roots = tree(s, r["session"])
    assert len(roots) == 1 and roots[0]["id"] == f"{r['trace_id']}-{r['root_span_id']}"
    kids = {c["name"]: c for c in roots[0]["children"]}
    assert set(kids) == {"ai.generateText", "execute_tool publish"}
    outer = kids["ai.generateText"]
    assert outer["type"] == "step" and outer["usage"] is None
    assert outer["input"] == {"prompt": "Write a haiku"}
    gen = outer["children"][0]
    assert gen["name"] == "ai.generateText.doGenerate" and gen["type"] == "llm"
    assert gen["provider"] == "openai" and gen["model"] == "gpt-4o-mini"
    assert gen["usage"]["input_tokens"] == 9 and gen["usage"]["output_tokens"] == 17
    assert gen["output"] == {"messages": [{"role": "assistant", "content": "Autumn moonlight..."}]}
    tool = kids["execute_tool publish"]
    assert tool["status"] == "error" and tool["error"]["message"] == "publishing service unavailable"
    assert tool["error"]["type"] == "Error"


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_children_exported_before_parents_nest_correctly(otel_python, shared_server, encoding):
    s = shared_server
    r = export(otel_python, s, encoding, "split")
    assert r["exports"] == 3, "one request per span, leaf first"
    roots = tree(s, r["trace_id"])  # no session attribute: the trace is the session
    assert len(roots) == 1
    root = roots[0]
    assert root["name"] == "root step"
    assert [c["name"] for c in root["children"]] == ["middle"]
    leaf = root["children"][0]["children"][0]
    assert leaf["name"] == "leaf llm" and leaf["type"] == "llm" and leaf["model"] == "claude-sonnet"
    assert leaf["usage"]["total_tokens"] == 11
    session = expect(s.get(f"/v1/sessions/{r['trace_id']}"), 200)
    assert session["name"] == "root step" and session["status"] == "success"


def test_late_children_join_the_session_of_their_trace(otel_python, shared_server):
    s = shared_server
    r = export(otel_python, s, "protobuf", "late_children")
    assert r["exports"] == 3
    events = flatten(tree(s, r["session"]))
    assert sorted(e["name"] for e in events) == ["late child 0", "late child 1", "root"]
    assert all(e["type"] == "tool" for e in events if e["name"].startswith("late"))


def test_re_sent_export_is_idempotent(otel_python, shared_server):
    s = shared_server
    body = pb_request([pb_span("7" * 32, "1" * 16, "once", attrs={"session.id": f"idem-{uid()}"})])
    sid = decode_pb(body)  # session id echoed back from our own encoder
    for _ in range(3):
        r = s.request("POST", "/v1/traces", raw_body=body, headers={"Content-Type": PB})
        assert r.status == 200, r.describe()
    assert expect(s.get(f"/v1/sessions/{q(sid)}"), 200)["event_count"] == 1


def test_exporter_configured_by_environment_variables(otel_python, shared_server):
    """What docs/otlp.md tells users to set."""
    s = shared_server
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{s.host}:{s.port}/v1/traces",
           "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"Authorization=Bearer%20{s.key}"}
    for encoding in ("protobuf", "json"):
        r = export(otel_python, s, encoding, "agent_run", endpoint=None, headers=None, env=env)
        assert expect(s.get(f"/v1/sessions/{q(r['session'])}"), 200)["event_count"] == 5


def test_basic_auth_and_the_configured_header(otel_python, servers):
    s = servers.start(env={"AGENTLOG_OTLP_AUTH_HEADER": "x-agentlog-key"})
    basic = base64.b64encode(f"api:{s.key}".encode()).decode()
    for encoding, headers in (("protobuf", {"x-agentlog-key": s.key}), ("json", {"Authorization": f"Basic {basic}"})):
        r = export(otel_python, s, encoding, "agent_run", headers=headers)
        assert expect(s.get(f"/v1/sessions/{q(r['session'])}"), 200)["event_count"] == 5
    # The collector-style path works too.
    r = export(otel_python, s, "protobuf", "split", endpoint=f"http://{s.host}:{s.port}/v1/otlp/v1/traces")
    assert expect(s.get(f"/v1/sessions/{r['trace_id']}"), 200)["event_count"] == 3


# --------------------------------------------------------------------------- raw protobuf

def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _fixed64(field: int, v: int) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<Q", v)


def _any(v) -> bytes:
    if isinstance(v, bool):
        return _varint(2 << 3) + _varint(int(v))
    if isinstance(v, int):
        return _varint(3 << 3) + _varint(v & (2**64 - 1))
    if isinstance(v, float):
        return _varint(4 << 3 | 1) + struct.pack("<d", v)
    return _len(1, str(v).encode())


def pb_span(trace_hex: str, span_hex: str, name: str, parent_hex: str | None = None,
            start_ns: int = 1_767_225_600_000_000_000, end_ns: int = 1_767_225_600_001_000_000,
            attrs: dict | None = None) -> bytes:
    b = _len(1, bytes.fromhex(trace_hex)) + _len(2, bytes.fromhex(span_hex))
    if parent_hex:
        b += _len(4, bytes.fromhex(parent_hex))
    b += _len(5, name.encode()) + _fixed64(7, start_ns) + _fixed64(8, end_ns)
    for k, v in (attrs or {}).items():
        b += _len(9, _len(1, k.encode()) + _len(2, _any(v)))
    return b


def pb_request(spans: list[bytes], service: str = "raw-e2e") -> bytes:
    resource = _len(1, _len(1, b"service.name") + _len(2, _any(service)))
    scope_spans = b"".join(_len(2, s) for s in spans)
    return _len(1, _len(1, resource) + _len(2, scope_spans))


def pb_fields(data: bytes) -> dict[int, list]:
    """Decodes one protobuf message level: {field: [int | bytes]}."""
    out: dict[int, list] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = n = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n

    while i < len(data):
        tag = varint()
        field, wt = tag >> 3, tag & 7
        if wt == 0:
            out.setdefault(field, []).append(varint())
        elif wt == 2:
            n = varint()
            out.setdefault(field, []).append(data[i:i + n])
            i += n
        elif wt == 1:
            out.setdefault(field, []).append(data[i:i + 8])
            i += 8
        elif wt == 5:
            out.setdefault(field, []).append(data[i:i + 4])
            i += 4
        else:
            raise AssertionError(f"unexpected wire type {wt}")
    return out


def decode_pb(body: bytes) -> str:
    """The session.id attribute of the first span of one of our own requests."""
    span = pb_fields(pb_fields(pb_fields(body)[1][0])[2][0])[2][0]
    for kv in pb_fields(span).get(9, []):
        f = pb_fields(kv)
        if f[1][0] == b"session.id":
            return pb_fields(f[2][0])[1][0].decode()
    raise AssertionError("no session.id")


def status_message(r, protobuf: bool) -> str:
    if protobuf:
        assert r.headers.get("Content-Type") == PB, r.describe()
        return pb_fields(r.raw).get(2, [b""])[0].decode()
    assert r.headers.get("Content-Type") == "application/json", r.describe()
    assert isinstance(r.body, dict) and isinstance(r.body.get("code"), int) and r.body["code"] != 0, r.describe()
    return r.body["message"]


def json_request(spans: list[dict]) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "raw"}}]},
                               "scopeSpans": [{"scope": {"name": "raw"}, "spans": spans}]}]}


def json_span(trace_id: str, span_id: str, name: str, **extra) -> dict:
    return {"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
            "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": 1767225600002000000, **extra}


# --------------------------------------------------------------------------- raw HTTP

def test_partial_success_in_the_requests_encoding(shared_server):
    s = shared_server
    sid = f"partial-{uid()}"
    attrs = [{"key": "session.id", "value": {"stringValue": sid}}]
    good = json_span("a" * 32, "b" * 16, "good", attributes=attrs)
    bad = json_span("0" * 32, "c" * 16, "zero trace id")
    r = s.request("POST", "/v1/traces", body=json_request([good, bad]))
    assert r.status == 200, r.describe()
    ps = r.body["partialSuccess"]
    assert ps["rejectedSpans"] in ("1", 1)
    assert "trace_id" in ps["errorMessage"]
    assert expect(s.get(f"/v1/sessions/{q(sid)}"), 200)["event_count"] == 1, "the valid span is kept"

    sid2 = f"partial-pb-{uid()}"
    body = pb_request([pb_span("d" * 32, "e" * 16, "good", attrs={"session.id": sid2}),
                       pb_span("d" * 32, "f" * 16, "backwards", start_ns=2_000_000_000, end_ns=1_000_000_000)])
    r = s.request("POST", "/v1/traces", raw_body=body, headers={"Content-Type": PB})
    assert r.status == 200 and r.headers.get("Content-Type") == PB, r.describe()
    partial = pb_fields(pb_fields(r.raw)[1][0])
    assert partial[1] == [1]
    assert b"end_time_unix_nano" in partial[2][0]
    assert expect(s.get(f"/v1/sessions/{q(sid2)}"), 200)["event_count"] == 1


def test_full_success_bodies_are_empty_responses(shared_server):
    s = shared_server
    r = s.request("POST", "/v1/traces", raw_body=pb_request([pb_span("1" * 32, "2" * 16, "x")]),
                  headers={"Content-Type": PB})
    assert r.status == 200 and r.raw == b"" and r.headers.get("Content-Type") == PB, r.describe()
    r = s.request("POST", "/v1/traces", body=json_request([json_span("3" * 32, "4" * 16, "y")]))
    assert r.status == 200 and r.body == {}, r.describe()


def test_ids_in_the_wrong_encoding_are_rejected_spans(shared_server):
    # What a generic protobuf-JSON encoder emits: base64 ids instead of OTLP/JSON's hex.
    s = shared_server
    span = json_span("S/lPNXeztNajzpKdDg5HNg==", "APBnqgupArc=", "base64 ids")
    r = s.request("POST", "/v1/traces", body=json_request([span]))
    assert r.status == 200, r.describe()
    assert r.body["partialSuccess"]["rejectedSpans"] in ("1", 1)
    assert "hex" in r.body["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize("protobuf", [True, False])
def test_undecodable_bodies_are_400_with_a_status(shared_server, protobuf):
    s = shared_server
    bodies = [b"\x0a\xff\xff\xff\x0f nope", b"\x0a\x05\x12\x03\x12\x01"] if protobuf else \
        [b"{not json", b'{"resourceSpans": 5}', b"[]", b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":7}]}]}]}']
    for body in bodies:
        r = s.request("POST", "/v1/traces", raw_body=body,
                      headers={"Content-Type": PB if protobuf else "application/json"})
        assert r.status == 400, r.describe()
        assert status_message(r, protobuf), r.describe()


def test_content_types(shared_server):
    s = shared_server
    r = s.request("POST", "/v1/traces", raw_body=b"x", headers={"Content-Type": "text/plain"})
    assert r.status == 415, r.describe()
    assert "Content-Type" in status_message(r, False)
    body = json.dumps(json_request([json_span("5" * 32, "6" * 16, "charset")])).encode()
    r = s.request("POST", "/v1/traces", raw_body=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200, r.describe()
    r = s.request("POST", "/v1/traces", raw_body=pb_request([pb_span("7" * 32, "8" * 16, "x")]),
                  headers={"Content-Type": "application/protobuf"})
    assert r.status == 200, r.describe()
    r = s.request("GET", "/v1/traces")
    assert r.status == 405 and r.headers.get("Allow") == "POST", r.describe()


def test_authentication_failures_are_401(shared_server):
    s = shared_server
    body = pb_request([pb_span("9" * 32, "a" * 16, "x")])
    for headers in ({}, {"Authorization": "Bearer al_wrong"},
                    {"Authorization": "Basic " + base64.b64encode(b"api:al_wrong").decode()}):
        r = s.request("POST", "/v1/traces", raw_body=body, key=None, headers={"Content-Type": PB, **headers})
        assert r.status == 401, r.describe()
        assert "API key" in status_message(r, True)


def test_gzip_bodies(shared_server):
    s = shared_server
    sid = f"gz-{uid()}"
    body = pb_request([pb_span("b" * 32, "c" * 16, "gz", attrs={"session.id": sid})])
    r = s.request("POST", "/v1/traces", raw_body=gzip.compress(body),
                  headers={"Content-Type": PB, "Content-Encoding": "gzip"})
    assert r.status == 200, r.describe()
    assert expect(s.get(f"/v1/sessions/{q(sid)}"), 200)["event_count"] == 1
    r = s.request("POST", "/v1/traces", raw_body=b"\x1f\x8b\x08\x00corrupt",
                  headers={"Content-Type": PB, "Content-Encoding": "gzip"})
    assert r.status in (400, 415), r.describe()


def test_oversized_bodies_are_413_also_after_decompression(servers):
    s = servers.start(env={"AGENTLOG_MAX_BODY_BYTES": "65536", "AGENTLOG_MAX_DECOMPRESSED_BYTES": "262144"})
    big = pb_request([pb_span("c" * 32, "d" * 16, "big", attrs={"blob": "x" * 100_000})])
    r = s.request("POST", "/v1/traces", raw_body=big, headers={"Content-Type": PB})
    assert r.status == 413, r.describe()
    bomb = pb_request([pb_span("c" * 32, "e" * 16, "bomb", attrs={"blob": "y" * 1_000_000})])
    packed = gzip.compress(bomb)
    assert len(packed) < 65536
    r = s.request("POST", "/v1/traces", raw_body=packed, headers={"Content-Type": PB, "Content-Encoding": "gzip"})
    assert r.status == 413, r.describe()
    # Under both limits: accepted.
    ok = pb_request([pb_span("c" * 32, "f" * 16, "fits", attrs={"blob": "z" * 150_000})])
    r = s.request("POST", "/v1/traces", raw_body=gzip.compress(ok), headers={"Content-Type": PB,
                                                                              "Content-Encoding": "gzip"})
    assert r.status == 200, r.describe()
