#include "api/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include <simdjson.h>

#include <charconv>

#include "api/otlp.h"
#include "api/params.h"
#include "api/render.h"
#include "api/web_assets.h"
#include "ingest/json_decoder.h"
#include "util/crypto.h"
#include "util/password.h"

namespace agentlog::api {

extern const std::pair<std::string_view, std::string_view> kOpenApiDocument[];

namespace {

using model::SessionSort;

enum class RouteId {
  kHealthz, kReadyz, kMetrics, kOpenApi, kIngest, kSessions, kSession, kSessionEvents, kEvents, kEvent, kAgents,
  kTimeseries, kStream, kLogin, kLogout, kMe, kWeb, kTraces, kNone
};

struct Route {
  RouteId id = RouteId::kNone;
  std::string_view name;     // template, for metrics
  std::string_view allowed;  // "GET, POST"
  std::string param;         // {id}, percent-decoded
};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

Route match(std::string_view path) {
  const auto s = segments(path);
  if (s.size() == 1) {
    if (s[0] == "healthz") return {RouteId::kHealthz, "/healthz", "GET, HEAD", {}};
    if (s[0] == "readyz") return {RouteId::kReadyz, "/readyz", "GET, HEAD", {}};
    if (s[0] == "metrics") return {RouteId::kMetrics, "/metrics", "GET, HEAD", {}};
    if (s[0] == "openapi.json") return {RouteId::kOpenApi, "/openapi.json", "GET, HEAD", {}};
  }
  // Everything outside /v1 is the dashboard (files, or the app for its own routes).
  if (s.empty() || s[0] != "v1") return {RouteId::kWeb, "/", "GET, HEAD", {}};
  if (s.size() == 2) {
    if (s[1] == "ingest") return {RouteId::kIngest, "/v1/ingest", "POST", {}};
    if (s[1] == "sessions") return {RouteId::kSessions, "/v1/sessions", "GET, POST", {}};
    if (s[1] == "events") return {RouteId::kEvents, "/v1/events", "GET", {}};
    if (s[1] == "agents") return {RouteId::kAgents, "/v1/agents", "GET", {}};
    if (s[1] == "stream") return {RouteId::kStream, "/v1/stream", "GET", {}};
    if (s[1] == "traces") return {RouteId::kTraces, "/v1/traces", "POST", {}};
  }
  // OTLP/HTTP exporters append /v1/traces to a base URL; this one is AgentLog's + /v1/otlp.
  if (s.size() == 4 && s[1] == "otlp" && s[2] == "v1" && s[3] == "traces") {
    return {RouteId::kTraces, "/v1/otlp/v1/traces", "POST", {}};
  }
  if (s.size() == 3 && s[1] == "agents" && s[2] == "timeseries") {
    return {RouteId::kTimeseries, "/v1/agents/timeseries", "GET", {}};
  }
  if (s.size() == 3 && s[1] == "auth") {
    if (s[2] == "login") return {RouteId::kLogin, "/v1/auth/login", "POST", {}};
    if (s[2] == "logout") return {RouteId::kLogout, "/v1/auth/logout", "POST", {}};
    if (s[2] == "me") return {RouteId::kMe, "/v1/auth/me", "GET", {}};
  }
  if (s.size() == 3 && s[1] == "sessions") {
    return {RouteId::kSession, "/v1/sessions/{id}", "GET, PATCH, DELETE", percent_decode(s[2], false)};
  }
  if (s.size() == 4 && s[1] == "sessions" && s[3] == "events") {
    return {RouteId::kSessionEvents, "/v1/sessions/{id}/events", "GET", percent_decode(s[2], false)};
  }
  if (s.size() == 3 && s[1] == "events") return {RouteId::kEvent, "/v1/events/{id}", "GET", percent_decode(s[2], false)};
  return {};
}

bool method_allowed(std::string_view allowed, std::string_view method) {
  if (method.empty()) return false;
  size_t pos = 0;
  while ((pos = allowed.find(method, pos)) != std::string_view::npos) {
    const size_t end = pos + method.size();
    if ((pos == 0 || allowed[pos - 1] == ' ') && (end == allowed.size() || allowed[end] == ',')) return true;
    pos = end;
  }
  return false;
}

bool is_json_content_type(std::string_view ct) {
  const size_t semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != "application/json"[i]) return false;
  }
  return true;
}

