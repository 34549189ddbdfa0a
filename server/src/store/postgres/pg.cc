#include "store/postgres/pg.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iterator>

#include "store/fts_tokenizer.h"

namespace agentlog::store::postgres {

int64_t PgResult::int64(int row, int col) const {
  const std::string_view t = text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

double PgResult::real(int row, int col) const {
  const std::string_view t = text(row, col);
  double v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

int64_t PgResult::affected() const {
  if (!r_) return 0;
  const char* t = PQcmdTuples(r_.get());
  return t && *t ? std::strtoll(t, nullptr, 10) : 0;
}

Params& Params::add(std::string_view v) {
  std::string scratch;
  values_.emplace_back(std::string(pg_text(v, scratch)));
  return *this;
}

Params& Params::add(double v) {
  // The shortest text that reads back as the same double: costs and cursors stay exact.
  values_.emplace_back(fmt::format("{}", v));
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

CopyBuffer& CopyBuffer::raw(std::string_view v) {
  if (!first_) data_.push_back('\t');
  first_ = false;
  data_.append(v);
  return *this;
}

CopyBuffer& CopyBuffer::field(std::string_view v) {
  if (!first_) data_.push_back('\t');
  first_ = false;
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* esc = nullptr;
    switch (c) {
      case '\\':
        esc = "\\\\";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      case '\0':
        esc = "\xEF\xBF\xBD";
        break;  // U+FFFD: PostgreSQL text cannot hold NUL
      default:
        continue;
    }
    data_.append(v.data() + start, i - start);
    data_.append(esc);
    start = i + 1;
  }
  data_.append(v.data() + start, v.size() - start);
  return *this;
}

CopyBuffer& CopyBuffer::field(int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return raw(std::string_view(buf, static_cast<size_t>(end - buf)));
}

CopyBuffer& CopyBuffer::field(double v) { return raw(fmt::format("{}", v)); }

namespace {
// int8 input accepts leading zeros: a placeholder is a fixed-width, zero-padded number.
constexpr size_t kInt64Width = 19;
}  // namespace

size_t CopyBuffer::int64_placeholder() {
  raw(std::string_view("0000000000000000000", kInt64Width));
  return data_.size() - kInt64Width;
}

void CopyBuffer::fill_int64(size_t at, int64_t v) {
  for (size_t i = kInt64Width; i-- > 0; v /= 10) data_[at + i] = static_cast<char>('0' + v % 10);
}

CopyBuffer& CopyBuffer::end_row() {
  data_.push_back('\n');
  first_ = true;
  return *this;
}

Result<PgConn> PgConn::connect(const std::string& url) {
  const char* keys[] = {"dbname", "client_encoding", "application_name", "connect_timeout",
                        nullptr};
  const char* values[] = {url.c_str(), "UTF8", "agentlog", "10", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c == nullptr) return Status::unavailable("postgres: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::unavailable(fmt::format("cannot connect to PostgreSQL: {}", msg));
  }
  // Quiet NOTICEs (IF NOT EXISTS and friends) instead of printing them on stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return PgConn(c, url);
}

Result<PgResult> PgConn::finish(PGresult* raw, std::string_view sql) {
  PgResult r(raw);
  const ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN) {
    sqlstate_.clear();
    return r;
  }
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string msg = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.empty()) msg = PQerrorMessage(conn_);
  const std::string_view head = sql.substr(0, std::min<size_t>(sql.size(), 60));
  if (sqlstate_ == "23505") return Status::conflict(msg);
  if (sqlstate_.starts_with("08") || broken())
    return Status::unavailable(fmt::format("PostgreSQL: {}", msg));
  if (last_error_retryable()) return Status::unavailable(fmt::format("PostgreSQL: {}", msg));
  return Status::internal(fmt::format("PostgreSQL [{}] {} (in: {}...)", sqlstate_, msg, head));
}

Result<PgResult> PgConn::exec(const std::string& sql) {
  if (!conn_) return Status::unavailable("PostgreSQL: not connected");
  return finish(PQexec(conn_, sql.c_str()), sql);
}

Result<PgResult> PgConn::exec(const std::string& sql, const Params& params) {
  if (!conn_) return Status::unavailable("PostgreSQL: not connected");
  const auto ptrs = params.pointers();
  return finish(
      PQexecParams(conn_, sql.c_str(), params.size(), nullptr, ptrs.data(), nullptr, nullptr, 0),
      sql);
}

Status PgConn::send(const std::string& sql) {
  if (!conn_) return Status::unavailable("PostgreSQL: not connected");
  sent_ = sql;
  if (PQsendQuery(conn_, sql.c_str()) != 1) {
    sqlstate_.clear();
    return Status::unavailable(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_)));
  }
  return Status::ok();
}

