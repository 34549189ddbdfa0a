"""OTLP/gRPC ingestion (`serve --otlp-grpc-listen`) against the real binary.

The real exporter: the OpenTelemetry Python SDK with opentelemetry-exporter-otlp-proto-grpc
(pinned, with grpcio), installed once into a venv under build-e2e-venv/ as test_otlp.py
installs the HTTP exporters. Raw calls (tests/e2e/otlp_grpc_call.py, grpcio with bytes in
and out) cover what exporters never send. docs/otlp.md ("OTLP/gRPC") is the contract: the
same decoder, keys, mapping and durable ack as POST /v1/traces, answered with gRPC statuses.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ServerStartError, expect, free_port, q, uid
from test_otlp import _venv, assert_agent_run, export, flatten, pb_fields, pb_request, pb_span, tree

HERE = Path(__file__).resolve().parent
CALL_SCRIPT = HERE / "otlp_grpc_call.py"
# Pinned like the HTTP exporters; grpcio too, the native half of the exporter.
GRPC_REQUIREMENTS = ["opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-proto-grpc==1.45.2",
                     "grpcio==1.85.3"]
GRPC_LISTEN_RE = re.compile(r"otlp grpc listening on ([0-9.]+):([0-9]+)")
GRPC_FLAG = ["--otlp-grpc-listen", "127.0.0.1:0"]
TRACE_SERVICE = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(scope="session")
def otel_grpc() -> dict[str, Path]:
    """The interpreter of the gRPC exporter's venv, keyed as test_otlp.export expects."""
    return {"grpc": _venv("grpc", GRPC_REQUIREMENTS)}


@pytest.fixture(scope="module")
def grpc_server(module_servers):
    return module_servers.start(args=GRPC_FLAG)


def grpc_port(server, timeout: float = 5.0) -> int:
    """The port the server logged for its OTLP/gRPC listener."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_lines:
            m = GRPC_LISTEN_RE.search(line)
            if m:
                return int(m.group(2))
        time.sleep(0.02)
    raise AssertionError("no 'otlp grpc listening on HOST:PORT' log line:\n" + "\n".join(server.log_lines))


def grpc_export(otel_grpc, server, scenario: str, *, key: str | None = None, **kw) -> dict:
    """The real gRPC exporter pointed at the server's OTLP/gRPC port."""
    kw.setdefault("endpoint", f"http://127.0.0.1:{grpc_port(server)}")
    kw.setdefault("headers", {"authorization": f"Bearer {key or server.key}"})
    return export(otel_grpc, server, "grpc", scenario, **kw)


