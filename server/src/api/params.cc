#include "api/params.h"

#include <fmt/format.h>

#include <charconv>

#include "util/ids.h"

namespace agentlog::api {

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Params::Params(std::string_view query) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    kv_.emplace_back(percent_decode(part.substr(0, eq), true),
                     eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1), true));
  }
}

std::optional<std::string> Params::str(std::string_view name) const {
  for (const auto& [k, v] : kv_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

void Params::add_error(std::string_view field, std::string message) {
  errors_.push_back(ingest::ItemError{0, "", std::string(field), std::move(message)});
}

std::optional<int> Params::integer(std::string_view name, int min, int max, int fallback) {
  const auto s = str(name);
  if (!s) return fallback;
  int v = 0;
  const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || end != s->data() + s->size() || v < min || v > max) {
    add_error(name, fmt::format("must be an integer from {} to {}", min, max));
    return std::nullopt;
  }
  return v;
}

std::optional<Micros> Params::time(std::string_view name) {
  const auto s = str(name);
  if (!s) return std::nullopt;
  auto t = parse_time_param(*s);
  if (!t) add_error(name, "must be an RFC 3339 timestamp or epoch milliseconds");
  return t;
}

std::optional<model::EventType> Params::event_type(std::string_view name) {
  const auto s = str(name);
  if (!s) return std::nullopt;
  auto t = model::parse_event_type(*s);
  if (!t) add_error(name, "is not an event type");
  return t;
}

std::optional<bool> Params::boolean(std::string_view name, bool fallback) {
  const auto s = str(name);
  if (!s) return fallback;
  if (*s == "true" || *s == "1") return true;
  if (*s == "false" || *s == "0") return false;
  add_error(name, "must be true or false");
  return std::nullopt;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t p = s.find(sep);
    if (p == std::string_view::npos) break;
    parts.push_back(s.substr(0, p));
    s = s.substr(p + 1);
  }
  parts.push_back(s);
  return parts;
}

template <typename T>
bool parse_num(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

std::string encode_session_cursor(model::SessionSort sort, bool desc, const model::SessionCursor& c) {
  const std::string value =
      sort == model::SessionSort::kCostUsd ? fmt::format("{:.17g}", c.real_value) : std::to_string(c.int_value);
  return base64url_encode(fmt::format("s|{}|{}|{}|{}", model::to_string(sort), desc ? 1 : 0, value, c.id));
}

std::optional<model::SessionCursor> decode_session_cursor(std::string_view text, model::SessionSort sort, bool desc) {
  const auto raw = base64url_decode(text);
  if (!raw) return std::nullopt;
  const auto parts = split(*raw, '|', 5);
  model::SessionCursor c;
  if (parts.size() != 5 || parts[0] != "s" || parts[1] != model::to_string(sort) ||
      parts[2] != (desc ? "1" : "0") ||
      !(sort == model::SessionSort::kCostUsd ? parse_num(parts[3], c.real_value) : parse_num(parts[3], c.int_value))) {
    return std::nullopt;
  }
  c.id = std::string(parts[4]);
  return c;
}

std::string encode_event_cursor(char kind, const model::EventCursor& c) {
  return base64url_encode(fmt::format("{}|{}|{}", kind, c.started_at, c.seq));
}

std::optional<model::EventCursor> decode_event_cursor(std::string_view text, char kind) {
  const auto raw = base64url_decode(text);
  if (!raw) return std::nullopt;
  const auto parts = split(*raw, '|', 3);
  model::EventCursor c;
  if (parts.size() != 3 || parts[0] != std::string_view(&kind, 1) || !parse_num(parts[1], c.started_at) ||
      !parse_num(parts[2], c.seq)) {
    return std::nullopt;
  }
  return c;
}

}  // namespace agentlog::api
