// Process metrics, rendered in the Prometheus text format. Thread-safe; updates are
// lock-free except the per-route request counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace agentlog {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(double seconds);
  void render(std::string& out, const std::string& name) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  void count_request(std::string_view method, std::string_view route, int status);
  void add_ingested(uint64_t events, int64_t now_micros);
  void set_queue(uint64_t events, uint64_t bytes) {
    queue_events_.store(events, std::memory_order_relaxed);
    queue_bytes_.store(bytes, std::memory_order_relaxed);
  }
  Histogram& commit_duration() { return commit_duration_; }
  uint64_t ingested_total() const { return ingested_.load(std::memory_order_relaxed); }

  void render(std::string& out, int64_t now_micros) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> ingested_{0};
  // events/s over the last completed one-second window
  std::atomic<int64_t> window_start_{0};
  std::atomic<uint64_t> window_events_{0};
  std::atomic<double> last_rate_{0};
  std::atomic<int64_t> last_rate_at_{0};
  std::atomic<uint64_t> queue_events_{0};
  std::atomic<uint64_t> queue_bytes_{0};
  Histogram commit_duration_;
};

}  // namespace agentlog
