// RAII wrappers over libpq: a connection, a result, text-format parameters and COPY-in
// buffers. Every value travels in PostgreSQL's text format; errors keep their SQLSTATE so
// callers can tell a retryable conflict (deadlock, lost connection) from a real failure.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace agentlog::store::postgres {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}

  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  int64_t int64(int row, int col) const;
  double real(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  std::optional<std::string> opt_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(text(row, col));
  }
  std::optional<int64_t> opt_int64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return int64(row, col);
  }
  // Rows changed by an INSERT/UPDATE/DELETE (PQcmdTuples).
  int64_t affected() const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

// Positional parameters ($1, $2, ...) in text format; nullopt binds NULL.
class Params {
 public:
  Params& add(std::string_view v);
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(int64_t v) {
    values_.emplace_back(std::to_string(v));
    return *this;
  }
  Params& add(int v) { return add(static_cast<int64_t>(v)); }
  Params& add(bool v) {
    values_.emplace_back(v ? "t" : "f");
    return *this;
  }
  Params& add(double v);
  Params& add_null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  template <typename T>
  Params& add(const std::optional<T>& v) {
    if (v) return add(*v);
    return add_null();
  }

  // Adds `v` and returns its placeholder ("$3"), for SQL written as its values are bound.
  template <typename T>
  std::string arg(const T& v) {
    add(v);
    return "$" + std::to_string(size());
  }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for PQexecParams, valid until the next add().
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// Rows for COPY ... FROM STDIN in text format: fields separated by tabs, rows by newlines,
// NULL as \N, and backslash, tab, newline and carriage return escaped.
class CopyBuffer {
 public:
  CopyBuffer& field(std::string_view v);
  CopyBuffer& field(int64_t v);
  CopyBuffer& field(int v) { return field(static_cast<int64_t>(v)); }
  CopyBuffer& field(bool v) { return raw(v ? "t" : "f"); }
  CopyBuffer& field(double v);
  CopyBuffer& null() { return raw("\\N"); }
  template <typename T>
  CopyBuffer& field(const std::optional<T>& v) {
    if (v) return field(*v);
    return null();
  }
  CopyBuffer& end_row();
  // A bigint field whose value is not known yet: returns where it is, for fill_int64().
  size_t int64_placeholder();
  // Writes `v` (>= 0) into a placeholder.
  void fill_int64(size_t at, int64_t v);

  const std::string& data() const { return data_; }
  void clear() {
    data_.clear();
    first_ = true;
  }

 private:
  CopyBuffer& raw(std::string_view v);
  std::string data_;
  bool first_ = true;
};

class PgConn {
 public:
  PgConn() = default;
  PgConn(PgConn&& o) noexcept : conn_(o.conn_), url_(std::move(o.url_)) { o.conn_ = nullptr; }
  PgConn& operator=(PgConn&&) = delete;
  PgConn(const PgConn&) = delete;
  ~PgConn() { PQfinish(conn_); }

  // `url` is a libpq connection string or URI (postgres://user:pass@host:port/db?...).
  static Result<PgConn> connect(const std::string& url);

  // Statements without parameters; `sql` may hold several, separated by semicolons.
  Result<PgResult> exec(const std::string& sql);
  Result<PgResult> exec(const std::string& sql, const Params& params);
  // Starts a statement without waiting for it, so the caller can work meanwhile; receive()
  // must collect its result before anything else runs on this connection.
  Status send(const std::string& sql);
  Result<PgResult> receive();
  // Runs `copy_sql` (COPY ... FROM STDIN) with `data` as its input.
  Status copy_in(const std::string& copy_sql, std::string_view data);

  // The SQLSTATE of the last failure ("" if none or if the connection was lost).
  const std::string& last_sqlstate() const { return sqlstate_; }
  // True when the last failure may succeed if the whole transaction is tried again:
  // deadlock, serialization failure, lock timeout, or a connection that was lost.
  bool last_error_retryable() const;
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
  // Reconnects a broken connection.
  Status reset();

 private:
  explicit PgConn(PGconn* c, std::string url) : conn_(c), url_(std::move(url)) {}
  Result<PgResult> finish(PGresult* r, std::string_view sql);

  PGconn* conn_ = nullptr;
  std::string url_;
  std::string sqlstate_;
  std::string sent_;  // the statement send() started, for error messages
};

// Rolls back unless commit() succeeded.
class PgTransaction {
 public:
  explicit PgTransaction(PgConn& c) : c_(c) {}
  ~PgTransaction() {
    if (open_ && !c_.broken()) (void)c_.exec("ROLLBACK");
  }
  Status begin() {
    auto r = c_.exec("BEGIN");
    open_ = r.is_ok();
    return r.status();
  }
  Status commit() {
    open_ = false;
    return c_.exec("COMMIT").status();
  }

 private:
  PgConn& c_;
  bool open_ = false;
};

// Canonical JSON made acceptable to jsonb without changing its meaning where possible:
// a \u0000 escape (jsonb refuses it) becomes \ufffd, and a number whose exponent is
// beyond jsonb's numeric range becomes a string of its digits.
std::string jsonb_safe(std::string_view json);
// The same without a copy when nothing needs changing: `json` itself, or `scratch`.
std::string_view jsonb_safe(std::string_view json, std::string& scratch);
// jsonb's text output (`{"a": 1, "b": [1, 2]}`) as compact JSON (`{"a":1,"b":[1,2]}`).
std::string compact_json(std::string_view json);
// Text for a PostgreSQL text column: NUL characters, which PostgreSQL cannot store,
// become U+FFFD.
std::string_view pg_text(std::string_view s, std::string& scratch);

// Full-text words exactly as the SQLite backend's index sees them: SQLite's FTS5 `unicode61`
// tokenizer with `remove_diacritics 2` splits text at anything that is not a letter or a
// digit, folds case and removes diacritics. Both backends therefore match the same words,
// and the words are found here, on the server, instead of by to_tsvector() in the
// database's single write backend (a third of its time per event).
// Not thread-safe: the tokenizer reuses a buffer; one instance per thread.
class SearchWords {
 public:
  static Result<std::unique_ptr<SearchWords>> create();
  ~SearchWords();
  SearchWords(const SearchWords&) = delete;
  SearchWords& operator=(const SearchWords&) = delete;

  // Appends the distinct words of `text` to `out` as a tsvector literal (no positions:
  // search needs none), escaped for the tsvector parser. Words longer than a tsvector
  // lexeme may be are left out, as to_tsvector() leaves them out.
  void tsvector(std::string_view text, std::string& out);
  // A user's query as a tsquery literal: every word must match, the last one as a prefix
  // (`'a' & 'b':*`). "" when nothing can match: no searchable word, or a word longer
  // than any indexed one.
  std::string tsquery(std::string_view q);
  // The words of a user's query, in order (what tsquery() ANDs).
  std::vector<std::string> query_words(std::string_view q);

 private:
  struct Impl;
  explicit SearchWords(std::unique_ptr<Impl> impl);
  void tokenize(std::string_view text, bool query);
  std::unique_ptr<Impl> impl_;
};

// `word` quoted for a tsvector or tsquery literal ('it''s', backslashes doubled).
void append_lexeme(std::string& out, std::string_view word);

}  // namespace agentlog::store::postgres
