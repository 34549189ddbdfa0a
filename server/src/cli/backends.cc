#include "cli/backends.h"

#include <fmt/format.h>

#include <regex>
#include <stdexcept>

#include "bus/redis_bus.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace agentlog::cli {
namespace {

constexpr int kReaders = 4;

template <typename T>
T check(Result<T> r, std::string_view what) {
  if (!r.is_ok()) throw std::runtime_error(fmt::format("{}: {}", what, r.status().message()));
  return std::move(r).value();
}

}  // namespace

bool is_postgres_url(const std::string& database) {
  return database.starts_with("postgres://") || database.starts_with("postgresql://");
}

std::string describe_database(const Config& c) {
  if (!is_postgres_url(c.database)) return fmt::format("sqlite ({})", c.data_dir);
  // postgres://user:secret@host/db -> postgres://user@host/db
  return std::regex_replace(c.database, std::regex("^(postgres(?:ql)?://[^:@/]*):[^@/]*@"), "$1@");
}

std::unique_ptr<store::Store> open_store(const Config& c, bool background) {
  if (is_postgres_url(c.database)) {
    store::postgres::PostgresOptions o;
    o.url = c.database;
    o.readers = background ? kReaders : 1;
    auto store = check(store::postgres::PostgresStore::open(o), "open database");
    if (const Status s = store->migrate(); !s.is_ok())
      throw std::runtime_error("migrate: " + s.message());
    return store;
  }
  if (c.database != "sqlite") {
    throw std::runtime_error(
        fmt::format("database must be \"sqlite\" or a postgres:// URL, got '{}'", c.database));
  }
  store::sqlite::SqliteOptions o;
  o.data_dir = c.data_dir;
  o.full_durability = c.durability == "full";
  o.readers = background ? kReaders : 1;
  o.background = background;
  auto store = check(store::sqlite::SqliteStore::open(o), "open database");
  if (const Status s = store->migrate(); !s.is_ok())
    throw std::runtime_error("migrate: " + s.message());
  return store;
}

std::unique_ptr<bus::Bus> open_bus(const Config& c, store::Store& store) {
  if (c.redis.empty()) return std::make_unique<bus::InProcessBus>();
  auto* pg = dynamic_cast<store::postgres::PostgresStore*>(&store);
  if (pg == nullptr) {
    throw std::runtime_error(
        "--redis needs --database postgres://...: replicas share their commits through PostgreSQL");
  }
  bus::RedisOptions o;
  o.url = c.redis;
  auto loader = [pg](int64_t after_seq, int limit) -> Result<std::vector<bus::LoadedEvent>> {
    auto tail = pg->tail(after_seq, limit);
    if (!tail.is_ok()) return tail.status();
    std::vector<bus::LoadedEvent> out;
    out.reserve(tail->size());
    for (auto& t : *tail) out.push_back(bus::LoadedEvent{t.project_id, std::move(t.event)});
    return out;
  };
  return check(bus::RedisBus::open(std::move(o), loader, [pg] { return pg->last_seq(); }), "redis");
}

}  // namespace agentlog::cli
