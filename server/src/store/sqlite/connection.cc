#include "store/sqlite/connection.h"

#include <fmt/format.h>

namespace agentlog::store::sqlite {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                         nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Result<Connection> Connection::open(const std::string& path, bool read_only) {
  Connection c;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &c.db_, flags, nullptr) != SQLITE_OK) {
    return Status::unavailable(fmt::format("cannot open {}: {}", path, c.db_ ? sqlite3_errmsg(c.db_) : "out of memory"));
  }
  sqlite3_extended_result_codes(c.db_, 1);
  // Another process (the CLI) may hold the write lock briefly.
  sqlite3_busy_timeout(c.db_, Connection::kBusyTimeoutMs);
  return c;
}

Status Connection::exec(std::string_view sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::internal(fmt::format("sqlite: {}", err ? err : sqlite3_errmsg(db_)));
    sqlite3_free(err);
    return s;
  }
  return Status::ok();
}

Result<Stmt> Connection::prepare(std::string_view sql) {
  Stmt s(db_, sql);
  if (!s.ok()) return error(fmt::format("prepare `{}`", sql.substr(0, 60)));
  return s;
}

Status Connection::error(std::string_view what) const {
  return Status::internal(fmt::format("sqlite: {}: {}", what, sqlite3_errmsg(db_)));
}

}  // namespace agentlog::store::sqlite
