#include "model/types.h"

#include <array>
#include <utility>

namespace agentlog::model {
namespace {

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::pair<std::string_view, E>, N>& table, std::string_view s) {
  for (const auto& [name, value] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}
template <typename E, size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, E>, N>& table, E v) {
  for (const auto& [name, value] : table) {
    if (value == v) return name;
  }
  return {};
}

constexpr std::array<std::pair<std::string_view, EventType>, 11> kEventTypes = {{
    {"agent", EventType::kAgent}, {"step", EventType::kStep}, {"llm", EventType::kLlm},
    {"tool", EventType::kTool}, {"retrieval", EventType::kRetrieval}, {"embedding", EventType::kEmbedding},
    {"message", EventType::kMessage}, {"action", EventType::kAction}, {"error", EventType::kError},
    {"log", EventType::kLog}, {"custom", EventType::kCustom},
}};
constexpr std::array<std::pair<std::string_view, EventStatus>, 3> kEventStatuses = {{
    {"ok", EventStatus::kOk}, {"error", EventStatus::kError}, {"running", EventStatus::kRunning},
}};
constexpr std::array<std::pair<std::string_view, SessionStatus>, 4> kSessionStatuses = {{
    {"running", SessionStatus::kRunning}, {"success", SessionStatus::kSuccess},
    {"failure", SessionStatus::kFailure}, {"cancelled", SessionStatus::kCancelled},
}};
constexpr std::array<std::pair<std::string_view, SessionSort>, 6> kSessionSorts = {{
    {"started_at", SessionSort::kStartedAt}, {"last_event_at", SessionSort::kLastEventAt},
    {"cost_usd", SessionSort::kCostUsd}, {"total_tokens", SessionSort::kTotalTokens},
    {"event_count", SessionSort::kEventCount}, {"error_count", SessionSort::kErrorCount},
}};

constexpr std::array<std::pair<std::string_view, Role>, 3> kRoles = {{
    {"viewer", Role::kViewer}, {"member", Role::kMember}, {"admin", Role::kAdmin},
}};

}  // namespace

std::string_view to_string(Role r) { return name_of(kRoles, r); }
std::optional<Role> parse_role(std::string_view s) { return lookup(kRoles, s); }
std::string_view to_string(EventType t) { return name_of(kEventTypes, t); }
std::string_view to_string(EventStatus s) { return name_of(kEventStatuses, s); }
std::string_view to_string(SessionStatus s) { return name_of(kSessionStatuses, s); }
std::string_view to_string(SessionSort s) { return name_of(kSessionSorts, s); }
std::optional<EventType> parse_event_type(std::string_view s) { return lookup(kEventTypes, s); }
std::optional<EventStatus> parse_event_status(std::string_view s) { return lookup(kEventStatuses, s); }
std::optional<SessionStatus> parse_session_status(std::string_view s) { return lookup(kSessionStatuses, s); }
std::optional<SessionSort> parse_session_sort(std::string_view s) { return lookup(kSessionSorts, s); }

}  // namespace agentlog::model
