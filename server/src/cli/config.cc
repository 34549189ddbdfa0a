#include "cli/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <toml++/toml.h>

namespace agentlog::cli {
namespace {

int64_t parse_int(std::string_view source, std::string_view key, std::string_view text, int64_t min) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min) {
    throw std::runtime_error(fmt::format("{}: {} must be an integer >= {}, got '{}'", source, key, min, text));
  }
  return v;
}

// Applies one source of key/value pairs. `get` returns the raw text of a key, if set.
template <typename Get>
void apply(Config& c, std::string_view source, Get get) {
  if (auto v = get("listen")) c.listen = *v;
  if (auto v = get("data_dir")) c.data_dir = *v;
  if (auto v = get("durability")) c.durability = *v;
  if (auto v = get("threads")) c.threads = static_cast<int>(parse_int(source, "threads", *v, 0));
  if (auto v = get("log_level")) c.log_level = *v;
  if (auto v = get("api_key")) c.api_key = *v;
  if (auto v = get("max_body_bytes")) c.max_body_bytes = parse_int(source, "max_body_bytes", *v, 1);
  if (auto v = get("max_decompressed_bytes")) c.max_decompressed_bytes = parse_int(source, "max_decompressed_bytes", *v, 1);
  if (auto v = get("queue_max_events")) c.queue_max_events = parse_int(source, "queue_max_events", *v, 1);
  if (auto v = get("queue_max_bytes")) c.queue_max_bytes = parse_int(source, "queue_max_bytes", *v, 1);
  if (auto v = get("request_timeout_ms")) c.request_timeout_ms = parse_int(source, "request_timeout_ms", *v, 1);
  if (auto v = get("database")) c.database = *v;
  if (auto v = get("redis")) c.redis = *v;
  if (auto v = get("otlp_auth_header")) c.otlp_auth_header = *v;
  if (auto v = get("otlp_grpc_listen")) c.otlp_grpc_listen = *v;
}

// Environment names differ from toml keys in a few places, as documented.
const char* env_name(std::string_view key) {
  if (key == "data_dir") return "AGENTLOG_DATA";
  if (key == "log_level") return "AGENTLOG_LOG";
  if (key == "database") return "AGENTLOG_DATABASE_URL";
  if (key == "redis") return "AGENTLOG_REDIS_URL";
  return nullptr;
}

}  // namespace

Config load_config(const Overrides& flags) {
  Config c;
  std::optional<std::string> file = flags.config_file;
  if (!file) {
    if (const char* e = std::getenv("AGENTLOG_CONFIG"); e && *e) file = e;
  }
  bool required = file.has_value();
  if (!file && std::filesystem::exists("agentlog.toml")) file = "agentlog.toml";
  if (file) {
    if (!std::filesystem::exists(*file)) {
      if (required) throw std::runtime_error(fmt::format("config file {} does not exist", *file));
    } else {
      toml::table t;
      try {
        t = toml::parse_file(*file);
      } catch (const toml::parse_error& e) {
        throw std::runtime_error(fmt::format("{}: {}", *file, e.description()));
      }
      for (const auto& [k, v] : t) {
        static constexpr std::string_view kKnown[] = {"listen", "data_dir", "durability", "threads", "log_level",
                                                      "api_key", "max_body_bytes", "max_decompressed_bytes",
                                                      "queue_max_events", "queue_max_bytes", "request_timeout_ms",
                                                      "otlp_auth_header", "otlp_grpc_listen", "database", "redis"};
        if (std::find(std::begin(kKnown), std::end(kKnown), k.str()) == std::end(kKnown)) {
          throw std::runtime_error(fmt::format("{}: unknown key '{}'", *file, k.str()));
        }
      }
      apply(c, *file, [&](std::string_view key) -> std::optional<std::string> {
        const auto node = t[key];
        if (!node) return std::nullopt;
        if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
        if (auto i = node.value<int64_t>(); i && node.is_integer()) return std::to_string(*i);
        throw std::runtime_error(fmt::format("{}: {} has the wrong type", *file, key));
      });
    }
  }
  apply(c, "environment", [](std::string_view key) -> std::optional<std::string> {
    std::string name;
    if (const char* n = env_name(key)) {
      name = n;
    } else {
      name = "AGENTLOG_";
      for (char ch : key) name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    }
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  });
  if (flags.listen) c.listen = *flags.listen;
  if (flags.data_dir) c.data_dir = *flags.data_dir;
  if (flags.durability) c.durability = *flags.durability;
  if (flags.log_level) c.log_level = *flags.log_level;
  if (flags.threads) c.threads = *flags.threads;
  if (flags.database) c.database = *flags.database;
  if (flags.redis) c.redis = *flags.redis;
  if (flags.otlp_grpc_listen) c.otlp_grpc_listen = *flags.otlp_grpc_listen;
  if (c.durability != "normal" && c.durability != "full") {
    throw std::runtime_error(fmt::format("durability must be normal or full, got '{}'", c.durability));
  }
  (void)split_listen(c.listen);
  if (!c.otlp_grpc_listen.empty()) (void)split_listen(c.otlp_grpc_listen, "otlp_grpc_listen");
  return c;
}

std::pair<std::string, uint16_t> split_listen(const std::string& listen, std::string_view key) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::runtime_error(fmt::format("{} must be HOST:PORT, got '{}'", key, listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int64_t port = parse_int(key, "port", std::string_view(listen).substr(colon + 1), 0);
  if (port > 65535) throw std::runtime_error(fmt::format("{} port must be <= 65535, got {}", key, port));
  return {host, static_cast<uint16_t>(port)};
}

}  // namespace agentlog::cli
