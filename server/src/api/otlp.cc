#include "api/otlp.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <vector>

#include "ingest/otlp/json_reader.h"
#include "ingest/otlp/trace_decoder.h"

namespace agentlog::api {

namespace otlp = ingest::otlp;
using otlp::Encoding;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_scheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  }
  return true;
}

constexpr std::string_view kDrainingMessage = "the server is shutting down; retry later";

ExportOutcome accepted(std::string response) {
  ExportOutcome o;
  o.response = std::move(response);
  return o;
}

ExportOutcome refused(ExportOutcome::Kind kind, std::string_view message, int64_t retry_after = 0) {
  ExportOutcome o;
  o.kind = kind;
  o.message = std::string(message);
  o.retry_after_seconds = retry_after;
  return o;
}

Response otlp_response(int status, Encoding encoding, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::string(otlp::content_type_of(encoding));
  r.body = std::move(body);
  return r;
}

// An error in the OTLP/HTTP form: google.rpc.Status in the request's encoding.
Response otlp_error(int status, Encoding encoding, int32_t code, std::string_view message,
                    std::string_view retry_after = {}) {
  Response r = otlp_response(status, encoding, otlp::status_body(encoding, code, message));
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", std::string(retry_after));
  return r;
}

}  // namespace

std::string_view otlp_secret(const Request& req, std::string& scratch) {
  if (!req.api_key.empty()) return trim(req.api_key);
  const std::string_view auth = trim(req.authorization);
  if (has_scheme(auth, "bearer")) return trim(auth.substr(7));
  if (has_scheme(auth, "basic")) {
    auto decoded = otlp::decode_base64(trim(auth.substr(6)));
    if (!decoded) return {};
    scratch = std::move(*decoded);
    const std::string_view creds = scratch;
    const size_t colon = creds.find(':');
    if (colon == std::string_view::npos) return creds;
    const std::string_view password = creds.substr(colon + 1);
    return password.empty() ? creds.substr(0, colon) : password;
  }
  return {};
}

// Decoders hold parsers and scratch space (not thread-safe): a small pool shared by the
// io threads.
class OtlpHandler::DecoderPool {
 public:
  explicit DecoderPool(otlp::TraceSessions& sessions) : sessions_(sessions) {}
  std::unique_ptr<otlp::TraceDecoder> take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<otlp::TraceDecoder>(&sessions_);
    auto d = std::move(free_.back());
    free_.pop_back();
    return d;
  }
  void give(std::unique_ptr<otlp::TraceDecoder> d) {
    std::lock_guard lock(mu_);
    if (free_.size() < 16) free_.push_back(std::move(d));
  }

 private:
  otlp::TraceSessions& sessions_;
  std::mutex mu_;
  std::vector<std::unique_ptr<otlp::TraceDecoder>> free_;
};

OtlpHandler::OtlpHandler(OtlpDeps deps)
    : deps_(std::move(deps)), decoders_(std::make_unique<DecoderPool>(sessions_)) {}
OtlpHandler::~OtlpHandler() = default;

void OtlpHandler::handle(const Request& req, Respond respond) {
  const auto encoding = otlp::encoding_of(req.content_type);
  if (!encoding) {
    // The request's encoding is unknown, so the error is in JSON.
    return respond(otlp_error(415, Encoding::kJson, otlp::kGrpcInvalidArgument,
                              "Content-Type must be application/x-protobuf or application/json"));
  }
  const Encoding enc = *encoding;
  export_traces(req, enc, [respond = std::move(respond), enc](ExportOutcome o) {
    using Kind = ExportOutcome::Kind;
    const std::string retry_after = std::to_string(o.retry_after_seconds);
    switch (o.kind) {
      case Kind::kAccepted:
        return respond(otlp_response(200, enc, std::move(o.response)));
      case Kind::kUndecodable:
        return respond(otlp_error(400, enc, otlp::kGrpcInvalidArgument, o.message));
      case Kind::kUnauthenticated: {
        Response r = otlp_error(401, enc, otlp::kGrpcUnauthenticated, o.message);
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return respond(std::move(r));
      }
      // 429 and 503 are the retryable OTLP/HTTP answers (with 502 and 504).
      case Kind::kQueueFull:
        return respond(otlp_error(429, enc, otlp::kGrpcResourceExhausted, o.message, retry_after));
      case Kind::kDraining:
      case Kind::kCommitFailed:
        return respond(otlp_error(503, enc, otlp::kGrpcUnavailable, o.message, retry_after));
    }
  });
}

GrpcReply grpc_reply(const ExportOutcome& outcome) {
  using Kind = ExportOutcome::Kind;
  GrpcReply r;
  r.message = outcome.message;
  switch (outcome.kind) {
    case Kind::kAccepted:
      r.response = outcome.response;
      return r;
    case Kind::kUndecodable:
      r.code = otlp::kGrpcInvalidArgument;
      return r;
    case Kind::kUnauthenticated:
      r.code = otlp::kGrpcUnauthenticated;
      return r;
    case Kind::kQueueFull:
    case Kind::kDraining:
    case Kind::kCommitFailed:
      // RESOURCE_EXHAUSTED would be retried only with a RetryInfo (OTLP spec); UNAVAILABLE
      // always is, so exporters that ignore the hint still retry.
      r.code = otlp::kGrpcUnavailable;
      r.retry_info = otlp::retry_info(outcome.retry_after_seconds);
      r.status_details =
          otlp::status_with_retry_info(r.code, r.message, outcome.retry_after_seconds);
      return r;
  }
  return r;
}

