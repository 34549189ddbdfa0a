// JSON rendering of model values and RFC 9457 problem responses: the one place that
// decides what the API's output looks like.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "ingest/json_decoder.h"
#include "model/types.h"
#include "util/json_writer.h"

namespace agentlog::api {

// With `open_only` the object is left open for the caller to add members.
void write_event(JsonWriter& w, const model::StoredEvent& se, bool open_only = false);
void write_session(JsonWriter& w, const model::Session& s);
void write_agent(JsonWriter& w, const model::AgentStats& a);
void write_item_errors(JsonWriter& w, const std::vector<ingest::ItemError>& errors);

// `slug` becomes type "urn:agentlog:problem:<slug>". `extend` adds members (RFC 9457
// extensions) to the problem object.
Response problem(int status, std::string_view slug, std::string_view detail, std::string_view instance,
                 const std::function<void(JsonWriter&)>& extend = nullptr);
Response problem(int status, std::string_view slug, std::string_view detail, std::string_view instance,
                 const std::vector<ingest::ItemError>& errors);
Response json_response(int status, std::string body);

}  // namespace agentlog::api
