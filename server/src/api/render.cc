#include "api/render.h"

#include "util/time.h"

namespace agentlog::api {
namespace {

template <typename T>
void opt(JsonWriter& w, std::string_view key, const std::optional<T>& v) {
  w.key(key);
  if (v) {
    w.value(*v);
  } else {
    w.null();
  }
}

void time_field(JsonWriter& w, std::string_view key, std::optional<Micros> t) {
  w.key(key);
  if (t) {
    std::string s;
    format_rfc3339_into(s, *t);
    w.string(s);
  } else {
    w.null();
  }
}

void raw_or_null(JsonWriter& w, std::string_view key, const std::optional<std::string>& json) {
  w.key(key);
  if (json) {
    w.raw(*json);
  } else {
    w.null();
  }
}

std::string_view title_for(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

}  // namespace

void write_event(JsonWriter& w, const model::StoredEvent& se, bool open_only) {
  const model::Event& e = se.event;
  w.begin_object();
  w.field("id", e.id).field("seq", se.seq).field("session_id", e.session_id);
  opt(w, "parent_id", e.parent_id);
  opt(w, "trace_id", e.trace_id);
  opt(w, "span_id", e.span_id);
  w.field("type", model::to_string(e.type));
  opt(w, "name", e.name);
  opt(w, "agent", e.agent);
  time_field(w, "started_at", e.started_at);
  time_field(w, "ended_at", e.ended_at);
  w.key("duration_ms");
  if (e.ended_at) {
    w.number(static_cast<double>(*e.ended_at - e.started_at) / 1000.0);
  } else {
    w.null();
  }
  w.field("status", model::to_string(e.status));
  raw_or_null(w, "input", e.input_json);
  raw_or_null(w, "output", e.output_json);
  w.key("error");
  if (e.error) {
    w.begin_object();
    opt(w, "type", e.error->type);
    opt(w, "message", e.error->message);
    opt(w, "stack", e.error->stack);
    w.end_object();
  } else {
    w.null();
  }
  opt(w, "model", e.model);
  opt(w, "provider", e.provider);
  w.key("usage");
  if (e.usage) {
    w.begin_object()
        .field("input_tokens", e.usage->input_tokens)
        .field("output_tokens", e.usage->output_tokens)
        .field("total_tokens", e.usage->total_tokens)
        .field("cached_tokens", e.usage->cached_tokens)
        .end_object();
  } else {
    w.null();
  }
  opt(w, "cost_usd", e.cost_usd);
  w.key("attributes").raw(e.attributes_json);
  w.key("tags").raw(e.tags_json);
  if (!open_only) w.end_object();
}

void write_session(JsonWriter& w, const model::Session& s) {
  w.begin_object();
  w.field("id", s.id);
  opt(w, "name", s.name);
  opt(w, "agent", s.agent);
  opt(w, "user_id", s.user_id);
  w.key("tags").raw(s.tags_json);
  w.key("metadata").raw(s.metadata_json);
  w.field("status", model::to_string(s.status));
  time_field(w, "started_at", s.started_at);
  time_field(w, "ended_at", s.ended_at);
  time_field(w, "last_event_at", s.last_event_at);
  w.key("duration_ms");
  const auto end = s.ended_at ? s.ended_at : s.last_event_at;
  if (s.started_at && end) {
    w.number(static_cast<double>(*end - *s.started_at) / 1000.0);
  } else {
    w.null();
  }
  w.field("event_count", s.event_count).field("error_count", s.error_count);
  w.field("llm_count", s.llm_count).field("tool_count", s.tool_count);
  w.field("input_tokens", s.input_tokens).field("output_tokens", s.output_tokens);
  w.field("total_tokens", s.total_tokens).field("cost_usd", s.cost_usd);
  w.end_object();
}

void write_agent(JsonWriter& w, const model::AgentStats& a) {
  w.begin_object();
  opt(w, "agent", a.agent);
  w.field("sessions", a.sessions).field("running_sessions", a.running_sessions);
  w.field("failed_sessions", a.failed_sessions).field("events", a.events).field("errors", a.errors);
  w.field("error_rate", a.sessions ? static_cast<double>(a.failed_sessions) / static_cast<double>(a.sessions) : 0.0);
  w.field("llm_calls", a.llm_calls).field("tool_calls", a.tool_calls);
  w.field("input_tokens", a.input_tokens).field("output_tokens", a.output_tokens);
  w.field("total_tokens", a.total_tokens).field("cost_usd", a.cost_usd);
  opt(w, "p50_duration_ms", a.p50_duration_ms);
  opt(w, "p95_duration_ms", a.p95_duration_ms);
  time_field(w, "last_seen_at", a.last_seen_at);
  w.end_object();
}

void write_item_errors(JsonWriter& w, const std::vector<ingest::ItemError>& errors) {
  w.key("errors").begin_array();
  for (const auto& e : errors) {
    w.begin_object();
    if (!e.item.empty()) w.field("index", static_cast<int64_t>(e.index)).field("item", e.item);
    w.field("field", e.field).field("message", e.message);
    w.end_object();
  }
  w.end_array();
}

Response problem(int status, std::string_view slug, std::string_view detail, std::string_view instance,
                 const std::function<void(JsonWriter&)>& extend) {
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  JsonWriter w(r.body);
  w.begin_object();
  w.field("type", std::string("urn:agentlog:problem:") + std::string(slug));
  w.field("title", title_for(status)).field("status", status).field("detail", detail);
  w.field("instance", instance);
  if (extend) extend(w);
  w.end_object();
  return r;
}

Response problem(int status, std::string_view slug, std::string_view detail, std::string_view instance,
                 const std::vector<ingest::ItemError>& errors) {
  return problem(status, slug, detail, instance, [&errors](JsonWriter& w) {
    if (!errors.empty()) write_item_errors(w, errors);
  });
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace agentlog::api
