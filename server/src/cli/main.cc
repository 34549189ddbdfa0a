// agentlog: the single binary. Subcommands: serve, migrate, seed, keys, projects, users, backup, version.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "api/api.h"
#include "api/stream.h"
#include "bus/bus.h"
#include "cli/backends.h"
#include "cli/config.h"
#include "cli/seed.h"
#include "http/server.h"
#include "otlp_grpc/server.h"
#include "pipeline/pipeline.h"
#include "store/sqlite/backup.h"
#include "util/crypto.h"
#include "util/password.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/metrics.h"

namespace agentlog::cli {
namespace {

constexpr std::string_view kVersion = "0.1.0";
constexpr int kReaders = 4;
constexpr std::string_view kDemoEmail = "demo@agentlog.local", kDemoPassword = "agentlog-demo";

template <typename T>
T check(Result<T> r, std::string_view what) {
  if (!r.is_ok()) throw std::runtime_error(fmt::format("{}: {}", what, r.status().message()));
  return std::move(r).value();
}
void check(const Status& s, std::string_view what) {
  if (!s.is_ok()) throw std::runtime_error(fmt::format("{}: {}", what, s.message()));
}

int64_t project_id(store::Store& store, const std::string& name) {
  return check(store.find_project(name), "project").id;
}

std::string key_prefix(const std::string& secret) { return secret.substr(0, 10); }

// E-mails are compared case-insensitively (stored lower-case), as people type them both ways.
std::string normalize_email(std::string e) {
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

int serve(const Config& c) {
  const auto started = std::chrono::steady_clock::now();
  SystemClock clock;
  const auto [host, port] = split_listen(c.listen);
  auto store = open_store(c, true);
  if (c.api_key) {
    check(store->ensure_key(project_id(*store, "default"), "AGENTLOG_API_KEY", key_prefix(*c.api_key),
                            sha256_hex(*c.api_key), clock.now()),
          "register AGENTLOG_API_KEY");
  }
  Metrics metrics;
  UuidV7Generator ids(clock);
  pipeline::Limits limits;
  limits.max_queued_events = static_cast<size_t>(c.queue_max_events);
  limits.max_queued_bytes = static_cast<size_t>(c.queue_max_bytes);
  auto bus_owner = open_bus(c, *store);
  bus::Bus& bus = *bus_owner;
  pipeline::Pipeline pipeline(*store, &bus, limits, metrics, clock);
  pipeline.start();
  api::StreamHub streams(*store, bus);

  http::ServerOptions so;
  so.host = host;
  so.port = port;
  so.threads = c.threads > 0 ? c.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  so.blocking_threads = kReaders;
  so.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  so.max_decompressed_bytes = static_cast<size_t>(c.max_decompressed_bytes);
  so.request_timeout = std::chrono::milliseconds(c.request_timeout_ms);
  so.api_key_header = c.otlp_auth_header;
  http::Server server(so);
  const std::string bound = check(server.bind(), "listen");
  api::Api api(api::Deps{*store, pipeline, metrics, clock, ids, server.offload(), &streams});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  log_always(fmt::format("listening on http://{}", bound));
  // OTLP/gRPC, when configured: its own port, the same handler as POST /v1/traces.
  std::unique_ptr<otlp_grpc::Server> grpc;
  if (!c.otlp_grpc_listen.empty()) {
    const auto [grpc_host, grpc_port] = split_listen(c.otlp_grpc_listen, "otlp_grpc_listen");
    otlp_grpc::ServerOptions go;
    go.host = grpc_host;
    go.port = grpc_port;
    go.max_message_bytes = so.max_body_bytes;
    go.api_key_header = c.otlp_auth_header;
    go.shutdown_grace = so.request_timeout;
    grpc = std::make_unique<otlp_grpc::Server>(go, api.otlp());
    log_always(fmt::format("otlp grpc listening on {}", check(grpc->start(), "otlp grpc listen")));
  }
  spdlog::info("ready in {:.1f} ms (database {}{}, durability {}, {} io threads)", ms, describe_database(c),
               c.redis.empty() ? "" : ", redis bus", c.durability, so.threads);
  server.run(api, pipeline, [&grpc] {
    if (grpc) grpc->shutdown();
  });
  pipeline.drain();
  bus.stop();  // before `streams`, which its dispatcher calls, goes away
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"AgentLog: observability for AI agents", "agentlog"};
  app.require_subcommand(1);
  Overrides flags;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option_function<std::string>("--data", [&](const std::string& v) { flags.data_dir = v; },
                                          "data directory (default ./agentlog-data)");
    cmd->add_option_function<std::string>("--config", [&](const std::string& v) { flags.config_file = v; },
                                          "config file (default ./agentlog.toml if present)");
    cmd->add_option_function<std::string>("--database", [&](const std::string& v) { flags.database = v; },
                                          "sqlite (default, in --data) or postgres://user:pass@host:port/db");
  };

