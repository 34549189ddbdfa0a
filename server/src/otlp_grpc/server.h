// OTLP/gRPC trace ingestion on its own port (`serve --otlp-grpc-listen`): the socket layer
// for opentelemetry.proto.collector.trace.v1.TraceService/Export. A generic gRPC service
// takes the request as raw bytes (no libprotobuf in the server) and hands it to
// api::OtlpHandler::export_traces, the path POST /v1/traces takes: one decoder, one key
// check, one pipeline, the answer only after the commit. grpc++ stays behind this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/otlp.h"
#include "util/status.h"

namespace agentlog::otlp_grpc {

inline constexpr std::string_view kExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4317;  // 0 picks a free port
  // The largest request message; larger ones fail with RESOURCE_EXHAUSTED (gRPC checks it
  // before and after decompression).
  size_t max_message_bytes = 10u << 20;
  // One more metadata key that carries an API key (as x-api-key does); "" for none.
  std::string api_key_header;
  // How long shutdown() waits for calls in flight before cancelling them.
  std::chrono::milliseconds shutdown_grace{30000};
};

class Server {
 public:
  // `handler` must outlive the server.
  Server(ServerOptions options, api::OtlpHandler& handler);
  ~Server();  // shuts down if still serving
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves on gRPC's own threads; returns the "host:port" bound (port 0 resolves).
  Result<std::string> start();
  // Stops accepting calls and waits for those in flight (they complete as their commits
  // do) up to shutdown_grace, then cancels the rest. Blocks; thread-safe; idempotent.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentlog::otlp_grpc
