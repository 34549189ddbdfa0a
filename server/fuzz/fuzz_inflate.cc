// libFuzzer target: bounded gzip/deflate decoding never exceeds its output cap.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/compress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kCap = 1 << 20;
  const auto r = agentlog::inflate_bounded(std::string_view(reinterpret_cast<const char*>(data), size), kCap);
  if (r.data.size() > kCap) __builtin_trap();
  return 0;
}
