// Which store and bus the server runs on: embedded SQLite with the in-process bus by
// default; PostgreSQL (--database postgres://...) and, with several replicas, the Redis
// bus (--redis redis://...) in scale-out mode.
#pragma once

#include <memory>
#include <string>

#include "bus/bus.h"
#include "cli/config.h"
#include "store/store.h"

namespace agentlog::cli {

// True when `database` names PostgreSQL (postgres:// or postgresql://) rather than SQLite.
bool is_postgres_url(const std::string& database);

// Opens and migrates the configured store; `background` starts what a long-running server
// needs (the SQLite search indexer, more read connections). Throws std::runtime_error.
std::unique_ptr<store::Store> open_store(const Config& c, bool background);

// The bus for `store`: Redis when configured (requires PostgreSQL: replicas share commits
// through the database), the in-process bus otherwise. Throws std::runtime_error.
std::unique_ptr<bus::Bus> open_bus(const Config& c, store::Store& store);

// "sqlite (DIR)" or "postgres://user@host:port/db" without the password, for logs.
std::string describe_database(const Config& c);

}  // namespace agentlog::cli