def grpc_calls(otel_grpc, server, bodies: list[bytes], calls: list[dict], parallel: int = 1,
               port: int | None = None) -> list[dict]:
    """Raw calls through otlp_grpc_call.py; each call names its body by index."""
    cfg = {"target": f"127.0.0.1:{port or grpc_port(server)}",
           "bodies": [base64.b64encode(b).decode() for b in bodies], "calls": calls, "parallel": parallel}
    p = subprocess.run([str(otel_grpc["grpc"]), str(CALL_SCRIPT)], input=json.dumps(cfg), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, f"otlp_grpc_call.py failed:\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def bearer(key: str) -> list[list[str]]:
    return [["authorization", f"Bearer {key}"]]


def one_call(otel_grpc, server, body: bytes, metadata=None, **extra) -> dict:
    md = bearer(server.key) if metadata is None else metadata
    return grpc_calls(otel_grpc, server, [body], [{"body": 0, "metadata": md, **extra}])[0]


def session_request(sid: str, spans: int, trace: str | None = None) -> bytes:
    """`spans` spans of one trace, all in session `sid`."""
    trace = trace or uid() + uid() + uid()[:8]
    return pb_request([pb_span(trace, f"{i + 1:016x}", f"span {i}", attrs={"session.id": sid, "n": i})
                       for i in range(spans)])


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (from /proc: its sockets in state LISTEN)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def retry_delay_seconds(retry_info: bytes) -> int:
    """google.rpc.RetryInfo → retry_delay.seconds."""
    duration = pb_fields(retry_info)[1][0]
    return pb_fields(duration).get(1, [0])[0]


# --------------------------------------------------------------------------- real exporter

@pytest.mark.parametrize("gzip_body", [False, True])
def test_real_grpc_exporter_agent_run(otel_grpc, grpc_server, gzip_body):
    """The same sessions and events as over OTLP/HTTP (test_otlp.assert_agent_run)."""
    r = grpc_export(otel_grpc, grpc_server, "agent_run", gzip_body=gzip_body)
    assert r["ok"] and r["exports"] == 1
    assert_agent_run(grpc_server, r)


def test_grpc_children_before_parents_and_late_children(otel_grpc, grpc_server):
    s = grpc_server
    r = grpc_export(otel_grpc, s, "split")
    assert r["exports"] == 3, "one call per span, leaf first"
    roots = tree(s, r["trace_id"])
    assert len(roots) == 1 and roots[0]["name"] == "root step"
    middle = roots[0]["children"]
    assert [c["name"] for c in middle] == ["middle"]
    leaf = middle[0]["children"][0]
    assert leaf["name"] == "leaf llm" and leaf["type"] == "llm" and leaf["parent_id"] == middle[0]["id"]

    r = grpc_export(otel_grpc, s, "late_children")
    assert r["exports"] == 3
    events = flatten(tree(s, r["session"]))
    assert sorted(e["name"] for e in events) == ["late child 0", "late child 1", "root"]


def test_grpc_exporter_configured_by_environment_variables(otel_grpc, grpc_server):
    """What docs/otlp.md tells users to set for gRPC."""
    s = grpc_server
    for headers in (f"authorization=Bearer%20{s.key}", f"x-api-key={s.key}"):
        env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{grpc_port(s)}",
               "OTEL_EXPORTER_OTLP_TRACES_HEADERS": headers,
               "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}
        r = export(otel_grpc, s, "grpc", "agent_run", endpoint=None, headers=None, env=env)
        assert expect(s.get(f"/v1/sessions/{q(r['session'])}"), 200)["event_count"] == 5


def test_real_grpc_exporter_with_a_bad_key_is_refused(otel_grpc, grpc_server):
    s = grpc_server
    r = grpc_export(otel_grpc, s, "agent_run", key="al_" + "x" * 40, check=False)
    assert not r["ok"] and r["exports"] == 1
    assert "UNAUTHENTICATED" in r["stderr"], r["stderr"]
    assert s.get(f"/v1/sessions/{q(r['session'])}").status == 404, "nothing stored"


# --------------------------------------------------------------------------- raw calls

def test_grpc_status_codes(otel_grpc, grpc_server):
    s = grpc_server
    sid = f"grpc-raw-{uid()}"
    trace = uid() + uid() + uid()[:8]
    good = pb_request([pb_span(trace, "1" * 16, "ok", attrs={"session.id": sid}),
                       pb_span("0" * 32, "2" * 16, "no trace id")])
    bodies = [good, b"\x0a\xff\xff\xff\x0f garbage", b""]
    key = bearer(s.key)
    calls = [
        {"body": 0, "metadata": key},                                     # 0 partial success
        {"body": 0, "metadata": key, "gzip": True},                       # 1 gzip
        {"body": 1, "metadata": key},                                     # 2 garbage
        {"body": 0, "metadata": bearer("al_wrong")},                      # 3 wrong key
        {"body": 0, "metadata": []},                                      # 4 no key
        {"body": 2, "metadata": key},                                     # 5 empty request
        {"body": 0, "metadata": key, "method": "/opentelemetry.proto.collector.logs.v1.LogsService/Export"},
    ]
    res = grpc_calls(otel_grpc, s, bodies, calls)
    codes = [r["code"] for r in res]
    assert codes == ["OK", "OK", "INVALID_ARGUMENT", "UNAUTHENTICATED", "UNAUTHENTICATED", "OK",
                     "UNIMPLEMENTED"], res
    # ExportTraceServiceResponse{partial_success{rejected_spans: 1, error_message}}
    partial = pb_fields(pb_fields(base64.b64decode(res[0]["response"]))[1][0])
    assert partial[1] == [1] and b"trace_id" in partial[2][0], partial
    assert res[5]["response"] == "", "a full success is an empty response"
    assert "length" in res[2]["details"], res[2]
    assert "API key" in res[3]["details"], res[3]
    assert not any(k.startswith("google.rpc.retryinfo") for k in res[3]["trailers"]), "not retryable"
    events = expect(s.get(f"/v1/sessions/{q(sid)}/events"), 200)["data"]
    assert [e["name"] for e in events] == ["ok"], "stored once (idempotent), the invalid span rejected"
    assert not s.non_json_lines, s.non_json_lines


def test_grpc_key_in_every_supported_metadata(otel_grpc, servers):
    s = servers.start(args=GRPC_FLAG, env={"AGENTLOG_OTLP_AUTH_HEADER": "X-Agentlog-Key"})
    basic = base64.b64encode(f"api:{s.key}".encode()).decode()
    variants = [bearer(s.key), [["x-api-key", s.key]], [["authorization", f"Basic {basic}"]],
                [["x-agentlog-key", s.key]], [["x-agentlog-key", "al_wrong"]]]
    bodies = [session_request(f"md-{i}-{uid()}", 1) for i in range(len(variants))]
    res = grpc_calls(otel_grpc, s, bodies, [{"body": i, "metadata": md} for i, md in enumerate(variants)])
    assert [r["code"] for r in res] == ["OK", "OK", "OK", "OK", "UNAUTHENTICATED"], res


def test_grpc_oversized_messages_are_resource_exhausted(otel_grpc, servers):
    """max_body_bytes is gRPC's max receive message size, checked after decompression too."""
    s = servers.start(args=GRPC_FLAG, env={"AGENTLOG_MAX_BODY_BYTES": "100000"})
    small = session_request(f"small-{uid()}", 50)
    big = pb_request([pb_span(uid() + uid() + uid()[:8], "1" * 16, "x" * 200_000)])
    assert len(small) < 100_000 < len(big) and len(gzip.compress(big)) < 100_000
    calls = [{"body": 0, "metadata": bearer(s.key)}, {"body": 1, "metadata": bearer(s.key)},
             {"body": 1, "metadata": bearer(s.key), "gzip": True}]
    res = grpc_calls(otel_grpc, s, [small, big], calls)
    assert [r["code"] for r in res] == ["OK", "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"], res


def test_grpc_backpressure_is_unavailable_with_retry_info(otel_grpc, servers):
    s = servers.start(args=GRPC_FLAG, env={"AGENTLOG_QUEUE_MAX_EVENTS": "1000"})
    sids = [f"bp-{i}-{uid()}" for i in range(48)]
    bodies = [session_request(sid, 1000) for sid in sids]
    res = grpc_calls(otel_grpc, s, bodies, [{"body": i, "metadata": bearer(s.key)} for i in range(len(sids))],
                     parallel=8)
    codes = [r["code"] for r in res]
    assert set(codes) <= {"OK", "UNAVAILABLE"}, codes
    assert "UNAVAILABLE" in codes, f"no UNAVAILABLE in {len(codes)} concurrent 1000-span calls, queue of 1000"
    refused = next(r for r in res if r["code"] == "UNAVAILABLE")
    assert "queue" in refused["details"], refused
    # The trailer the OpenTelemetry SDKs read, and the status details the Collector reads.
    assert retry_delay_seconds(base64.b64decode(refused["trailers"]["google.rpc.retryinfo-bin"])) == 1, refused
    status = pb_fields(base64.b64decode(refused["trailers"]["grpc-status-details-bin"]))
    assert status[1] == [14], status
    detail = pb_fields(status[3][0])
    assert detail[1] == [b"type.googleapis.com/google.rpc.RetryInfo"]
    assert retry_delay_seconds(detail[2][0]) == 1
    # A refusal stores nothing; an OK means every span is stored (the ack follows the commit).
    for sid, r in zip(sids, res):
        got = s.get(f"/v1/sessions/{q(sid)}")
        count = got.body["event_count"] if got.status == 200 else 0
        assert count == (1000 if r["code"] == "OK" else 0), f"{sid}: {r['code']} but {count} events stored"


def test_sigterm_drains_grpc_calls_in_flight_and_exits_0(otel_grpc, servers, tmp_path):
    s = servers.start(args=GRPC_FLAG)
    port = grpc_port(s)
    sids = [f"drain-{i}-{uid()}" for i in range(120)]
    cfg = {"target": f"127.0.0.1:{port}",
           "bodies": [base64.b64encode(session_request(sid, 300)).decode() for sid in sids],
           "calls": [{"body": i, "metadata": bearer(s.key)} for i in range(len(sids))], "parallel": 4}
    calls = tmp_path / "calls.json"
    calls.write_text(json.dumps(cfg))
    with calls.open() as stdin:
        probe = subprocess.Popen([str(otel_grpc["grpc"]), str(CALL_SCRIPT)], stdin=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not expect(s.get("/v1/sessions?limit=1"), 200)["data"]:  # the first commits are in
        assert time.monotonic() < deadline and probe.poll() is None, probe.stderr.read()
        time.sleep(0.02)
    assert s.stop(signal.SIGTERM) == 0
    out, err = probe.communicate(timeout=120)
    assert probe.returncode == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    codes = [r["code"] for r in res]
    # UNAVAILABLE: refused while draining, or no listener any more. CANCELLED: gRPC resets
    # the calls that arrived just as the listener closed, before any reached AgentLog. Both
    # are retryable in OTLP.
    retryable = ("UNAVAILABLE", "CANCELLED")
    assert set(codes) <= {"OK", *retryable}, [r for r in res if r["code"] not in ("OK", *retryable)]
    assert "OK" in codes and "UNAVAILABLE" in codes, f"the signal came before or after all calls: {codes}"
    msgs = [json.loads(line).get("msg") for line in s.log_lines if line.startswith("{")]
    assert "otlp grpc stopped" in msgs and "stopped" in msgs, msgs[-10:]
    assert msgs.index("otlp grpc stopped") < msgs.index("stopped"), "the gRPC listener drains with HTTP's"
    s.start()  # the same data directory
    for sid, r in zip(sids, res):
        got = s.get(f"/v1/sessions/{q(sid)}")
        count = got.body["event_count"] if got.status == 200 else 0
        if r["code"] == "OK":
            assert count == 300, f"{sid} was acknowledged but {count} of 300 spans are stored"


# --------------------------------------------------------------------------- configuration

def test_grpc_listener_is_off_by_default(servers):
    s = servers.start()
    assert listening_ports(s.pid) == {s.port}, "only the HTTP port"
    assert not any("otlp grpc" in line for line in s.log_lines)


def test_grpc_listen_from_flag_environment_and_config_file(servers, tmp_path):
    env_port, file_port, flag_port = free_port(), free_port(), free_port()
    s = servers.start(env={"AGENTLOG_OTLP_GRPC_LISTEN": f"127.0.0.1:{env_port}"})
    assert grpc_port(s) == env_port and listening_ports(s.pid) == {s.port, env_port}
    s.stop()
    cfg = tmp_path / "agentlog.toml"
    cfg.write_text(f'otlp_grpc_listen = "127.0.0.1:{file_port}"\n')
    s = servers.start(args=["--config", str(cfg)])
    assert listening_ports(s.pid) == {s.port, file_port}
    s.stop()
    s = servers.start(args=["--config", str(cfg), "--otlp-grpc-listen", f"127.0.0.1:{flag_port}"],
                      env={"AGENTLOG_OTLP_GRPC_LISTEN": f"127.0.0.1:{env_port}"})
    assert listening_ports(s.pid) == {s.port, flag_port}, "the flag wins"


def test_grpc_port_in_use_or_malformed_fails_to_start(servers):
    taken = socket.socket()
    # As another gRPC server would hold it: gRPC's own default lets a second one share it.
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ServerStartError, match=f"cannot listen on 127.0.0.1:{port}"):
            servers.start(args=["--otlp-grpc-listen", f"127.0.0.1:{port}"])
    finally:
        taken.close()
    failed = servers.servers[-1]
    assert any("Address already in use" in line for line in failed.log_lines), failed.log_lines
    stray = [line for line in failed.non_json_lines if not line.startswith("agentlog: ")]  # the CLI's last word
    assert not stray, f"gRPC's own log must come out as JSON lines: {stray}"
    with pytest.raises(ServerStartError, match="otlp_grpc_listen must be HOST:PORT, got 'nonsense'"):
        servers.start(args=["--otlp-grpc-listen", "nonsense"])
