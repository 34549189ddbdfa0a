// The one id generator (UUIDv7, RFC 9562) plus the encodings ids travel in.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "util/time.h"

namespace agentlog {

// Thread-safe. Ids from one generator sort in creation order, also within a millisecond
// (12-bit counter in rand_a, RFC 9562 §6.2 method 1).
class UuidV7Generator {
 public:
  explicit UuidV7Generator(const Clock& clock);
  std::string next();

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  int64_t last_ms_ = 0;
  uint32_t counter_ = 0;
};

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace agentlog
