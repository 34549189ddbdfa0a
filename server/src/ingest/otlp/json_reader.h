// OTLP/JSON reader (simdjson on-demand): an ExportTraceServiceRequest in the JSON
// encoding of OTLP/HTTP -> TraceData. Follows the OTLP/JSON rules: trace and span ids
// are hex strings, 64-bit integers may be strings or numbers, enums are integers (their
// names are accepted too), field names are lowerCamelCase (the proto names are accepted
// too), unknown fields are ignored, null means absent.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/otlp/trace_data.h"

namespace agentlog::ingest::otlp {

// Not thread-safe: holds a reusable simdjson parser. Views in the TraceData filled by
// read() stay valid until the next read().
class JsonReader {
 public:
  static constexpr int kMaxDepth = 100;  // AnyValue nesting, as for protobuf

  JsonReader();
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Clears `out` and fills it. A body that is not JSON, or whose structure is not that of
  // an ExportTraceServiceRequest, returns false with `error` set (400). Ids that are not
  // hex mark their span invalid instead (partial success).
  bool read(std::string_view body, TraceData& out, std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Standard or URL-safe base64, padding optional (proto3 JSON accepts both alphabets).
std::optional<std::string> decode_base64(std::string_view text);

// Hex digits -> bytes; false unless `hex` is exactly 2 * N hex digits (either case).
template <size_t N>
bool decode_hex(std::string_view hex, std::array<uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < N; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace agentlog::ingest::otlp
