// OTLP/HTTP trace ingestion: POST /v1/traces (also /v1/otlp/v1/traces). Negotiates the
// encoding from Content-Type, authenticates the exporter (Bearer, X-API-Key or the
// configured header, or Basic with the key as password), decodes and maps the spans,
// commits them through the pipeline and answers as the OTLP specification says:
// ExportTraceServiceResponse (with partial_success) or google.rpc.Status, in the
// request's encoding. Testable without sockets, like every handler.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth.h"
#include "api/http_types.h"
#include "ingest/otlp/trace_sessions.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "util/time.h"

namespace agentlog::api {

struct OtlpDeps {
  store::Store& store;
  pipeline::Pipeline& pipeline;
  const Clock& clock;
  Authenticator& auth;
  Offload offload;
  std::function<bool()> draining;
};

class OtlpHandler {
 public:
  explicit OtlpHandler(OtlpDeps deps);
  ~OtlpHandler();

  // Thread-safe. Calls `respond` exactly once (after the commit when spans were accepted).
  void handle(const Request& req, Respond respond);

 private:
  class DecoderPool;
  // Moves the events of traces stored in their trace-id session into the session a later
  // span named (MapResult::moves), then drops the emptied sessions; calls `done` after.
  // Runs on the blocking pool.
  void move_traces(int64_t project, std::vector<std::pair<std::string, std::string>> moves,
                   std::function<void()> done, int round = 0);

  OtlpDeps deps_;
  ingest::otlp::TraceSessions sessions_;
  std::unique_ptr<DecoderPool> decoders_;
};

// The API key an exporter presented: X-API-Key (or the configured header, which the
// socket layer puts there), `Authorization: Bearer <key>`, or `Authorization: Basic`
// with the key as the password (or as the user name when the password is empty).
// `scratch` holds decoded Basic credentials the result may point into.
std::string_view otlp_secret(const Request& req, std::string& scratch);

}  // namespace agentlog::api
