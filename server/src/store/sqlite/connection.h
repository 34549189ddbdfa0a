// RAII wrappers over the SQLite C API: a connection and prepared statements.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace agentlog::store::sqlite {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);  // check ok() afterwards
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

  // Binding, 1-based like SQLite.
  Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  Stmt& bind(int i, int v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  Stmt& bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); return *this; }
  // Text is bound SQLITE_STATIC (no copy): it must outlive the step, so temporaries
  // are refused at compile time.
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, std::string&&) = delete;
  Stmt& bind_null(int i) { sqlite3_bind_null(stmt_, i); return *this; }
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    return bind_null(i);
  }
  template <typename T>
  Stmt& bind(int i, std::optional<T>&&) = delete;

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string_view text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string_view();
  }
  std::optional<std::string> opt_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return std::string(text(col));
  }
  std::optional<int64_t> opt_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return int64(col);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  // How long a statement waits for a lock another connection holds (the CLI's writes,
  // checkpoints) before it fails with SQLITE_BUSY.
  static constexpr int kBusyTimeoutMs = 10000;

  Connection() = default;
  Connection(Connection&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  ~Connection() { sqlite3_close_v2(db_); }

  static Result<Connection> open(const std::string& path, bool read_only);

  sqlite3* get() const { return db_; }
  Status exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  Status error(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

// Commits on commit(), rolls back otherwise.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  ~Transaction() {
    if (open_) (void)c_.exec("ROLLBACK");
  }
  Status begin_immediate() {
    Status s = c_.exec("BEGIN IMMEDIATE");
    open_ = s.is_ok();
    return s;
  }
  Status commit() {
    open_ = false;
    return c_.exec("COMMIT");
  }

 private:
  Connection& c_;
  bool open_ = false;
};

}  // namespace agentlog::store::sqlite