  auto* serve_cmd = app.add_subcommand("serve", "run the server");
  add_common(serve_cmd);
  serve_cmd->add_option_function<std::string>("--listen", [&](const std::string& v) { flags.listen = v; },
                                              "HOST:PORT (default 127.0.0.1:7654; port 0 picks a free port)");
  serve_cmd->add_option_function<std::string>("--durability", [&](const std::string& v) { flags.durability = v; },
                                              "normal (survives crashes) or full (survives power loss)");
  serve_cmd->add_option_function<std::string>("--redis", [&](const std::string& v) { flags.redis = v; },
                                              "redis://host:port: share live events between replicas");
  serve_cmd->add_option_function<std::string>(
      "--otlp-grpc-listen", [&](const std::string& v) { flags.otlp_grpc_listen = v; },
      "HOST:PORT for OTLP/gRPC traces (e.g. 127.0.0.1:4317; default: off)");
  serve_cmd->add_option_function<int>("--threads", [&](const int& v) { flags.threads = v; }, "io threads (default: cores)");
  serve_cmd->add_option_function<std::string>("--log-level", [&](const std::string& v) { flags.log_level = v; },
                                              "trace, debug, info, warn, error, off");

  auto* migrate_cmd = app.add_subcommand("migrate", "apply pending database migrations");
  add_common(migrate_cmd);

  auto* seed_cmd = app.add_subcommand("seed", "load data into the database");
  add_common(seed_cmd);
  bool demo = false;
  std::string seed_project = "default";
  seed_cmd->add_flag("--demo", demo, "load the demo data set (~50 sessions of a few agents)")->required();
  seed_cmd->add_option("--project", seed_project, "project name");

  auto* keys_cmd = app.add_subcommand("keys", "manage API keys");
  keys_cmd->require_subcommand(1);
  std::string key_project = "default", key_name = "cli";
  int64_t key_id = 0;
  auto* keys_create = keys_cmd->add_subcommand("create", "create a key; prints the secret once, as the last line");
  auto* keys_list = keys_cmd->add_subcommand("list", "list keys (prefixes only)");
  auto* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key by id");
  for (auto* cmd : {keys_create, keys_list, keys_revoke}) {
    add_common(cmd);
    cmd->add_option("--project", key_project, "project name (default: default)");
  }
  keys_create->add_option("--name", key_name, "a label for the key");
  keys_revoke->add_option("ID", key_id, "key id (from keys list)")->required();

  auto* projects_cmd = app.add_subcommand("projects", "manage projects");
  projects_cmd->require_subcommand(1);
  std::string project_name;
  auto* projects_create = projects_cmd->add_subcommand("create", "create a project");
  auto* projects_list = projects_cmd->add_subcommand("list", "list projects");
  projects_create->add_option("NAME", project_name, "project name")->required();
  add_common(projects_create);
  add_common(projects_list);

  auto* users_cmd = app.add_subcommand("users", "manage dashboard users");
  users_cmd->require_subcommand(1);
  std::string user_email, user_password, user_role = "member";
  auto* users_create = users_cmd->add_subcommand(
      "create", "create a user; without --password one is generated and printed as the last line");
  auto* users_list = users_cmd->add_subcommand("list", "list users");
  auto* users_delete = users_cmd->add_subcommand("delete", "delete a user and end their log-ins");
  for (auto* cmd : {users_create, users_list, users_delete}) add_common(cmd);
  users_create->add_option("--email", user_email, "e-mail address (the log-in name)")->required();
  users_create->add_option("--password", user_password, "password (at least 8 characters)");
  users_create->add_option("--role", user_role, "admin, member (default) or viewer")
      ->check(CLI::IsMember({"admin", "member", "viewer"}));
  users_delete->add_option("--email", user_email, "e-mail address")->required();

  auto* backup_cmd = app.add_subcommand(
      "backup", "copy the embedded database to a directory, online (PostgreSQL: use pg_dump)");
  add_common(backup_cmd);
  std::string backup_out;
  backup_cmd->add_option("--out", backup_out, "directory for agentlog.db, search.db and ids.db (never overwritten)")
      ->required();

  auto* version_cmd = app.add_subcommand("version", "print the version");

  CLI11_PARSE(app, argc, argv);

