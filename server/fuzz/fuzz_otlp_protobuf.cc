// libFuzzer target: the OTLP protobuf reader and the span mapper must never crash, hang
// or leak on any input, and must agree with libprotobuf (the reference implementation):
// whatever libprotobuf accepts, the reader accepts, with the same spans.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/otlp/trace_decoder.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace otlp = agentlog::ingest::otlp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // it complains about invalid UTF-8 at length
    return true;
  }();
  (void)quiet;
  static otlp::TraceSessions sessions(1000);
  static otlp::TraceDecoder decoder(&sessions);
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  otlp::MapResult result;
  std::string error;
  const bool ok = decoder.decode(body, otlp::Encoding::kProtobuf, 1, result, error);
  if (ok) {
    if (result.batch.events.size() + result.rejections.size() + result.skipped != result.spans)
      __builtin_trap();
    if (result.spans != decoder.last().spans.size()) __builtin_trap();
    for (const auto& e : result.batch.events) {
      if (e.id.empty() || e.session_id.empty() || e.session_id.size() > 128) __builtin_trap();
      if (e.ended_at && *e.ended_at < e.started_at) __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();
  }
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest reference;
  if (reference.ParseFromArray(data, static_cast<int>(size))) {
    if (!ok) __builtin_trap();  // libprotobuf accepts what the reader refused
    size_t spans = 0;
    for (const auto& rs : reference.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) spans += static_cast<size_t>(ss.spans_size());
    }
    if (spans != result.spans) __builtin_trap();
  }
  return 0;
}
