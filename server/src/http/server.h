// The socket layer: an HTTP/1.1 server (Boost.Beast, C++20 coroutines on N io threads)
// that turns bytes into api::Request values and api::Response values back into bytes.
// Enforces header/body limits, timeouts and gzip decoding; drains on SIGTERM/SIGINT.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/api.h"
#include "pipeline/pipeline.h"
#include "util/status.h"

namespace agentlog::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7654;
  int threads = 2;
  int blocking_threads = 4;  // query workers; matches the store's reader pool
  size_t max_body_bytes = 10u << 20;
  size_t max_decompressed_bytes = 50u << 20;
  size_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds request_timeout{30000};
  // One more request header that carries an API key (as X-API-Key does), for OTLP
  // exporters that can only send fixed headers; "" for none.
  std::string api_key_header;
  std::chrono::milliseconds stream_heartbeat{15000};  // keep-alive comment on idle event streams
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  // The executor for blocking work; the Api is built with it.
  api::Offload offload();
  // Binds the listening socket; returns "host:port" actually bound (port 0 resolves).
  Result<std::string> bind();
  // Serves until SIGTERM/SIGINT, then stops accepting, drains the pipeline, finishes
  // in-flight responses and returns. `stop_others` (optional) runs first on the drain
  // thread, while commits still complete: it stops other listeners (OTLP/gRPC) and waits
  // for their calls in flight.
  void run(api::Api& api, pipeline::Pipeline& pipeline, std::function<void()> stop_others = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentlog::http
