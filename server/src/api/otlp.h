// OTLP trace ingestion: POST /v1/traces (also /v1/otlp/v1/traces) and, through the same
// export_traces, OTLP/gRPC's TraceService/Export. Authenticates the exporter (Bearer,
// X-API-Key or the configured header, or Basic with the key as password), decodes and
// maps the spans, commits them through the pipeline and answers as the OTLP
// specification says for each transport: ExportTraceServiceResponse (with
// partial_success), or google.rpc.Status in the request's encoding over HTTP, or a gRPC
// status with retry hints. Testable without sockets, like every handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth.h"
#include "api/http_types.h"
#include "ingest/otlp/trace_data.h"
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

// How one export ended, whatever the transport; each renders it in its own terms.
struct ExportOutcome {
  enum class Kind {
    kAccepted,         // committed; spans may have been rejected (partial success)
    kUndecodable,      // not an ExportTraceServiceRequest in the request's encoding
    kUnauthenticated,  // no valid API key presented
    kQueueFull,        // backpressure
    kDraining,         // the server is shutting down
    kCommitFailed,     // the store refused the commit (disk full, busy): transient
  };
  Kind kind = Kind::kAccepted;
  std::string response;             // kAccepted: the ExportTraceServiceResponse, request's encoding
  std::string message;              // otherwise: what the exporter is told
  int64_t retry_after_seconds = 0;  // set for the retryable kinds
};
using ExportDone = std::function<void(ExportOutcome)>;

// The OTLP/gRPC rendering of an outcome. Retryable refusals are UNAVAILABLE (the code
// every exporter retries) with a google.rpc.RetryInfo, both as the trailer the
// OpenTelemetry SDKs read (`google.rpc.retryinfo-bin`) and as a detail of the status
// (`grpc-status-details-bin`, which the Collector's exporters read).
struct GrpcReply {
  int32_t code = 0;  // a gRPC status code; 0 is OK
  std::string message;
  std::string response;        // code 0: the ExportTraceServiceResponse (protobuf)
  std::string retry_info;      // google.rpc.RetryInfo, or "" when not retryable
  std::string status_details;  // google.rpc.Status carrying retry_info, or ""
};
GrpcReply grpc_reply(const ExportOutcome& outcome);

class OtlpHandler {
 public:
  explicit OtlpHandler(OtlpDeps deps);
  ~OtlpHandler();

  // Thread-safe. OTLP/HTTP: negotiates the encoding, then export_traces. Calls `respond`
  // exactly once (after the commit when spans were accepted).
  void handle(const Request& req, Respond respond);

  // Thread-safe. The transport-neutral core both OTLP/HTTP and OTLP/gRPC use: the key
  // `req` presents (see otlp_secret), `req.body` decoded as `encoding`, the accepted
  // spans committed. Calls `done` exactly once, after the commit when spans were accepted.
  void export_traces(const Request& req, ingest::otlp::Encoding encoding, ExportDone done);

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
