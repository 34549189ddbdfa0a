// Plain value types shared by every layer: events, sessions, projects, keys, queries.
// No I/O here; JSON-valued fields are carried as canonical JSON text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.h"

namespace agentlog::model {

// Field limits (bytes), enforced by the decoders and documented in docs/api.md.
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxNameBytes = 1024;
inline constexpr size_t kMaxAgentBytes = 256;
inline constexpr size_t kMaxModelBytes = 256;
inline constexpr size_t kMaxPayloadBytes = 1 << 20;  // input, output, attributes, metadata

enum class EventType { kAgent, kStep, kLlm, kTool, kRetrieval, kEmbedding, kMessage, kAction, kError, kLog, kCustom };
enum class EventStatus { kOk, kError, kRunning };
enum class SessionStatus { kRunning, kSuccess, kFailure, kCancelled };

std::string_view to_string(EventType t);
std::string_view to_string(EventStatus s);
std::string_view to_string(SessionStatus s);
std::optional<EventType> parse_event_type(std::string_view s);
std::optional<EventStatus> parse_event_status(std::string_view s);
std::optional<SessionStatus> parse_session_status(std::string_view s);
inline bool is_terminal(SessionStatus s) { return s != SessionStatus::kRunning; }

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = 0;
};

struct ErrorInfo {
  std::optional<std::string> type, message, stack;
};

struct Event {
  std::string id;
  std::string session_id;
  std::optional<std::string> parent_id, trace_id, span_id;
  EventType type = EventType::kCustom;
  std::optional<std::string> name, agent;
  Micros started_at = 0;
  std::optional<Micros> ended_at;
  EventStatus status = EventStatus::kOk;
  std::optional<std::string> input_json, output_json;
  std::optional<ErrorInfo> error;
  std::optional<std::string> model, provider;
  std::optional<Usage> usage;
  std::optional<double> cost_usd;
  std::string attributes_json = "{}";
  // How many bytes at the end of attributes_json many events share (an OTLP span's
  // scope and resource); a store may keep one copy of them. 0: none.
  size_t attributes_shared_suffix = 0;
  std::string tags_json = "[]";
  // False when the server generated the id: no earlier version can exist, so the
  // store may skip the replacement lookup.
  bool client_id = true;
};

struct Session {
  std::string id;
  std::optional<std::string> name, agent, user_id;
  std::string tags_json = "[]";
  std::string metadata_json = "{}";
  SessionStatus status = SessionStatus::kRunning;
  std::optional<Micros> started_at, ended_at, last_event_at;
  int64_t event_count = 0, error_count = 0, llm_count = 0, tool_count = 0;
  int64_t input_tokens = 0, output_tokens = 0, total_tokens = 0;
  double cost_usd = 0;
};

// Present fields overwrite; absent (nullopt) fields keep their stored value.
// The inner optional distinguishes "set to null" from "absent".
struct SessionPatch {
  std::string id;
  std::optional<std::optional<std::string>> name, agent, user_id;
  std::optional<std::string> tags_json, metadata_json;
  std::optional<SessionStatus> status;
  std::optional<std::optional<Micros>> started_at, ended_at;
};

struct Project {
  int64_t id = 0;
  std::string name;
  Micros created_at = 0;
};

struct ApiKey {
  int64_t id = 0;
  int64_t project_id = 0;
  std::string project_name;
  std::string name;
  std::string prefix;
  std::string hash;
  Micros created_at = 0;
  std::optional<Micros> last_used_at, revoked_at;
};

// Everything one ingest request writes; committed atomically with its group.
struct WriteBatch {
  int64_t project_id = 0;
  std::vector<SessionPatch> sessions;
  std::vector<Event> events;
};

enum class SessionSort { kStartedAt, kLastEventAt, kCostUsd, kTotalTokens, kEventCount, kErrorCount };
std::optional<SessionSort> parse_session_sort(std::string_view s);
std::string_view to_string(SessionSort s);

// Keyset position: the sort value of the last row returned, and its id.
// Where a page of sessions ended: the sort key of its last session and its id. Keys are
// integers (times in microseconds, counts, tokens) except cost_usd, a double; both are
// carried exactly.
struct SessionCursor {
  int64_t int_value = 0;
  double real_value = 0;
  std::string id;
};

struct SessionQuery {
  int64_t project_id = 0;
  std::optional<std::string> agent, tag, user_id, q;
  std::optional<SessionStatus> status;
  std::optional<Micros> from, to;
  SessionSort sort = SessionSort::kStartedAt;
  bool descending = true;
  int limit = 50;
  std::optional<SessionCursor> after;
};

// Position in an event listing: (started_at, seq) of the last row returned; seq is the
// store's arrival order.
struct EventCursor {
  Micros started_at = 0;
  int64_t seq = 0;
};

struct EventQuery {
  int64_t project_id = 0;
  std::optional<std::string> q, name, model, session_id, agent;
  std::optional<EventType> type;
  std::optional<EventStatus> status;
  std::optional<Micros> from, to;
  int limit = 50;
  std::optional<EventCursor> after;
};

template <typename T, typename Cursor>
struct Page {
  std::vector<T> items;
  std::optional<Cursor> next;
};

struct StoredEvent {
  Event event;
  int64_t seq = 0;
};

struct AgentStats {
  std::optional<std::string> agent;
  int64_t sessions = 0, running_sessions = 0, failed_sessions = 0;
  int64_t events = 0, errors = 0, llm_calls = 0, tool_calls = 0;
  int64_t input_tokens = 0, output_tokens = 0, total_tokens = 0;
  double cost_usd = 0;
  std::optional<double> p50_duration_ms, p95_duration_ms;
  std::optional<Micros> last_seen_at;
};

// Per-agent activity in fixed time buckets, for the dashboard's charts. Arrays are aligned
// with the buckets [from + i*step, from + (i+1)*step) and zero-filled.
struct AgentSeries {
  std::optional<std::string> agent;
  std::vector<int64_t> events, errors, total_tokens;
  std::vector<double> cost_usd;
};
struct TimeSeries {
  Micros from = 0, step = 0;
  int buckets = 0;
  std::vector<AgentSeries> series;
};

// Dashboard users. Roles are ordered: each can do what the ones before it can.
enum class Role { kViewer, kMember, kAdmin };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

struct User {
  int64_t id = 0;
  std::string email;          // stored lower-cased
  std::string password_hash;  // argon2id, PHC string format
  Role role = Role::kViewer;
  Micros created_at = 0;
};

// A logged-in browser: the cookie carries the token, the store only its hash.
struct LoginSession {
  std::string token_hash;
  int64_t user_id = 0;
  std::string csrf_token;
  Micros created_at = 0, expires_at = 0;
};

}  // namespace agentlog::model
