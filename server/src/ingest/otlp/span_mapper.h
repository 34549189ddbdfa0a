// Maps decoded OTLP spans to AgentLog events and session updates, understanding the
// GenAI conventions in use (OpenTelemetry gen_ai.* current and older, OpenInference,
// OpenLLMetry/Traceloop, Vercel AI SDK, Pydantic AI/Logfire, OpenAI Agents SDK, Langfuse,
// Laminar). The mapping table and the precedence rules are documented in docs/otlp.md;
// keep the two in step. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/otlp/trace_data.h"
#include "ingest/otlp/trace_sessions.h"
#include "model/types.h"

namespace agentlog::ingest::otlp {

struct SpanRejection {
  size_t span = 0;  // index in request order
  std::string reason;
};

struct MapResult {
  model::WriteBatch batch;
  size_t spans = 0;    // spans in the request
  size_t skipped = 0;  // accepted but deliberately not stored (Logfire pending spans)
  std::vector<SpanRejection> rejections;
  // partial_success.error_message: a summary of the rejections ("" when none).
  std::string error_message;
  // Traces some of whose spans earlier requests stored in the trace-id session, before a
  // span naming the trace's session arrived (children exported before their root): the
  // caller moves the events of those traces, (trace id hex, session id).
  std::vector<std::pair<std::string, std::string>> moves;
  // Traces this request stored spans of in their trace-id session, (trace id, its hex): a
  // request naming their session may have been mapped while this one waited for its commit,
  // so the caller looks them up again after the commit and moves them too.
  std::vector<std::pair<TraceId, std::string>> fallbacks;
};

// Not thread-safe: keeps parsers and scratch space between calls. Use one per thread.
class SpanMapper {
 public:
  // `sessions` (optional, shared, thread-safe) carries trace -> session across requests.
  explicit SpanMapper(TraceSessions* sessions = nullptr);
  ~SpanMapper();
  SpanMapper(const SpanMapper&) = delete;
  SpanMapper& operator=(const SpanMapper&) = delete;

  // Appends to `out` (whose batch.project_id the caller sets).
  void map(const TraceData& data, int64_t project_id, MapResult& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentlog::ingest::otlp
