// OTLP test support built on the reference implementation (libprotobuf code generated
// from proto/): request builders, the OTLP/JSON form of a request, a libprotobuf-based
// TraceData for differential tests, and a synthetic GenAI workload for benchmarks.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/otlp/trace_data.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace agentlog::test::otlp {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using ExportRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportResponse = opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using PbSpan = pb_trace::Span;
using Attrs = google::protobuf::RepeatedPtrField<pb_common::KeyValue>;

// 2026-01-01T00:00:00Z in nanoseconds, and helpers to lay spans out from it.
inline constexpr uint64_t kT0Ns = 1767225600ULL * 1000000000ULL;
inline constexpr uint64_t kMsNs = 1000000ULL;

std::string bytes_of_hex(std::string_view hex);

// Appends one attribute.
void attr(Attrs* attrs, std::string_view key, const char* value);
void attr(Attrs* attrs, std::string_view key, std::string_view value);
void attr(Attrs* attrs, std::string_view key, int64_t value);
void attr(Attrs* attrs, std::string_view key, int value);
void attr(Attrs* attrs, std::string_view key, double value);
void attr(Attrs* attrs, std::string_view key, bool value);
void attr(Attrs* attrs, std::string_view key, const std::vector<std::string>& values);

// Builds a request span by span. Spans land in one ResourceSpans/ScopeSpans per
// (service, scope) pair, in the order first used.
class RequestBuilder {
 public:
  explicit RequestBuilder(std::string service = "test-agent",
                          std::string scope = "test.instrumentation");

  // Switches the resource and scope the next spans belong to.
  RequestBuilder& resource(std::string service, std::string scope = "test.instrumentation");
  // Extra resource attributes of the current resource.
  Attrs* resource_attrs();

  // A span; ids are hex (32 and 16 digits). Times in ns since the epoch (0: unset).
  PbSpan& span(std::string_view name, std::string_view trace_hex, std::string_view span_hex,
               std::string_view parent_hex = {}, uint64_t start_ns = kT0Ns,
               uint64_t end_ns = kT0Ns + kMsNs);

  ExportRequest& request() { return request_; }
  std::string protobuf() const;
  std::string json() const;

 private:
  pb_trace::ScopeSpans* current_ = nullptr;
  pb_trace::ResourceSpans* current_resource_ = nullptr;
  ExportRequest request_;
};

// A span event with string attributes.
pb_trace::Span_Event& event(
    PbSpan& span, std::string_view name, uint64_t time_ns,
    std::initializer_list<std::pair<std::string_view, std::string_view>> attrs = {});

// The OTLP/JSON encoding of a request (hex ids, int64 as strings, enums as integers).
std::string to_otlp_json(const ExportRequest& request);

// TraceData built from a message parsed by libprotobuf, with the same conventions as
// ingest::otlp::ProtobufReader (views point into `request`, which must outlive `out`).
void adapt(const ExportRequest& request, ingest::otlp::TraceData& out);

// A canonical text dump of everything a reader produced, for equality checks with
// readable diffs.
std::string dump(const ingest::otlp::TraceData& data);

// A synthetic request of `spans` spans shaped like real GenAI instrumentation output
// (gen_ai.* semantic conventions): traces of an agent span, chat spans with message
// content and token usage, and tool spans; every span has session.id. When `marker` is
// given (8 bytes), the request is a template for a load generator:
// - `marker` is half of every trace id and 8 characters of every session id, so that each copy
//   of the body can be made unique. With IdOrder::kGrouped it is their first half, so a
//   request's ids sort together (as ids that grow with time do); with kRandom their second,
//   so each trace's ids sort at random (as OpenTelemetry's random trace ids do);
// - every start and end time is a placeholder (the bytes "~@T" and five more, see
//   kTimePlaceholder), so that each copy can carry times of when it is sent;
// - its traces run concurrently (they start within 5 s), as in one batch of a live exporter.
enum class IdOrder { kGrouped, kRandom };
ExportRequest genai_workload(size_t spans, uint64_t seed, std::string_view marker = {},
                             IdOrder order = IdOrder::kGrouped);

// A time placeholder is a fixed64 whose little-endian bytes are "~@T" followed by the time's
// offset from kT0Ns in microseconds (5 bytes, little-endian).
inline constexpr uint64_t kTimePlaceholder = 0x54407E;

}  // namespace agentlog::test::otlp
