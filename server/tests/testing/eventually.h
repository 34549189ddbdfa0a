// Polling with a deadline, for state that becomes current asynchronously (the search
// index trails commits by up to a second). Never a fixed sleep.
#pragma once

#include <chrono>
#include <thread>

namespace agentlog::test {

inline constexpr std::chrono::milliseconds kEventuallyTimeout{10000};

// Calls `done` until it returns true (-> true) or `timeout` passes (-> false).
template <typename F>
bool eventually(F&& done, std::chrono::milliseconds timeout = kEventuallyTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace agentlog::test