Result<PgResult> PgConn::receive() {
  // A single statement answers with one result; any failure wins over it.
  Result<PgResult> out = Status::unavailable("PostgreSQL: no result");
  bool failed = false;
  while (PGresult* r = PQgetResult(conn_)) {
    auto done = finish(r, sent_);
    if (failed) continue;
    failed = !done.is_ok();
    out = std::move(done);
  }
  return out;
}

Status PgConn::copy_in(const std::string& copy_sql, std::string_view data) {
  auto start = exec(copy_sql);
  if (!start.is_ok()) return start.status();
  // Large inputs go in slices so libpq never has to buffer a whole 50 MiB copy at once.
  constexpr size_t kSlice = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kSlice) {
    const size_t n = std::min(kSlice, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) {
      return Status::unavailable(fmt::format("PostgreSQL COPY: {}", PQerrorMessage(conn_)));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    return Status::unavailable(fmt::format("PostgreSQL COPY end: {}", PQerrorMessage(conn_)));
  }
  Status s;
  while (PGresult* r = PQgetResult(conn_)) {
    auto done = finish(r, copy_sql);
    if (!done.is_ok() && s.is_ok()) s = done.status();
  }
  return s;
}

bool PgConn::last_error_retryable() const {
  return sqlstate_ == "40P01" || sqlstate_ == "40001" || sqlstate_ == "55P03" ||
         sqlstate_.starts_with("08") || (sqlstate_.empty() && broken());
}

Status PgConn::reset() {
  if (!conn_) {
    auto c = connect(url_);
    if (!c.is_ok()) return c.status();
    conn_ = c->conn_;
    c->conn_ = nullptr;
    return Status::ok();
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Status::unavailable(
        fmt::format("cannot reconnect to PostgreSQL: {}", PQerrorMessage(conn_)));
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return Status::ok();
}

// ---- JSON text ---------------------------------------------------------------------------

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string jsonb_safe(std::string_view json) {
  std::string scratch;
  return std::string(jsonb_safe(json, scratch));
}

std::string_view jsonb_safe(std::string_view json, std::string& out) {
  // numeric accepts exponents far beyond this; past it the value could not be stored.
  constexpr long kMaxExponent = 100000;
  out.clear();
  size_t copied = 0;
  size_t i = 0;
  auto flush = [&](size_t upto) {
    out.append(json.data() + copied, upto - copied);
    copied = upto;
  };
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {
      ++i;
      while (i < json.size() && json[i] != '"') {
        if (json[i] == '\\' && i + 1 < json.size()) {
          if (json.substr(i, 6) == "\\u0000") {
            flush(i);
            out.append("\\ufffd");
            copied = i + 6;
            i += 6;
            continue;
          }
          i += 2;
          continue;
        }
        ++i;
      }
      ++i;
      continue;
    }
    if (c == '-' || is_digit(c)) {
      const size_t start = i;
      while (i < json.size() && (is_digit(json[i]) || json[i] == '-' || json[i] == '+' ||
                                 json[i] == '.' || json[i] == 'e' || json[i] == 'E')) {
        ++i;
      }
      const std::string_view num = json.substr(start, i - start);
      const size_t e = num.find_first_of("eE");
      if (e != std::string_view::npos) {
        const long exp = std::strtol(std::string(num.substr(e + 1)).c_str(), nullptr, 10);
        if (exp > kMaxExponent || exp < -kMaxExponent) {
          flush(start);
          out.push_back('"');
          out.append(num);
          out.push_back('"');
          copied = i;
        }
      }
      continue;
    }
    ++i;
  }
  if (copied == 0) return json;
  flush(json.size());
  return out;
}

std::string compact_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    if (c == '"') in_string = true;
    out.push_back(c);
  }
  return out;
}

std::string_view pg_text(std::string_view s, std::string& scratch) {
  if (s.find('\0') == std::string_view::npos) return s;
  scratch.clear();
  for (char c : s) {
    if (c == '\0')
      scratch.append("\xEF\xBF\xBD");
    else
      scratch.push_back(c);
  }
  return scratch;
}

// ---- full-text words ---------------------------------------------------------------------