void OtlpHandler::export_traces(const Request& req, Encoding enc, ExportDone done) {
  using Kind = ExportOutcome::Kind;
  auto refuse = [&done](Kind kind, std::string_view message, int64_t retry_after = 0) {
    done(refused(kind, message, retry_after));
  };
  if (deps_.draining()) {
    return refuse(Kind::kDraining, kDrainingMessage, 5);
  }

  std::string scratch;
  const auto principal = deps_.auth.authenticate(otlp_secret(req, scratch));
  if (!principal) {
    return refuse(Kind::kUnauthenticated,
                  "a valid API key is required (Authorization: Bearer <key>, X-API-Key, or Basic "
                  "with the key as password)");
  }
  if (principal->touch) {
    deps_.offload(
        [this, key = principal->key_id] { (void)deps_.store.touch_key(key, deps_.clock.now()); });
  }

  otlp::MapResult result;
  std::string error;
  {
    auto decoder = decoders_->take();
    const bool ok = decoder->decode(req.body, enc, principal->project_id, result, error);
    decoders_->give(std::move(decoder));
    if (!ok) return refuse(Kind::kUndecodable, std::move(error));
  }

  std::string body = otlp::export_response(enc, static_cast<int64_t>(result.rejections.size()),
                                           result.error_message);
  if (result.batch.events.empty() && result.batch.sessions.empty()) {
    return done(accepted(std::move(body)));
  }
  const size_t spans = result.batch.events.size();
  const int64_t project = principal->project_id;
  const auto admission = deps_.pipeline.submit(
      std::move(result.batch), req.body.size(),
      [this, done, spans, project, moves = std::move(result.moves), fallbacks = std::move(result.fallbacks),
       body = std::move(body)](const Status& s) mutable {
        if (!s.is_ok()) {
          // A failed commit (disk full, database busy) is transient from the exporter's
          // point of view: retryable, unlike an internal error.
          spdlog::warn("OTLP: commit of {} spans failed: {}", spans, s.message());
          return done(refused(Kind::kCommitFailed, "the spans could not be committed; retry", 1));
        }
        // A request naming the session of a trace this one filed under its trace id, mapped
        // after this one but committed and moved before it: its move did not see these spans.
        for (auto& [trace, hex] : fallbacks) {
          if (auto known = sessions_.find(project, trace); known && !known->fallback) {
            moves.emplace_back(std::move(hex), std::move(known->session));
          }
        }
        if (moves.empty()) return done(accepted(std::move(body)));
        // Acknowledge once the trace's earlier spans joined the session too, so a read
        // after the ack sees the trace whole.
        deps_.offload(
            [this, project, moves = std::move(moves), done, body = std::move(body)]() mutable {
              move_traces(project, std::move(moves), [done, body = std::move(body)]() mutable {
                done(accepted(std::move(body)));
              });
            });
      });
  if (admission == pipeline::Admission::kQueueFull) {
    return refuse(Kind::kQueueFull, "the ingest queue is full; retry after the indicated delay", 1);
  }
  if (admission == pipeline::Admission::kDraining) {
    return refuse(Kind::kDraining, kDrainingMessage, 5);
  }
}

void OtlpHandler::move_traces(int64_t project,
                              std::vector<std::pair<std::string, std::string>> moves,
                              std::function<void()> done, int round) {
  model::WriteBatch batch;
  batch.project_id = project;
  size_t bytes = 0;
  for (const auto& [trace, session] : moves) {
    std::optional<model::EventCursor> after;
    for (int page_no = 0; page_no < 100; ++page_no) {  // at most 100k events per trace
      auto page = deps_.store.session_events(project, trace, 1000, after);
      if (!page.is_ok()) {
        spdlog::warn("OTLP: cannot read trace {} to move it into session {}: {}", trace, session,
                     page.status().message());
        break;
      }
      for (auto& stored : page->items) {
        if (stored.event.trace_id != trace) continue;  // not a span of this trace
        model::Event e = std::move(stored.event);
        e.session_id = session;
        e.client_id = true;  // replaces the stored version
        bytes += e.attributes_json.size() + e.input_json.value_or("").size() +
                 e.output_json.value_or("").size() + 256;
        batch.events.push_back(std::move(e));
      }
      if (!page->next) break;
      after = page->next;
    }
  }
  if (batch.events.empty()) return done();
  const size_t n = batch.events.size();
  auto drop_empty = [this, project, moves, done, round](const Status& s) mutable {
    if (!s.is_ok()) {
      spdlog::warn("OTLP: moving spans into their session failed: {}", s.message());
      return done();
    }
    deps_.offload(
        [this, project, moves = std::move(moves), done = std::move(done), round]() mutable {
          // Only an emptied trace-id session goes. One that gained spans meanwhile (a request
          // decoded before the session was known, committed after the move) is moved again.
          std::vector<std::pair<std::string, std::string>> again;
          for (auto& [trace, session] : moves) {
            auto deleted = deps_.store.delete_session_if_empty(project, trace);
            if (!deleted.is_ok() || *deleted) continue;
            if (deps_.store.get_session(project, trace).is_ok()) {
              again.emplace_back(std::move(trace), std::move(session));
            }
          }
          if (again.empty() || round >= 3) return done();
          move_traces(project, std::move(again), std::move(done), round + 1);
        });
  };
  const auto admission = deps_.pipeline.submit(std::move(batch), bytes, std::move(drop_empty));
  if (admission != pipeline::Admission::kQueued) {
    spdlog::warn(
        "OTLP: could not queue the move of {} spans into their session (queue full or draining)",
        n);
    done();
  }
}

}  // namespace agentlog::api
