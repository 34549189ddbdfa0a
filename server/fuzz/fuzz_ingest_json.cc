// libFuzzer target: the native JSON ingest decoder and the session decoder must never
// crash, hang or leak on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/json_decoder.h"

namespace {
class FixedClock final : public agentlog::Clock {
 public:
  agentlog::Micros now() const override { return 1795600800000000; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FixedClock clock;
  static agentlog::UuidV7Generator ids(clock);
  static agentlog::ingest::JsonDecoder decoder(clock, ids);
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto batch = decoder.decode_ingest(body);
  if (batch.value && batch.value->ids.size() > batch.value->items) __builtin_trap();
  (void)decoder.decode_session(body, false);
  return 0;
}
