#include "ingest/otlp/trace_sessions.h"

#include <cstring>

namespace agentlog::ingest::otlp {

size_t TraceSessions::KeyHash::operator()(const Key& k) const { return trace_hash(k.project_id, k.trace); }

size_t trace_hash(int64_t project_id, const TraceId& trace) {
  // Every byte counts: only part of a trace id may vary. AWS X-Ray ids start with the
  // second they were made, and the benchmark's bodies vary one half per request. (Hashed by
  // the first half alone, those chains grew to ~100 entries and lookups took ~10 % of the
  // server's CPU.)
  uint64_t a, b;
  std::memcpy(&a, trace.data(), sizeof a);
  std::memcpy(&b, trace.data() + sizeof a, sizeof b);
  uint64_t h = (a ^ (static_cast<uint64_t>(project_id) * 0xC2B2AE3D27D4EB4FULL)) * 0x9E3779B97F4A7C15ULL;
  h = (h ^ b ^ (h >> 32)) * 0xD6E8FEB86659FD93ULL;
  return static_cast<size_t>(h ^ (h >> 32));
}

std::optional<TraceSessions::Entry> TraceSessions::find(int64_t project_id,
                                                        const TraceId& trace) const {
  const Key key{project_id, trace};
  std::lock_guard lock(mu_);
  if (auto it = current_.find(key); it != current_.end()) return it->second;
  if (auto it = previous_.find(key); it != previous_.end()) return it->second;
  return std::nullopt;
}

void TraceSessions::insert_locked(const Key& key, Entry entry) {
  if (auto it = current_.find(key); it != current_.end()) {
    it->second = std::move(entry);
    return;
  }
  if (current_.size() >= capacity_) {
    previous_ = std::move(current_);
    current_ = Map();
  }
  previous_.erase(key);
  current_.emplace(key, std::move(entry));
}

void TraceSessions::remember(int64_t project_id, const TraceId& trace,
                             std::string_view session_id) {
  std::lock_guard lock(mu_);
  insert_locked(Key{project_id, trace}, Entry{false, std::string(session_id)});
}

void TraceSessions::remember_fallback(int64_t project_id, const TraceId& trace) {
  const Key key{project_id, trace};
  std::lock_guard lock(mu_);
  if (current_.count(key) || previous_.count(key)) return;
  insert_locked(key, Entry{true, {}});
}

}  // namespace agentlog::ingest::otlp
