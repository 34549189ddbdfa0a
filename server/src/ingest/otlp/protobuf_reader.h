// A zero-copy reader of the protobuf wire format for OTLP ExportTraceServiceRequest:
// bytes -> TraceData whose strings point into the request body. It follows the field
// numbers of proto/opentelemetry/proto/** and libprotobuf's parsing rules (unknown fields
// and fields of an unexpected wire type are skipped, groups included; the last
// occurrence of a scalar wins; 100 levels of message nesting at most), except that
// strings are not required to be valid UTF-8 (invalid bytes become U+FFFD on output).
#pragma once

#include <string>
#include <string_view>

#include "ingest/otlp/trace_data.h"

namespace agentlog::ingest::otlp {

// Not thread-safe: keeps scratch vectors between calls. `body` must outlive `out`'s use.
class ProtobufReader {
 public:
  static constexpr int kMaxDepth = 100;  // libprotobuf's default recursion limit

  // Clears `out` and fills it. On malformed input returns false with `error` set (the
  // request is undecodable: 400); `out` is then unspecified.
  bool read(std::string_view body, TraceData& out, std::string& error);

 private:
  ScratchStack<Attr> attr_scratch_;
  ScratchStack<Value> value_scratch_;
};

}  // namespace agentlog::ingest::otlp
