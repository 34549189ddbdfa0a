// The decoded form of one OTLP ExportTraceServiceRequest, shared by the protobuf and the
// OTLP/JSON reader and consumed by the span mapper. Strings are views into the request
// body (protobuf) or the JSON parser's buffers, so reading copies no text; nested values
// live in flat vectors addressed by index ranges.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace agentlog::ingest::otlp {

// The two encodings of OTLP/HTTP (and of its responses).
enum class Encoding { kProtobuf, kJson };

// A run of consecutive elements of one of TraceData's vectors.
struct Range {
  uint32_t begin = 0;
  uint32_t count = 0;
};

// An OTLP AnyValue.
struct Value {
  enum class Kind : uint8_t { kEmpty, kString, kBool, kInt, kDouble, kBytes, kArray, kKvList };
  Kind kind = Kind::kEmpty;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;  // kString (UTF-8 expected, not guaranteed), kBytes (raw bytes)
  Range children;      // kArray: into TraceData::values; kKvList: into TraceData::attrs
};

struct Attr {
  std::string_view key;
  Value value;
};

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct SpanEvent {
  uint64_t time_ns = 0;
  std::string_view name;
  Range attrs;
  uint32_t dropped_attributes = 0;
};

struct SpanLink {
  TraceId trace_id{};
  SpanId span_id{};
  bool ids_valid = false;  // both present with the right length / encoding
  std::string_view trace_state;
  Range attrs;
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  bool has_trace_id = false, has_span_id = false, has_parent = false;
  // Set by a reader when an id is present but unusable (wrong length, not hex): the span
  // is rejected with this reason (a static string).
  const char* invalid = nullptr;
  std::string_view name, trace_state, status_message;
  int32_t kind = 0;         // Span.SpanKind
  int32_t status_code = 0;  // Status.StatusCode: 0 unset, 1 ok, 2 error
  uint32_t flags = 0;
  uint64_t start_ns = 0, end_ns = 0;
  uint32_t dropped_attributes = 0, dropped_events = 0, dropped_links = 0;
  Range attrs;         // into TraceData::attrs
  Range events;        // into TraceData::events
  Range links;         // into TraceData::links
  uint32_t scope = 0;  // index into TraceData::scopes
};

struct Resource {
  Range attrs;
  uint32_t dropped_attributes = 0;
  std::string_view schema_url;
};

struct Scope {
  std::string_view name, version, schema_url;
  Range attrs;
  uint32_t dropped_attributes = 0;
  uint32_t resource = 0;  // index into TraceData::resources
};

struct TraceData {
  std::vector<Resource> resources;
  std::vector<Scope> scopes;
  std::vector<Span> spans;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  std::vector<Attr> attrs;
  std::vector<Value> values;
  // Bytes a reader had to decode (base64 in OTLP/JSON); deque keeps views stable.
  std::deque<std::string> owned;

  void clear() {
    resources.clear();
    scopes.clear();
    spans.clear();
    events.clear();
    links.clear();
    attrs.clear();
    values.clear();
    owned.clear();
  }
};

// Keeps appended runs contiguous while values nest: a reader collects one level's
// elements in the scratch vector of its depth, then moves them to the shared vector.
template <typename T>
class ScratchStack {
 public:
  // The vector of `depth`, emptied. References to other levels stay valid.
  std::vector<T>& at(size_t depth) {
    while (depth >= levels_.size()) levels_.emplace_back();
    levels_[depth].clear();
    return levels_[depth];
  }
  static Range append(std::vector<T>& to, const std::vector<T>& from) {
    Range r{static_cast<uint32_t>(to.size()), static_cast<uint32_t>(from.size())};
    to.insert(to.end(), from.begin(), from.end());
    return r;
  }

 private:
  std::deque<std::vector<T>> levels_;  // a deque: growing it moves no level
};

}  // namespace agentlog::ingest::otlp
