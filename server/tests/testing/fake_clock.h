// A Clock that tests move by hand.
#pragma once

#include <atomic>

#include "util/time.h"

namespace agentlog::test {

// 2026-01-01T00:00:00Z: a round, recent instant that test data is laid out from.
inline constexpr Micros kT0 = 1767225600LL * 1000000;
inline constexpr Micros kSecond = 1000000;
inline constexpr Micros kMilli = 1000;

// Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros start = kT0) : now_(start) {}
  Micros now() const override { return now_.load(); }
  void set(Micros t) { now_.store(t); }
  void advance(Micros d) { now_.fetch_add(d); }

 private:
  std::atomic<Micros> now_;
};

}  // namespace agentlog::test
