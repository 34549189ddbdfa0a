// OTLP/HTTP trace ingestion, bytes to events: reads an ExportTraceServiceRequest in
// either encoding, maps its spans, and builds the response bodies the OTLP
// specification prescribes. Pure: no I/O. Fuzzed (server/fuzz/fuzz_otlp_*.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/otlp/json_reader.h"
#include "ingest/otlp/protobuf_reader.h"
#include "ingest/otlp/span_mapper.h"
#include "ingest/otlp/trace_data.h"
#include "ingest/otlp/trace_sessions.h"

namespace agentlog::ingest::otlp {

// Not thread-safe (reusable parsers and buffers): use one per thread.
class TraceDecoder {
 public:
  explicit TraceDecoder(TraceSessions* sessions = nullptr) : mapper_(sessions) {}

  // False, with `error` set, when the body cannot be decoded at all (400). Otherwise
  // `out` holds the events and session updates of the valid spans and the reasons the
  // others were rejected (partial success).
  bool decode(std::string_view body, Encoding encoding, int64_t project_id, MapResult& out,
              std::string& error);

  // The decoded form of the last body (for tests and benchmarks).
  const TraceData& last() const { return data_; }

 private:
  ProtobufReader protobuf_;
  JsonReader json_;
  SpanMapper mapper_;
  TraceData data_;
};

// `application/x-protobuf` (or `application/protobuf`) and `application/json`, parameters
// such as charset allowed; nullopt for anything else (415).
std::optional<Encoding> encoding_of(std::string_view content_type);
std::string_view content_type_of(Encoding encoding);

// ExportTraceServiceResponse: empty when nothing was rejected and there is no message.
std::string export_response(Encoding encoding, int64_t rejected_spans,
                            std::string_view error_message);

// google.rpc.Status, the body of OTLP/HTTP error responses. `code` is a gRPC code.
std::string status_body(Encoding encoding, int32_t code, std::string_view message);

// google.rpc.RetryInfo{retry_delay} (protobuf): how a gRPC server says when to retry.
std::string retry_info(int64_t delay_seconds);
// google.rpc.Status (protobuf) with a google.rpc.RetryInfo as its one detail: the
// grpc-status-details-bin of a retryable OTLP/gRPC refusal.
std::string status_with_retry_info(int32_t code, std::string_view message, int64_t delay_seconds);

// gRPC status codes used in those bodies.
inline constexpr int32_t kGrpcInvalidArgument = 3;
inline constexpr int32_t kGrpcResourceExhausted = 8;
inline constexpr int32_t kGrpcUnavailable = 14;
inline constexpr int32_t kGrpcUnauthenticated = 16;

}  // namespace agentlog::ingest::otlp
