// Bounded decompression of gzip/deflate request bodies: a gzip bomb stops at the limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentlog {

struct InflateResult {
  enum class Outcome { kOk, kCorrupt, kTooLarge };
  Outcome outcome = Outcome::kOk;
  std::string data;
};

// Accepts gzip (possibly several members) and zlib-wrapped deflate; output is capped at
// max_output bytes.
InflateResult inflate_bounded(std::string_view input, size_t max_output);

}  // namespace agentlog