  try {
    if (version_cmd->parsed()) {
      fmt::print("agentlog {}\n", kVersion);
      return 0;
    }
    const Config config = load_config(flags);
    if (!setup_logging(config.log_level)) throw std::runtime_error("unknown log level '" + config.log_level + "'");
    if (serve_cmd->parsed()) return serve(config);
    if (backup_cmd->parsed()) {
      if (is_postgres_url(config.database)) {
        throw std::runtime_error("backup copies the embedded SQLite database; back up PostgreSQL with pg_dump "
                                 "(docs/deployment.md)");
      }
      check(store::sqlite::backup(config.data_dir, backup_out), "backup");
      fmt::print("backed up {} to {}\n", config.data_dir, backup_out);
      return 0;
    }

    SystemClock clock;
    auto store = open_store(config, false);
    if (migrate_cmd->parsed()) {
      fmt::print("database {} is up to date\n", describe_database(config));
    } else if (seed_cmd->parsed()) {
      auto summary = check(seed_demo(*store, project_id(*store, seed_project), clock.now()), "seed");
      fmt::print("seeded {} sessions and {} events into project '{}'\n", summary.sessions, summary.events, seed_project);
      // A user to explore the demo with (kept if it exists; `make run` prints these).
      auto demo_user = store->create_user(std::string(kDemoEmail), hash_password(kDemoPassword), model::Role::kAdmin,
                                          clock.now());
      if (!demo_user.is_ok() && demo_user.status().code() != Status::Code::kConflict) {
        check(demo_user.status(), "create demo user");
      }
      fmt::print("dashboard log-in: {} / {}\n", kDemoEmail, kDemoPassword);
    } else if (keys_create->parsed()) {
      const std::string secret = generate_api_secret();
      auto key = check(store->create_key(project_id(*store, key_project), key_name, key_prefix(secret),
                                         sha256_hex(secret), clock.now()),
                       "create key");
      fmt::print("created key {} ({}) for project '{}'; the secret is shown only once:\n{}\n", key.id, key.name,
                 key_project, secret);
    } else if (keys_list->parsed()) {
      fmt::print("{:<6} {:<12} {:<20} {:<28} {}\n", "ID", "PREFIX", "NAME", "CREATED", "STATUS");
      for (const auto& k : check(store->list_keys(project_id(*store, key_project)), "list keys")) {
        fmt::print("{:<6} {:<12} {:<20} {:<28} {}\n", k.id, k.prefix + "…", k.name, format_rfc3339(k.created_at),
                   k.revoked_at ? "revoked " + format_rfc3339(*k.revoked_at) : "active");
      }
    } else if (keys_revoke->parsed()) {
      check(store->revoke_key(project_id(*store, key_project), key_id, clock.now()), "revoke key");
      fmt::print("revoked key {}\n", key_id);
    } else if (projects_create->parsed()) {
      auto p = check(store->create_project(project_name, clock.now()), "create project");
      fmt::print("created project '{}' (id {})\n", p.name, p.id);
    } else if (users_create->parsed()) {
      const bool generated = user_password.empty();
      if (generated) user_password = generate_api_secret().substr(3, 20);
      if (user_password.size() < 8) throw std::runtime_error("the password must have at least 8 characters");
      auto u = check(store->create_user(normalize_email(user_email), hash_password(user_password),
                                        *model::parse_role(user_role), clock.now()),
                     "create user");
      fmt::print("created {} {} (id {})\n", model::to_string(u.role), u.email, u.id);
      if (generated) fmt::print("its password is shown only once:\n{}\n", user_password);
    } else if (users_list->parsed()) {
      fmt::print("{:<6} {:<40} {:<8} {}\n", "ID", "EMAIL", "ROLE", "CREATED");
      for (const auto& u : check(store->list_users(), "list users")) {
        fmt::print("{:<6} {:<40} {:<8} {}\n", u.id, u.email, model::to_string(u.role), format_rfc3339(u.created_at));
      }
    } else if (users_delete->parsed()) {
      check(store->delete_user(normalize_email(user_email)), "delete user");
      fmt::print("deleted {}\n", normalize_email(user_email));
    } else if (projects_list->parsed()) {
      fmt::print("{:<6} {:<32} {}\n", "ID", "NAME", "CREATED");
      for (const auto& p : check(store->list_projects(), "list projects")) {
        fmt::print("{:<6} {:<32} {}\n", p.id, p.name, format_rfc3339(p.created_at));
      }
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "agentlog: {}\n", e.what());
    return 1;
  }
}

}  // namespace agentlog::cli

int main(int argc, char** argv) { return agentlog::cli::main(argc, argv); }
