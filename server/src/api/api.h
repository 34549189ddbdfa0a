// Request routing, authentication and the handlers of the v1 API. Handlers are plain
// functions of a Request that eventually call Respond exactly once; blocking work runs
// through the injected Offload, ingestion through the pipeline.
#pragma once

#include <atomic>
#include <memory>

#include "api/auth.h"
#include "api/http_types.h"
#include "api/stream.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/metrics.h"
#include "util/time.h"

namespace agentlog::api {

class DecoderPool;
class OtlpHandler;

struct Deps {
  store::Store& store;
  pipeline::Pipeline& pipeline;
  Metrics& metrics;
  const Clock& clock;
  UuidV7Generator& ids;
  Offload offload;
  StreamHub* streams = nullptr;  // GET /v1/stream answers 503 without one
};

class Api {
 public:
  explicit Api(Deps deps);
  ~Api();

  // Thread-safe; may be called from any io thread.
  void handle(Request req, Respond respond);

  // While draining, /readyz answers 503 and writes are refused with 503.
  void set_draining();
  bool draining() const { return draining_.load(); }

  // OTLP trace ingestion, shared with the OTLP/gRPC listener (one decoder pool, one view
  // of the traces in flight, the same keys and draining state).
  OtlpHandler& otlp() { return *otlp_; }

 private:
  void ingest(const Request& req, int64_t project, Respond respond);
  void login(Request req, Respond respond);
  void logout(const Request& req, Respond respond);
  void me(const Principal& principal, Respond respond);
  void stream(const Request& req, std::string_view query, int64_t project, Respond respond);
  Response web_asset(const Request& req, std::string_view path) const;
  void route_v1(Request& req, std::string_view path, std::string_view query, int64_t project, Respond respond);

  Deps deps_;
  Authenticator auth_;
  LoginLimiter login_limiter_;
  std::unique_ptr<DecoderPool> decoders_;
  std::unique_ptr<OtlpHandler> otlp_;  // POST /v1/traces
  std::atomic<bool> draining_{false};
};

}  // namespace agentlog::api
