// Query-string parsing and validation for the API's list endpoints, and the opaque
// cursors they hand out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/json_decoder.h"
#include "model/types.h"

namespace agentlog::api {

std::string percent_decode(std::string_view s, bool plus_is_space);

class Params {
 public:
  // Splits "a=1&b=x%20y".
  explicit Params(std::string_view query);

  std::optional<std::string> str(std::string_view name) const;
  std::optional<int> integer(std::string_view name, int min, int max, int fallback);
  std::optional<Micros> time(std::string_view name);
  std::optional<bool> boolean(std::string_view name, bool fallback);
  // An event type; nullopt when absent or invalid (then recorded as an error).
  std::optional<model::EventType> event_type(std::string_view name);
  void add_error(std::string_view field, std::string message);

  bool ok() const { return errors_.empty(); }
  const std::vector<ingest::ItemError>& errors() const { return errors_; }

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
  std::vector<ingest::ItemError> errors_;
};

// Cursors are base64url text; each records which listing (and sort) it belongs to so a
// cursor from another listing is rejected rather than misread.
std::string encode_session_cursor(model::SessionSort sort, bool desc, const model::SessionCursor& c);
std::optional<model::SessionCursor> decode_session_cursor(std::string_view text, model::SessionSort sort, bool desc);
std::string encode_event_cursor(char kind, const model::EventCursor& c);
std::optional<model::EventCursor> decode_event_cursor(std::string_view text, char kind);

}  // namespace agentlog::api