std::string_view bearer_secret(const Request& req) {
  if (!req.api_key.empty()) return req.api_key;
  std::string_view a = req.authorization;
  if (a.size() > 7 && (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) {
    a.remove_prefix(7);
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
    return a;
  }
  return {};
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent.
std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

std::string session_cookie(std::string_view value, int64_t max_age_seconds, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", kSessionCookie, value, max_age_seconds,
                     secure ? "; Secure" : "");
}

bool accepts_gzip(std::string_view accept_encoding) {
  // Enough for browsers and curl; a "gzip;q=0" refusal is honoured too.
  const size_t pos = accept_encoding.find("gzip");
  return pos != std::string_view::npos && accept_encoding.substr(pos).rfind("gzip;q=0", 0) != 0;
}

Response from_status(const Status& s, std::string_view instance) {
  switch (s.code()) {
    case Status::Code::kNotFound: return problem(404, "not-found", s.message(), instance);
    case Status::Code::kConflict: return problem(409, "conflict", s.message(), instance);
    case Status::Code::kInvalidArgument: return problem(422, "validation-failed", s.message(), instance);
    case Status::Code::kUnavailable: return problem(503, "unavailable", s.message(), instance);
    default:
      spdlog::error("{}: {}", instance, s.message());
      return problem(500, "internal", "internal error; see the server log", instance);
  }
}

Response draining_response(std::string_view instance) {
  Response r = problem(503, "draining", "the server is shutting down; retry against another instance or later", instance);
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

Response invalid_params(const Params& p, std::string_view instance) {
  const auto& e = p.errors();
  return problem(400, "invalid-parameter", fmt::format("invalid query parameter '{}': {}", e[0].field, e[0].message),
                 instance, e);
}

}  // namespace

// A bounded pool of decoders: each holds a reusable simdjson parser and is not thread-safe.
class DecoderPool {
 public:
  DecoderPool(const Clock& clock, UuidV7Generator& ids) : clock_(clock), ids_(ids) {}
  std::unique_ptr<ingest::JsonDecoder> take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<ingest::JsonDecoder>(clock_, ids_);
    auto d = std::move(free_.back());
    free_.pop_back();
    return d;
  }
  void give(std::unique_ptr<ingest::JsonDecoder> d) {
    std::lock_guard lock(mu_);
    if (free_.size() < 16) free_.push_back(std::move(d));
  }

 private:
  const Clock& clock_;
  UuidV7Generator& ids_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ingest::JsonDecoder>> free_;
};

// Borrows a decoder for one scope.
class DecoderLease {
 public:
  explicit DecoderLease(DecoderPool& pool) : pool_(pool), d_(pool.take()) {}
  ~DecoderLease() { pool_.give(std::move(d_)); }
  ingest::JsonDecoder* operator->() { return d_.get(); }

 private:
  DecoderPool& pool_;
  std::unique_ptr<ingest::JsonDecoder> d_;
};

namespace {

void write_tree(JsonWriter& w, size_t i, const std::vector<model::StoredEvent>& events,
                const std::vector<std::vector<size_t>>& children, std::vector<bool>& done) {
  done[i] = true;
  write_event(w, events[i], true);
  w.key("children").begin_array();
  for (size_t c : children[i]) {
    if (!done[c]) write_tree(w, c, events, children, done);
  }
  w.end_array().end_object();
}

}  // namespace

Api::Api(Deps deps)
    : deps_(std::move(deps)),
      auth_(deps_.store, deps_.clock),
      decoders_(std::make_unique<DecoderPool>(deps_.clock, deps_.ids)),
      otlp_(std::make_unique<OtlpHandler>(OtlpDeps{deps_.store, deps_.pipeline, deps_.clock, auth_, deps_.offload,
                                                   [this] { return draining(); }})) {}
Api::~Api() = default;

void Api::set_draining() {
  draining_.store(true);
  if (deps_.streams) deps_.streams->close_all();  // streams end; their clients reconnect elsewhere
}

