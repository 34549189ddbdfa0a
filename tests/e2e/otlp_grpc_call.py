"""Raw OTLP/gRPC calls for tests/e2e/test_otlp_grpc.py: what exporters never send (garbage,
wrong keys, unknown methods, oversized messages) and many calls at once.

Run with the interpreter of the venv holding grpcio (pulled in by
opentelemetry-exporter-otlp-proto-grpc). Reads one JSON object from stdin:
  {"target": "HOST:PORT", "bodies": [base64, ...],
   "calls": [{"body": INDEX, "metadata": [[key, value], ...], "gzip": bool,
              "method": PATH|null}, ...],
   "parallel": N}
and prints one JSON line: a list, in call order, of
  {"code": "OK"|StatusCode name, "details": str, "response": base64,
   "trailers": {key: base64 for -bin keys, else str}}.
"""

from __future__ import annotations

import base64
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

cfg = json.load(sys.stdin)
bodies = [base64.b64decode(b) for b in cfg["bodies"]]
channel = grpc.insecure_channel(cfg["target"])


def trailers(md) -> dict:
    out = {}
    for k, v in md or ():
        out[k] = base64.b64encode(v).decode() if k.endswith("-bin") else v
    return out


def call(c: dict) -> dict:
    # Bytes in, bytes out: no generated stubs.
    method = channel.unary_unary(c.get("method") or EXPORT)
    compression = grpc.Compression.Gzip if c.get("gzip") else None
    metadata = [tuple(kv) for kv in c.get("metadata", [])]
    try:
        response, info = method.with_call(bodies[c["body"]], metadata=metadata, timeout=30,
                                          compression=compression)
        return {"code": "OK", "details": "", "response": base64.b64encode(response).decode(),
                "trailers": trailers(info.trailing_metadata())}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details() or "", "response": "",
                "trailers": trailers(e.trailing_metadata())}


with ThreadPoolExecutor(max_workers=max(1, cfg.get("parallel", 1))) as pool:
    results = list(pool.map(call, cfg["calls"]))
print(json.dumps(results))
