// Sends spans to AgentLog with the real OpenTelemetry JS SDK and OTLP/HTTP exporters
// (@opentelemetry/exporter-trace-otlp-http = JSON, -proto = protobuf). Run by
// tests/e2e/test_otlp.py from a directory where package.json's dependencies are installed.
// One argument: {"encoding": "json"|"protobuf", "url": URL, "key": KEY, "tag": STR}.
// Prints one JSON line; exits 1 unless every export succeeded.
import { context, trace, SpanStatusCode, SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';

const cfg = JSON.parse(process.argv[2]);
const Exporter = cfg.encoding === 'json' ? JsonExporter : ProtoExporter;
const inner = new Exporter({ url: cfg.url, headers: { Authorization: `Bearer ${cfg.key}` } });
const results = [];
const exporter = {
  export(spans, done) {
    inner.export(spans, (result) => {
      results.push(result.code);
      done(result);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `e2e-js-${cfg.tag}` }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('agentlog.e2e.js', '1.0.0');
const session = `js-session-${cfg.tag}`;

const root = tracer.startSpan('invoke_agent Writer', {
  attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Writer', 'session.id': session },
});
const rootCtx = trace.setSpan(context.active(), root);

// Vercel AI SDK shaped spans: the outer call and its model call.
const outer = tracer.startSpan('ai.generateText', {
  attributes: {
    'ai.operationId': 'ai.generateText', 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat',
    'ai.prompt': JSON.stringify({ prompt: 'Write a haiku' }), 'ai.response.text': 'Autumn moonlight...',
    'ai.usage.promptTokens': 9, 'ai.usage.completionTokens': 17,
  },
}, rootCtx);
const outerCtx = trace.setSpan(rootCtx, outer);
const gen = tracer.startSpan('ai.generateText.doGenerate', {
  kind: SpanKind.CLIENT,
  attributes: {
    'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.chat',
    'gen_ai.system': 'openai.chat', 'gen_ai.request.model': 'gpt-4o-mini',
    'ai.prompt.messages': JSON.stringify([{ role: 'user', content: [{ type: 'text', text: 'Write a haiku' }] }]),
    'ai.response.text': 'Autumn moonlight...', 'ai.usage.promptTokens': 9, 'ai.usage.completionTokens': 17,
    'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 17,
  },
}, outerCtx);
gen.end();
outer.end();

const tool = tracer.startSpan('execute_tool publish', {
  attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'publish' },
}, rootCtx);
tool.recordException(new Error('publishing service unavailable'));
tool.setStatus({ code: SpanStatusCode.ERROR, message: 'publishing service unavailable' });
tool.end();
root.end();

await provider.forceFlush();
await provider.shutdown();
const ok = results.length > 0 && results.every((c) => c === 0);
console.log(JSON.stringify({
  ok, exports: results.length, session,
  trace_id: root.spanContext().traceId, root_span_id: root.spanContext().spanId,
}));
process.exit(ok ? 0 : 1);
