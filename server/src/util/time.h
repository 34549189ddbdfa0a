// Time: the one RFC 3339 parser/formatter and the clock abstraction.
// All timestamps inside AgentLog are microseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentlog {

using Micros = int64_t;

// Injectable clock so tests control "now".
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Micros now() const override;
};

// Parses RFC 3339 (`2026-11-25T10:00:00Z`, `...T10:00:00.123456+02:00`); fractions beyond
// microseconds are truncated. Returns nullopt on anything else.
std::optional<Micros> parse_rfc3339(std::string_view s);

// Epoch milliseconds (possibly fractional) to microseconds; nullopt if out of range.
std::optional<Micros> from_epoch_millis(double ms);

// `2026-11-25T10:00:00.123456Z`.
std::string format_rfc3339(Micros t);
void format_rfc3339_into(std::string& out, Micros t);

// Accepts either form as text (query parameters): RFC 3339 or a plain number of epoch ms.
std::optional<Micros> parse_time_param(std::string_view s);

}  // namespace agentlog
