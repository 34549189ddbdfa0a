#include "otlp_grpc/server.h"

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace agentlog::otlp_grpc {

namespace {

std::string metadata(const grpc::GenericCallbackServerContext& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  const auto it = md.find(grpc::string_ref(key.data(), key.size()));
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// One Export call: read the request message, export it, answer once the handler does
// (after the commit). Deletes itself when gRPC is done with it.
class ExportCall final : public grpc::ServerGenericBidiReactor {
 public:
  ExportCall(grpc::GenericCallbackServerContext* ctx, api::OtlpHandler& handler,
             const std::string& api_key_header)
      : ctx_(ctx), handler_(handler), api_key_header_(api_key_header) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // No message: the client sent none, or gRPC failed the read (a message over the size
      // limit, a broken call) and reports its own status.
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no ExportTraceServiceRequest"));
      return;
    }
    api::Request req;
    req.method = "POST";
    req.target = std::string(kExportMethod);
    req.content_type = "application/grpc";
    req.remote = ctx_->peer();
    // The key travels in metadata (lower-case names) as it does in HTTP headers.
    req.authorization = metadata(*ctx_, "authorization");
    req.api_key = metadata(*ctx_, "x-api-key");
    if (req.api_key.empty() && !api_key_header_.empty()) {
      req.api_key = metadata(*ctx_, api_key_header_);
    }
    std::vector<grpc::Slice> slices;
    if (!request_.Dump(&slices).ok()) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request message"));
      return;
    }
    req.body.reserve(request_.Length());
    for (const auto& s : slices) {
      req.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    request_.Clear();
    handler_.export_traces(
        req, ingest::otlp::Encoding::kProtobuf,
        [this](const api::ExportOutcome& outcome) { reply(api::grpc_reply(outcome)); });
  }

  void OnDone() override { delete this; }

 private:
  // May run on any thread (the pipeline's writer after a commit): gRPC's reactions allow it.
  void reply(const api::GrpcReply& r) {
    if (r.code == 0) {
      grpc::Slice slice(r.response);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    if (!r.retry_info.empty()) {
      // What the OpenTelemetry SDKs read to pace their retries.
      ctx_->AddTrailingMetadata("google.rpc.retryinfo-bin", r.retry_info);
    }
    // status_details travels as grpc-status-details-bin.
    Finish(grpc::Status(static_cast<grpc::StatusCode>(r.code), r.message, r.status_details));
  }

  grpc::GenericCallbackServerContext* ctx_;
  api::OtlpHandler& handler_;
  const std::string& api_key_header_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class TraceService final : public grpc::CallbackGenericService {
 public:
  TraceService(api::OtlpHandler& handler, std::string api_key_header)
      : handler_(handler), api_key_header_(std::move(api_key_header)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() != kExportMethod) {
      return grpc::CallbackGenericService::CreateReactor(ctx);  // UNIMPLEMENTED
    }
    return new ExportCall(ctx, handler_, api_key_header_);
  }

 private:
  api::OtlpHandler& handler_;
  const std::string api_key_header_;
};

// gRPC's own log (bind failures, transport errors) joins the server's, as JSON lines, instead
// of going to stderr in its own format.
void log_from_grpc(gpr_log_func_args* args) {
  const std::string_view message = args->message ? args->message : "";
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    spdlog::error("grpc: {}", message);
  } else {
    spdlog::debug("grpc: {}", message);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string host_port(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, api::OtlpHandler& handler)
      : options(std::move(o)), service(handler, lower(options.api_key_header)) {}

  ServerOptions options;
  TraceService service;
  std::mutex mu;
  std::unique_ptr<grpc::Server> server;  // set while serving
};

Server::Server(ServerOptions options, api::OtlpHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() { shutdown(); }

Result<std::string> Server::start() {
  static std::once_flag log_once;
  std::call_once(log_once, [] { gpr_set_log_function(log_from_grpc); });
  const ServerOptions& o = impl_->options;
  const std::string address = host_port(o.host, o.port);
  int bound_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterCallbackGenericService(&impl_->service);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(o.max_message_bytes, INT_MAX)));
  // gRPC sets SO_REUSEPORT by default, which would let a second server share a port that
  // is already taken instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  auto server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    return Status::unavailable("cannot listen on " + address + " (OTLP/gRPC)");
  }
  std::lock_guard lock(impl_->mu);
  impl_->server = std::move(server);
  return host_port(o.host, bound_port);
}

void Server::shutdown() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + impl_->options.shutdown_grace);
  impl_->server->Wait();
  impl_->server.reset();
  spdlog::info("otlp grpc stopped");
}

}  // namespace agentlog::otlp_grpc