namespace {

// A tsvector lexeme holds at most 2046 bytes, and all lexemes of one tsvector at most
// 1 MiB - 1 (PostgreSQL's MAXSTRLEN and MAXSTRPOS).
constexpr size_t kMaxLexemeBytes = 2046;
constexpr size_t kMaxLexemesBytes = (1 << 20) - 1;

}  // namespace

struct SearchWords::Impl {
  sqlite3* db = nullptr;  // owns the tokenizer module; never queried
  fts5_tokenizer module{};
  Fts5Tokenizer* tokenizer = nullptr;
  std::string arena;                             // the words of the last text, back to back
  std::vector<std::pair<size_t, size_t>> words;  // (offset, length) in arena, in text order
  bool query = false;                            // a query keeps words too long to index

  ~Impl() {
    if (tokenizer) module.xDelete(tokenizer);
    sqlite3_close(db);
  }
  [[nodiscard]] std::string_view word(const std::pair<size_t, size_t>& w) const {
    return std::string_view(arena).substr(w.first, w.second);
  }
};

SearchWords::SearchWords(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchWords::~SearchWords() = default;

Result<std::unique_ptr<SearchWords>> SearchWords::create() {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(":memory:", &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr) !=
      SQLITE_OK) {
    return Status::internal("full-text tokenizer: cannot open SQLite");
  }
  // The documented way to reach FTS5's C API: SELECT fts5(?) hands out its address.
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(impl->db, "SELECT fts5(?1)", -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  if (api == nullptr) return Status::internal("full-text tokenizer: SQLite has no FTS5");
  void* user_data = nullptr;
  if (api->xFindTokenizer(api, kFtsTokenizer, &user_data, &impl->module) != SQLITE_OK) {
    return Status::internal("full-text tokenizer: FTS5 has no unicode61 tokenizer");
  }
  const char* args[std::size(kFtsTokenizerArgs)];
  std::copy(std::begin(kFtsTokenizerArgs), std::end(kFtsTokenizerArgs), args);
  if (impl->module.xCreate(user_data, args, static_cast<int>(std::size(args)), &impl->tokenizer) != SQLITE_OK) {
    return Status::internal("full-text tokenizer: cannot create unicode61");
  }
  return std::unique_ptr<SearchWords>(new SearchWords(std::move(impl)));
}

void SearchWords::tokenize(std::string_view text, bool query) {
  Impl& m = *impl_;
  m.arena.clear();
  m.words.clear();
  m.query = query;
  if (text.empty()) return;
  auto on_word = [](void* ctx, int, const char* token, int n, int, int) -> int {
    auto* self = static_cast<Impl*>(ctx);
    const auto len = static_cast<size_t>(n);
    if (len == 0 || (len > kMaxLexemeBytes && !self->query)) return SQLITE_OK;
    self->words.emplace_back(self->arena.size(), len);
    self->arena.append(token, len);
    return SQLITE_OK;
  };
  // The tokenizer takes an int length; text past 2 GiB is not searchable anyway.
  const int n = static_cast<int>(std::min<size_t>(text.size(), 1u << 30));
  (void)m.module.xTokenize(m.tokenizer, &m, query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT,
                           text.data(), n, on_word);
}

void append_lexeme(std::string& out, std::string_view word) {
  out.push_back('\'');
  for (const char c : word) {
    if (c == '\'' || c == '\\') out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
}

void SearchWords::tsvector(std::string_view text, std::string& out) {
  tokenize(text, false);
  Impl& m = *impl_;
  std::vector<std::string_view> words;
  words.reserve(m.words.size());
  for (const auto& w : m.words) words.push_back(m.word(w));
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  size_t total = 0;
  bool first = true;
  for (const std::string_view w : words) {
    total += w.size();
    if (total > kMaxLexemesBytes) break;
    if (!first) out.push_back(' ');
    first = false;
    append_lexeme(out, w);
  }
}

std::vector<std::string> SearchWords::query_words(std::string_view q) {
  tokenize(q, true);
  std::vector<std::string> out;
  out.reserve(impl_->words.size());
  for (const auto& w : impl_->words) out.emplace_back(impl_->word(w));
  return out;
}

std::string SearchWords::tsquery(std::string_view q) {
  const std::vector<std::string> words = query_words(q);
  std::string out;
  for (size_t k = 0; k < words.size(); ++k) {
    // No indexed word is that long: nothing matches.
    if (words[k].size() > kMaxLexemeBytes) return {};
    if (k) out += " & ";
    append_lexeme(out, words[k]);
  }
  if (!out.empty()) out += ":*";
  return out;
}

}  // namespace agentlog::store::postgres
