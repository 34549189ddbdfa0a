// Configuration: flags > AGENTLOG_* environment > agentlog.toml > defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentlog::cli {

struct Config {
  std::string listen = "127.0.0.1:7654";
  std::string data_dir = "./agentlog-data";
  std::string durability = "normal";  // normal | full
  int threads = 0;                     // 0: number of cores
  std::string log_level = "info";
  std::optional<std::string> api_key;
  int64_t max_body_bytes = 10 << 20;
  int64_t max_decompressed_bytes = 50 << 20;
  int64_t queue_max_events = 200000;
  int64_t queue_max_bytes = 64 << 20;
  int64_t request_timeout_ms = 30000;
  std::string database = "sqlite";  // or postgres://... (scale-out mode)
  std::string redis;                 // redis://... : the bus between replicas (needs PostgreSQL)
  std::string otlp_auth_header;  // an extra header holding an API key (e.g. x-honeycomb-team style)
  std::string otlp_grpc_listen;  // HOST:PORT of the OTLP/gRPC listener; "" (default): none
};

// What the command line set explicitly (highest precedence).
struct Overrides {
  std::optional<std::string> config_file, listen, data_dir, durability, log_level, database, redis,
      otlp_grpc_listen;
  std::optional<int> threads;
};

// Throws std::runtime_error with a message naming the offending source and key.
Config load_config(const Overrides& flags);

// "host:port" -> parts; throws on a malformed value, naming the setting `key`.
std::pair<std::string, uint16_t> split_listen(const std::string& listen, std::string_view key = "listen");

}  // namespace agentlog::cli
