#include "util/metrics.h"

#include <fmt/format.h>

namespace agentlog {

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name) const {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# TYPE {} histogram\n", name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    fmt::format_to(it, "{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], cumulative);
  }
  cumulative += counts_[kBounds.size()].load(std::memory_order_relaxed);
  fmt::format_to(it, "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  fmt::format_to(it, "{}_sum {}\n", name, static_cast<double>(sum_micros_.load()) / 1e6);
  fmt::format_to(it, "{}_count {}\n", name, cumulative);
}

void Metrics::count_request(std::string_view method, std::string_view route, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(method), std::string(route), status}];
}

void Metrics::add_ingested(uint64_t events, int64_t now_micros) {
  ingested_.fetch_add(events, std::memory_order_relaxed);
  // Called from the single writer thread only, so the window needs no CAS loop.
  const int64_t start = window_start_.load(std::memory_order_relaxed);
  if (now_micros - start >= 1000000) {
    if (start != 0) {
      last_rate_.store(static_cast<double>(window_events_.load()) * 1e6 /
                       static_cast<double>(now_micros - start));
      last_rate_at_.store(now_micros);
    }
    window_start_.store(now_micros);
    window_events_.store(0);
  }
  window_events_.fetch_add(events, std::memory_order_relaxed);
}

void Metrics::render(std::string& out, int64_t now_micros) const {
  auto it = std::back_inserter(out);
  out += "# HELP agentlog_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE agentlog_http_requests_total counter\n";
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : requests_) {
      fmt::format_to(it, "agentlog_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                     std::get<0>(k), std::get<1>(k), std::get<2>(k), v);
    }
  }
  out += "# HELP agentlog_ingest_events_total Events committed since start.\n";
  out += "# TYPE agentlog_ingest_events_total counter\n";
  fmt::format_to(it, "agentlog_ingest_events_total {}\n", ingested_.load());
  // A rate older than two windows means ingestion stopped.
  const double rate = now_micros - last_rate_at_.load() > 2000000 ? 0.0 : last_rate_.load();
  out += "# HELP agentlog_ingest_events_per_second Committed events per second over the last second.\n";
  out += "# TYPE agentlog_ingest_events_per_second gauge\n";
  fmt::format_to(it, "agentlog_ingest_events_per_second {:.1f}\n", rate);
  out += "# TYPE agentlog_ingest_queue_events gauge\n";
  fmt::format_to(it, "agentlog_ingest_queue_events {}\n", queue_events_.load());
  out += "# TYPE agentlog_ingest_queue_bytes gauge\n";
  fmt::format_to(it, "agentlog_ingest_queue_bytes {}\n", queue_bytes_.load());
  out += "# HELP agentlog_commit_duration_seconds Time to commit one group of ingest requests.\n";
  commit_duration_.render(out, "agentlog_commit_duration_seconds");
}

}  // namespace agentlog
