// Remembers which session recent traces were put in, so that spans of a trace arriving in
// a later request without a session attribute join their trace's session, and so that a
// session attribute arriving after spans were filed under the trace-id fallback can move
// them (see MapResult::moves). Bounded; in memory only (a restart forgets, see
// docs/otlp.md).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ingest/otlp/trace_data.h"

namespace agentlog::ingest::otlp {

// The hash of a project's trace id in TraceSessions' map.
size_t trace_hash(int64_t project_id, const TraceId& trace);

class TraceSessions {
 public:
  // What is known of a trace: spans stored in its trace-id session (`fallback`), or the
  // session a span of it named.
  struct Entry {
    bool fallback = false;
    std::string session;
  };

  // Keeps at least the `capacity` most recently remembered traces (up to twice as many).
  explicit TraceSessions(size_t capacity = 50000) : capacity_(capacity) {}

  // Thread-safe.
  std::optional<Entry> find(int64_t project_id, const TraceId& trace) const;
  // The trace's spans go to `session_id` from now on.
  void remember(int64_t project_id, const TraceId& trace, std::string_view session_id);
  // Spans of the trace were stored in its trace-id session; a no-op if a session is known.
  void remember_fallback(int64_t project_id, const TraceId& trace);

 private:
  struct Key {
    int64_t project_id;
    TraceId trace;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  using Map = std::unordered_map<Key, Entry, KeyHash>;
  void insert_locked(const Key& key, Entry entry);

  const size_t capacity_;
  mutable std::mutex mu_;
  Map current_, previous_;  // two generations: `previous_` is dropped when `current_` fills
};

}  // namespace agentlog::ingest::otlp