void Api::handle(Request req, Respond respond) {
  const std::string_view target = req.target;
  const size_t qpos = target.find('?');
  const std::string path(target.substr(0, qpos));
  const std::string query(qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1));
  Route route = match(path);
  Respond finish = [this, method = req.method, name = std::string(route.id == RouteId::kNone ? "unmatched" : route.name),
                    respond = std::move(respond)](Response r) {
    r.route = name;
    deps_.metrics.count_request(method, name, r.status);
    respond(std::move(r));
  };
  if (route.id == RouteId::kNone) return finish(problem(404, "not-found", fmt::format("no route for {}", path), path));
  if (!method_allowed(route.allowed, req.method)) {
    Response r = problem(405, "method-not-allowed", fmt::format("{} is not allowed on {}", req.method, route.name), path);
    r.headers.emplace_back("Allow", std::string(route.allowed));
    return finish(std::move(r));
  }

  switch (route.id) {
    case RouteId::kHealthz: return finish(json_response(200, R"({"status":"ok"})"));
    case RouteId::kReadyz:
      if (draining() || !deps_.store.ready()) {
        Response r = json_response(503, R"({"status":"unavailable"})");
        r.headers.emplace_back("Retry-After", "1");
        return finish(std::move(r));
      }
      return finish(json_response(200, R"({"status":"ready"})"));
    case RouteId::kMetrics:
      return deps_.offload([this, finish] {
        Response r;
        r.content_type = "text/plain; version=0.0.4";
        deps_.metrics.render(r.body, deps_.clock.now());
        r.body += "# HELP agentlog_database_size_bytes Size of the database files on disk.\n";
        r.body += "# TYPE agentlog_database_size_bytes gauge\n";
        r.body += fmt::format("agentlog_database_size_bytes {}\n", deps_.store.database_size_bytes());
        if (deps_.streams) {
          r.body += "# HELP agentlog_stream_clients Open GET /v1/stream connections.\n";
          r.body += "# TYPE agentlog_stream_clients gauge\n";
          r.body += fmt::format("agentlog_stream_clients {}\n", deps_.streams->clients());
          r.body += "# HELP agentlog_stream_dropped_clients_total Stream clients disconnected for falling behind.\n";
          r.body += "# TYPE agentlog_stream_dropped_clients_total counter\n";
          r.body += fmt::format("agentlog_stream_dropped_clients_total {}\n", deps_.streams->dropped_clients());
        }
        finish(std::move(r));
      });
    case RouteId::kOpenApi: return finish(json_response(200, std::string(kOpenApiDocument[0].second)));
    default: break;
  }

  if (route.id == RouteId::kWeb) return finish(web_asset(req, path));
  if (route.id == RouteId::kLogin) return login(std::move(req), std::move(finish));
  // OTLP answers in its own format (google.rpc.Status bodies) and accepts Basic auth.
  if (route.id == RouteId::kTraces) return otlp_->handle(req, std::move(finish));

  // An API key when one is presented, else the dashboard's log-in cookie.
  const std::string_view secret = bearer_secret(req);
  const std::string_view token = cookie_value(req.cookie, kSessionCookie);
  const auto principal = !secret.empty() ? auth_.authenticate(secret)
                         : !token.empty() ? auth_.authenticate_login(token)
                                          : std::nullopt;
  if (!principal) {
    Response r = problem(401, "unauthorized",
                         "a valid API key (Authorization: Bearer <key> or X-API-Key) or a log-in is required", path);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return finish(std::move(r));
  }
  if (principal->touch) {
    deps_.offload([this, key = principal->key_id] { (void)deps_.store.touch_key(key, deps_.clock.now()); });
  }
  const bool writes = req.method != "GET" && req.method != "HEAD";
  if (principal->user && writes) {
    // A cookie rides along on cross-site requests; the token in a header cannot.
    if (req.csrf_token.empty() || !constant_time_equal(req.csrf_token, principal->csrf_token)) {
      return finish(problem(403, "csrf", "this write needs the X-CSRF-Token header of the log-in", path));
    }
    if (route.id != RouteId::kLogout && principal->user->role == model::Role::kViewer) {
      return finish(problem(403, "forbidden", "viewers cannot change data", path));
    }
  }
  const int64_t project = principal->project_id;
  if (route.id == RouteId::kIngest) return ingest(req, project, std::move(finish));
  if (route.id == RouteId::kLogout) return logout(req, std::move(finish));
  if (route.id == RouteId::kMe) return me(*principal, std::move(finish));
  if (route.id == RouteId::kStream) return stream(req, query, project, std::move(finish));

  if (writes && draining()) return finish(draining_response(path));
  if (writes && !is_json_content_type(req.content_type) && req.method != "DELETE") {
    return finish(problem(415, "unsupported-media-type", "the body must be application/json", path));
  }

  deps_.offload([this, req = std::move(req), route = std::move(route), path, query, project, finish]() mutable {
    Params params(query);
    const Micros now = deps_.clock.now();
    std::string out;
    JsonWriter w(out);
    switch (route.id) {
      case RouteId::kSessions: {
        if (req.method == "POST") {
          auto d = DecoderLease(*decoders_)->decode_session(req.body, false);
          if (d.failure) {
            const bool malformed = d.failure->kind == ingest::DecodeFailure::Kind::kMalformed;
            return finish(problem(malformed ? 400 : 422, malformed ? "malformed-json" : "validation-failed",
                                  d.failure->message, path, d.failure->errors));
          }
          if (d.value->id.empty()) d.value->id = deps_.ids.next();
          auto s = deps_.store.create_session(project, *d.value, now);
          if (!s.is_ok()) return finish(from_status(s.status(), path));
          write_session(w, *s);
          Response r = json_response(201, std::move(out));
          r.headers.emplace_back("Location", "/v1/sessions/" + s->id);
          return finish(std::move(r));
        }
        model::SessionQuery q;
        q.project_id = project;
        q.agent = params.str("agent");
        q.tag = params.str("tag");
        q.user_id = params.str("user_id");
        q.q = params.str("q");
        if (auto st = params.str("status")) {
          q.status = model::parse_session_status(*st);
          if (!q.status) params.add_error("status", "must be one of running, success, failure, cancelled");
        }
        q.from = params.time("from");
        q.to = params.time("to");
        if (auto sort = params.str("sort")) {
          std::string_view key = *sort;
          q.descending = !key.empty() && key[0] == '-';
          if (q.descending) key.remove_prefix(1);
          auto parsed = model::parse_session_sort(key);
          if (parsed) {
            q.sort = *parsed;
          } else {
            params.add_error("sort", "must be one of started_at, last_event_at, cost_usd, total_tokens, event_count, "
                                     "error_count, optionally prefixed with '-' for descending order");
          }
        }
        q.limit = params.integer("limit", 1, 1000, 50).value_or(0);
        if (auto c = params.str("cursor")) {
          q.after = decode_session_cursor(*c, q.sort, q.descending);
          if (!q.after) params.add_error("cursor", "is not a cursor of this listing");
        }
        if (!params.ok()) return finish(invalid_params(params, path));
        auto page = deps_.store.list_sessions(q);
        if (!page.is_ok()) return finish(from_status(page.status(), path));
        w.begin_object().key("data").begin_array();
        for (const auto& s : page->items) write_session(w, s);
        w.end_array().key("next_cursor");
        if (page->next) w.string(encode_session_cursor(q.sort, q.descending, *page->next));
        else w.null();
        w.end_object();
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kSession: {
        if (req.method == "GET") {
          auto s = deps_.store.get_session(project, route.param);
          if (!s.is_ok()) return finish(from_status(s.status(), path));
          write_session(w, *s);
          return finish(json_response(200, std::move(out)));
        }
        if (req.method == "DELETE") {
          const Status s = deps_.store.delete_session(project, route.param);
          if (!s.is_ok()) return finish(from_status(s, path));
          Response r = json_response(204, "");
          r.content_type.clear();
          return finish(std::move(r));
        }
        auto d = DecoderLease(*decoders_)->decode_session(req.body, false);
        if (d.failure) {
          const bool malformed = d.failure->kind == ingest::DecodeFailure::Kind::kMalformed;
          return finish(problem(malformed ? 400 : 422, malformed ? "malformed-json" : "validation-failed",
                                d.failure->message, path, d.failure->errors));
        }
        if (!d.value->id.empty() && d.value->id != route.param) {
          return finish(problem(422, "validation-failed", "the id in the body differs from the id in the path", path,
                                {{0, "session", "id", "must equal the id in the path (ids cannot be changed)"}}));
        }
        d.value->id = route.param;
        auto s = deps_.store.patch_session(project, *d.value);
        if (!s.is_ok()) return finish(from_status(s.status(), path));
        write_session(w, *s);
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kSessionEvents: {
        const int limit = params.integer("limit", 1, 10000, 1000).value_or(0);
        const bool tree = params.boolean("tree", false).value_or(false);
        std::optional<model::EventCursor> after;
        if (auto c = params.str("cursor")) {
          after = decode_event_cursor(*c, 't');
          if (!after) params.add_error("cursor", "is not a cursor of this listing");
        }
        if (!params.ok()) return finish(invalid_params(params, path));
        if (auto s = deps_.store.get_session(project, route.param); !s.is_ok()) {
          return finish(from_status(s.status(), path));
        }
        auto page = deps_.store.session_events(project, route.param, limit, after);
        if (!page.is_ok()) return finish(from_status(page.status(), path));
        const auto& items = page->items;
        w.begin_object().key("data").begin_array();
        if (tree) {
          std::unordered_map<std::string_view, size_t> by_id;
          for (size_t i = 0; i < items.size(); ++i) by_id.emplace(items[i].event.id, i);
          std::vector<std::vector<size_t>> children(items.size());
          std::vector<bool> is_root(items.size(), true);
          for (size_t i = 0; i < items.size(); ++i) {
            const auto& parent = items[i].event.parent_id;
            if (!parent) continue;
            auto it = by_id.find(*parent);
            if (it == by_id.end() || it->second == i) continue;
            children[it->second].push_back(i);
            is_root[i] = false;
          }
          std::vector<bool> done(items.size(), false);
          for (size_t i = 0; i < items.size(); ++i) {
            if (is_root[i]) write_tree(w, i, items, children, done);
          }
          // Events caught in a parent cycle are reachable from no root: list them at the top.
          for (size_t i = 0; i < items.size(); ++i) {
            if (!done[i]) write_tree(w, i, items, children, done);
          }
        } else {
          for (const auto& e : items) write_event(w, e);
        }
        w.end_array().key("next_cursor");
        if (page->next) w.string(encode_event_cursor('t', *page->next));
        else w.null();
        w.end_object();
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kEvents: {
        model::EventQuery q;
        q.project_id = project;
        q.q = params.str("q");
        q.name = params.str("name");
        q.model = params.str("model");
        q.session_id = params.str("session_id");
        q.agent = params.str("agent");
        q.type = params.event_type("type");
        if (auto st = params.str("status")) {
          q.status = model::parse_event_status(*st);
          if (!q.status) params.add_error("status", "must be one of ok, error, running");
        }
        q.from = params.time("from");
        q.to = params.time("to");
        q.limit = params.integer("limit", 1, 1000, 50).value_or(0);
        const char kind = q.q ? 'q' : 'e';
        if (auto c = params.str("cursor")) {
          q.after = decode_event_cursor(*c, kind);
          if (!q.after) params.add_error("cursor", "is not a cursor of this listing");
        }
        if (!params.ok()) return finish(invalid_params(params, path));
        auto page = deps_.store.search_events(q);
        if (!page.is_ok()) return finish(from_status(page.status(), path));
        w.begin_object().key("data").begin_array();
        for (const auto& e : page->items) write_event(w, e);
        w.end_array().key("next_cursor");
        if (page->next) w.string(encode_event_cursor(kind, *page->next));
        else w.null();
        w.end_object();
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kEvent: {
        auto e = deps_.store.get_event(project, route.param);
        if (!e.is_ok()) return finish(from_status(e.status(), path));
        write_event(w, *e);
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kAgents: {
        const auto from = params.time("from");
        const auto to = params.time("to");
        if (!params.ok()) return finish(invalid_params(params, path));
        auto agents = deps_.store.agents(project, from, to);
        if (!agents.is_ok()) return finish(from_status(agents.status(), path));
        w.begin_object().key("data").begin_array();
        for (const auto& a : *agents) write_agent(w, a);
        w.end_array().end_object();
        return finish(json_response(200, std::move(out)));
      }
      case RouteId::kTimeseries: {
        constexpr Micros kMinute = 60 * 1000000LL;
        constexpr int kMaxBuckets = 1000;
        const Micros to = params.time("to").value_or(now);
        const Micros from = params.time("from").value_or(to - 24 * 60 * kMinute);
        const auto agent = params.str("agent");
        if (from >= to) params.add_error("from", "must be before to");
        // Default step: the whole minutes that give at most ~200 buckets.
        const Micros span = std::max<Micros>(to - from, 1);
        const int fallback = static_cast<int>(std::max<Micros>(1, (span + 200 * kMinute - 1) / (200 * kMinute)) * 60);
        const auto step_s = params.integer("step", 1, 31 * 24 * 3600, fallback);
        if (!params.ok()) return finish(invalid_params(params, path));
        const Micros step = static_cast<Micros>(*step_s) * 1000000;
        // Buckets start at whole multiples of the step, so charts line up across requests.
        const Micros start = from - ((from % step) + step) % step;
        const Micros buckets = (to - start + step - 1) / step;
        if (buckets > kMaxBuckets) {
          params.add_error("step", fmt::format("gives {} buckets for this range; at most {}", buckets, kMaxBuckets));
          return finish(invalid_params(params, path));
        }
        auto ts = deps_.store.timeseries(project, start, step, static_cast<int>(buckets), agent);
        if (!ts.is_ok()) return finish(from_status(ts.status(), path));
        w.begin_object().field("step_seconds", static_cast<int64_t>(*step_s)).key("t").begin_array();
        for (int i = 0; i < ts->buckets; ++i) w.number((start + step * i) / 1000000);
        w.end_array().key("series").begin_array();
        for (const auto& a : ts->series) {
          w.begin_object().key("agent");
          if (a.agent) w.string(*a.agent);
          else w.null();
          auto ints = [&](std::string_view key, const std::vector<int64_t>& v) {
            w.key(key).begin_array();
            for (int64_t x : v) w.number(x);
            w.end_array();
          };
          ints("events", a.events);
          ints("errors", a.errors);
          ints("total_tokens", a.total_tokens);
          w.key("cost_usd").begin_array();
          for (double x : a.cost_usd) w.number(x);
          w.end_array().end_object();
        }
        w.end_array().end_object();
        return finish(json_response(200, std::move(out)));
      }
      default: return finish(problem(404, "not-found", "no such route", path));
    }
  });
}

void Api::login(Request req, Respond respond) {
  deps_.offload([this, req = std::move(req), respond = std::move(respond)] {
    const std::string_view path = "/v1/auth/login";
    if (!is_json_content_type(req.content_type)) {
      return respond(problem(415, "unsupported-media-type", "the body must be application/json", path));
    }
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(req.body).get(doc) != simdjson::SUCCESS) {
      return respond(problem(400, "malformed-json", "the body is not valid JSON", path));
    }
    std::string_view email_in, password;
    if (doc["email"].get(email_in) != simdjson::SUCCESS || doc["password"].get(password) != simdjson::SUCCESS ||
        email_in.empty() || email_in.size() > 320 || password.size() > 1024) {
      return respond(problem(422, "validation-failed", "email and password (strings) are required", path));
    }
    std::string email(email_in);
    for (char& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Micros now = deps_.clock.now();
    if (const int64_t wait = login_limiter_.retry_after(req.remote, email, now); wait > 0) {
      Response r = problem(429, "too-many-attempts", "too many failed log-ins; wait before trying again", path);
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return respond(std::move(r));
    }
    auto user = deps_.store.find_user(email);
    // Hash even for unknown users, so timing does not tell which e-mails exist.
    static const std::string kDummy = hash_password("agentlog-timing-equaliser");
    const bool ok = verify_password(password, user.is_ok() ? user->password_hash : kDummy) && user.is_ok();
    if (!ok) {
      login_limiter_.failed(req.remote, email, now);
      return respond(problem(401, "invalid-credentials", "wrong e-mail or password", path));
    }
    login_limiter_.succeeded(email);
    unsigned char bytes[64];
    random_bytes(bytes, sizeof bytes);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string token, csrf;
    for (size_t i = 0; i < sizeof bytes; ++i) {
      std::string& t = i < 32 ? token : csrf;
      t += kHex[bytes[i] >> 4];
      t += kHex[bytes[i] & 15];
    }
    model::LoginSession l{sha256_hex(token), user->id, csrf, now, now + kLoginTtl};
    if (auto s = deps_.store.create_login(l); !s.is_ok()) return respond(from_status(s, path));
    Principal p{0, 0, false, std::move(*user), std::move(csrf)};
    me(p, [respond, cookie = session_cookie(token, kLoginTtl / 1000000, req.tls)](Response r) {
      r.headers.emplace_back("Set-Cookie", cookie);
      respond(std::move(r));
    });
  });
}

void Api::logout(const Request& req, Respond respond) {
  const std::string token(cookie_value(req.cookie, kSessionCookie));
  deps_.offload([this, token, tls = req.tls, respond = std::move(respond)] {
    if (!token.empty()) {
      auth_.forget_login(token);
      if (auto s = deps_.store.delete_login(sha256_hex(token)); !s.is_ok()) {
        return respond(from_status(s, "/v1/auth/logout"));
      }
    }
    Response r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Set-Cookie", session_cookie("", 0, tls));
    respond(std::move(r));
  });
}

void Api::me(const Principal& principal, Respond respond) {
  deps_.offload([this, principal, respond = std::move(respond)] {
    auto projects = deps_.store.list_projects();
    if (!projects.is_ok()) return respond(from_status(projects.status(), "/v1/auth/me"));
    // A log-in acts on the default project; an API key on its own.
    const bool cookie = principal.user.has_value();
    const model::Project* project = nullptr;
    for (const auto& p : *projects) {
      if (cookie ? p.name == "default" : p.id == principal.project_id) project = &p;
    }
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("user");
    if (cookie) {
      w.begin_object().field("id", principal.user->id).field("email", principal.user->email);
      w.field("role", model::to_string(principal.user->role)).end_object();
      w.field("csrf_token", principal.csrf_token);
    } else {
      w.null().key("csrf_token").null();
    }
    w.key("project");
    if (project) w.begin_object().field("id", project->id).field("name", project->name).end_object();
    else w.null();
    w.end_object();
    Response r = json_response(200, std::move(out));
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  });
}

void Api::stream(const Request& req, std::string_view query, int64_t project, Respond respond) {
  const std::string_view path = "/v1/stream";
  if (!deps_.streams || draining()) return respond(draining_response(path));
  Params params(query);
  StreamFilter f;
  f.project_id = project;
  f.session_id = params.str("session_id");
  f.agent = params.str("agent");
  f.type = params.event_type("type");
  if (auto inc = params.str("include")) {
    f.events = inc->find("events") != std::string::npos;
    f.sessions = inc->find("sessions") != std::string::npos;
    if (!f.events && !f.sessions) params.add_error("include", "must name events, sessions or both");
  }
  std::optional<int64_t> after;
  // The header wins: a browser's own reconnect keeps the URL (and its old position) but
  // sends the newest id it saw in Last-Event-ID.
  const std::string last = !req.last_event_id.empty() ? req.last_event_id : params.str("last_event_id").value_or("");
  if (!last.empty()) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), v);
    if (ec != std::errc() || end != last.data() + last.size() || v < 0) {
      params.add_error("last_event_id", "must be a sequence number (the id of a received event)");
    } else {
      after = v;
    }
  }
  if (!params.ok()) return respond(invalid_params(params, path));
  deps_.offload([this, f = std::move(f), after, respond = std::move(respond)] {
    auto body = deps_.streams->open(f, after);
    if (!body.is_ok()) return respond(from_status(body.status(), "/v1/stream"));
    Response r;
    r.content_type = "text/event-stream; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("X-Accel-Buffering", "no");  // nginx: don't buffer the stream
    r.stream = std::move(*body);
    respond(std::move(r));
  });
}

Response Api::web_asset(const Request& req, std::string_view path) const {
  if (kWebAssetsCount == 0) {
    return problem(404, "not-found", "this binary was built without the dashboard (`make build` builds it in)", path);
  }
  auto find = [](std::string_view p) -> const WebAsset* {
    for (size_t i = 0; i < kWebAssetsCount; ++i) {
      if (kWebAssets[i].path == p) return &kWebAssets[i];
    }
    return nullptr;
  };
  const WebAsset* a = find(path == "/" ? "/index.html" : path);
  if (!a) {
    // The app's own routes (/sessions/abc) get the app; a missing file is a 404.
    if (path.starts_with("/assets/") || path.find('.') != std::string_view::npos) {
      return problem(404, "not-found", fmt::format("no such file {}", path), path);
    }
    a = find("/index.html");
    if (!a) return problem(404, "not-found", "the dashboard has no index.html", path);
  }
  Response r;
  r.content_type = std::string(a->content_type);
  r.headers.emplace_back("ETag", std::string(a->etag));
  r.headers.emplace_back("Vary", "Accept-Encoding");
  // Hashed file names never change content; index.html must be revalidated to pick up a new build.
  r.headers.emplace_back("Cache-Control", a->path.starts_with("/assets/") ? "public, max-age=31536000, immutable"
                                                                          : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (a->content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    r.headers.emplace_back("Referrer-Policy", "same-origin");
  }
  if (req.if_none_match.find(a->etag) != std::string::npos) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  if (!a->gzip.empty() && accepts_gzip(req.accept_encoding)) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = std::string(a->gzip);
  } else {
    r.body = std::string(a->raw);
  }
  return r;
}

void Api::ingest(const Request& req, int64_t project, Respond respond) {
  const std::string_view path = "/v1/ingest";
  if (draining()) return respond(draining_response(path));
  if (!is_json_content_type(req.content_type)) {
    return respond(problem(415, "unsupported-media-type", "the body must be application/json", path));
  }
  auto d = DecoderLease(*decoders_)->decode_ingest(req.body);
  if (d.failure) {
    const bool malformed = d.failure->kind == ingest::DecodeFailure::Kind::kMalformed;
    return respond(problem(malformed ? 400 : 422, malformed ? "malformed-json" : "validation-failed", d.failure->message,
                           path, d.failure->errors));
  }
  ingest::IngestBatch& b = *d.value;
  const size_t accepted = b.events.size() + b.sessions.size();
  const size_t rejected = b.items - accepted;
  auto render = [&b, accepted, rejected](JsonWriter& w) {
    w.field("accepted", static_cast<int64_t>(accepted)).field("rejected", static_cast<int64_t>(rejected));
    write_item_errors(w, b.errors);
    w.key("ids").begin_array();
    for (const auto& id : b.ids) {
      if (id) w.string(*id);
      else w.null();
    }
    w.end_array();
  };
  if (accepted == 0 && b.items > 0) {
    return respond(problem(422, "validation-failed", fmt::format("all {} items were rejected", b.items), path, render));
  }
  std::string body;
  {
    JsonWriter w(body);
    w.begin_object();
    render(w);
    w.end_object();
  }
  if (accepted == 0) return respond(json_response(200, std::move(body)));
  model::WriteBatch batch{project, std::move(b.sessions), std::move(b.events)};
  const auto admission = deps_.pipeline.submit(
      std::move(batch), req.body.size(),
      [respond, body = std::move(body)](const Status& s) mutable {
        if (!s.is_ok()) return respond(problem(500, "internal", "the batch could not be committed; retry", "/v1/ingest"));
        respond(json_response(200, std::move(body)));
      });
  if (admission == pipeline::Admission::kQueueFull) {
    Response r = problem(429, "queue-full", "the ingest queue is full; retry after the indicated delay", path);
    r.headers.emplace_back("Retry-After", "1");
    return respond(std::move(r));
  }
  if (admission == pipeline::Admission::kDraining) return respond(draining_response(path));
}

}  // namespace agentlog::api
