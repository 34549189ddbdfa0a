// libFuzzer target: the OTLP/JSON reader and the span mapper must never crash, hang or
// leak on any input; a decoded request accounts for every span (event, rejection or
// skipped placeholder).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/otlp/trace_decoder.h"

namespace otlp = agentlog::ingest::otlp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static otlp::TraceSessions sessions(1000);
  static otlp::TraceDecoder decoder(&sessions);
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  otlp::MapResult result;
  std::string error;
  if (decoder.decode(body, otlp::Encoding::kJson, 1, result, error)) {
    if (result.batch.events.size() + result.rejections.size() + result.skipped != result.spans)
      __builtin_trap();
    for (const auto& e : result.batch.events) {
      if (e.id.empty() || e.session_id.empty() || e.session_id.size() > 128) __builtin_trap();
      if (e.ended_at && *e.ended_at < e.started_at) __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();
  }
  return 0;
}
