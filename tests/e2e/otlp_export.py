"""Sends spans to AgentLog with the real OpenTelemetry Python SDK and an OTLP exporter.

Run by tests/e2e/test_otlp.py and test_otlp_grpc.py with the interpreter of a venv holding
opentelemetry-sdk and either opentelemetry-exporter-otlp-proto-http (protobuf),
opentelemetry-exporter-otlp-json-http (JSON) or opentelemetry-exporter-otlp-proto-grpc
(gRPC). One argument: a JSON object
  {"encoding": "protobuf"|"json"|"grpc", "scenario": NAME, "endpoint": URL|null,
   "headers": {...}|null, "gzip": bool, "tag": STR}
With endpoint/headers null the exporter configures itself from the OTEL_EXPORTER_OTLP_*
environment variables, as a user's application would. Prints one JSON line with the ids
the test needs; exits 1 if any export did not succeed.
"""

from __future__ import annotations

import json
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

cfg = json.loads(sys.argv[1])
if cfg["encoding"] == "protobuf":
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
elif cfg["encoding"] == "grpc":
    from grpc import Compression
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.common.http import Compression
    from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter


class Recording(SpanExporter):
    """Delegates to the real exporter and remembers every result."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.results: list[SpanExportResult] = []
        self.spans = 0

    def export(self, spans):
        r = self.inner.export(spans)
        self.results.append(r)
        self.spans += len(spans)
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


kwargs = {}
if cfg.get("endpoint"):
    kwargs["endpoint"] = cfg["endpoint"]
if cfg.get("headers") is not None:
    kwargs["headers"] = cfg["headers"]
if cfg.get("gzip"):
    # The enum member is Gzip in the protobuf and gRPC exporters, GZIP in the JSON one.
    kwargs["compression"] = getattr(Compression, "Gzip", None) or getattr(Compression, "GZIP")
exporter = Recording(OTLPSpanExporter(**kwargs))
tag = cfg["tag"]
resource = Resource.create({"service.name": f"e2e-{tag}", "deployment.environment": "test"})
provider = TracerProvider(resource=resource)
scenario = cfg["scenario"]
# One request per finished span (children before their parents) or one batch.
processor = SimpleSpanProcessor(exporter) if scenario in ("split", "late_children") else BatchSpanProcessor(
    exporter, max_export_batch_size=512, schedule_delay_millis=60000)
provider.add_span_processor(processor)
tracer = provider.get_tracer("agentlog.e2e", "1.0")
out: dict = {}


def hex_trace(span) -> str:
    return format(span.get_span_context().trace_id, "032x")


if scenario == "agent_run":
    session = f"otel-session-{tag}"
    with tracer.start_as_current_span("invoke_agent Planner") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "Planner")
        root.set_attribute("session.id", session)
        root.set_attribute("user.id", "alice")
        with tracer.start_as_current_span("chat gpt-4o", kind=trace.SpanKind.CLIENT) as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.provider.name", "openai")
            chat.set_attribute("gen_ai.request.model", "gpt-4o")
            chat.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
            chat.set_attribute("gen_ai.usage.input_tokens", 120)
            chat.set_attribute("gen_ai.usage.output_tokens", 30)
            chat.set_attribute("gen_ai.usage.cost", 0.00125)
            chat.set_attribute("gen_ai.input.messages", json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Plan a trip to Lisbon"}]}]))
            chat.set_attribute("gen_ai.output.messages", json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Day 1: Alfama"}]}]))
            chat.set_attribute("gen_ai.request.temperature", 0.3)
        with tracer.start_as_current_span("execute_tool search_flights") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "search_flights")
            tool.set_attribute("gen_ai.tool.call.arguments", json.dumps({"to": "LIS"}))
            try:
                raise TimeoutError("flight search did not answer in 30s")
            except TimeoutError as e:
                tool.record_exception(e)
                tool.set_status(Status(StatusCode.ERROR, str(e)))
        # Older conventions, as OpenLLMetry and early instrumentations emit them.
        with tracer.start_as_current_span("openai.chat") as old:
            old.set_attribute("llm.request.type", "chat")
            old.set_attribute("gen_ai.system", "openai")
            old.set_attribute("gen_ai.request.model", "gpt-3.5-turbo")
            old.set_attribute("gen_ai.usage.prompt_tokens", 11)
            old.set_attribute("gen_ai.usage.completion_tokens", 7)
            old.set_attribute("gen_ai.prompt.0.role", "user")
            old.set_attribute("gen_ai.prompt.0.content", "Say hi")
            old.set_attribute("gen_ai.completion.0.role", "assistant")
            old.set_attribute("gen_ai.completion.0.content", "Hi!")
        # OpenInference, as Phoenix's instrumentations emit it.
        with tracer.start_as_current_span("retrieve") as ret:
            ret.set_attribute("openinference.span.kind", "RETRIEVER")
            ret.set_attribute("input.value", "lisbon hotels")
        out["trace_id"] = hex_trace(root)
        out["root_span_id"] = format(root.get_span_context().span_id, "016x")
    out["session"] = session
elif scenario == "split":
    # SimpleSpanProcessor: every span is its own request, children first. No session
    # attribute: the trace is the session.
    with tracer.start_as_current_span("root step") as root:
        with tracer.start_as_current_span("middle"):
            with tracer.start_as_current_span("leaf llm") as leaf:
                leaf.set_attribute("openinference.span.kind", "LLM")
                leaf.set_attribute("llm.model_name", "claude-sonnet")
                leaf.set_attribute("llm.token_count.prompt", 5)
                leaf.set_attribute("llm.token_count.completion", 6)
        out["trace_id"] = hex_trace(root)
elif scenario == "late_children":
    # The root (with the session) is exported first; its children arrive in later
    # requests without any session attribute and must still join the session.
    session = f"late-{tag}"
    root = tracer.start_span("root")
    root.set_attribute("session.id", session)
    ctx = trace.set_span_in_context(root)
    root.end()
    time.sleep(0.05)
    for i in range(2):
        child = tracer.start_span(f"late child {i}", context=ctx)
        child.set_attribute("gen_ai.operation.name", "execute_tool")
        child.end()
    out["trace_id"] = hex_trace(root)
    out["session"] = session
else:
    raise SystemExit(f"unknown scenario {scenario}")

provider.force_flush()
provider.shutdown()
out["exports"] = len(exporter.results)
out["spans"] = exporter.spans
ok = bool(exporter.results) and all(r == SpanExportResult.SUCCESS for r in exporter.results)
out["ok"] = ok
print(json.dumps(out))
sys.exit(0 if ok else 1)
