#include "store/sqlite/search_indexer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "store/fts_tokenizer.h"
#include "util/thread.h"

namespace agentlog::store::sqlite {
namespace {

constexpr int kSearchSchemaVersion = 2;
constexpr int kChunk = 5000;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t hex4(std::string_view s, size_t i) {
  uint32_t v = 0;
  for (size_t k = i; k < i + 4 && k < s.size(); ++k) {
    const char c = s[k];
    v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

}  // namespace

void append_json_text(std::string& out, std::string_view json) {
  // The input is canonical JSON written by our own encoder, so a string followed by ':'
  // is a key and escapes are well-formed.
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      ++i;
      continue;
    }
    ++i;
    out.push_back(' ');
    const size_t value_start = out.size();
    while (i < json.size() && json[i] != '"') {
      if (json[i] == '\\' && i + 1 < json.size()) {
        const char e = json[i + 1];
        if (e == 'u' && i + 5 < json.size()) {
          uint32_t cp = hex4(json, i + 2);
          i += 6;
          if (cp >= 0xD800 && cp < 0xDC00 && i + 5 < json.size() && json[i] == '\\' && json[i + 1] == 'u') {
            const uint32_t lo = hex4(json, i + 2);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
          append_utf8(out, cp);
          continue;
        }
        out.push_back(e == '"' || e == '\\' || e == '/' ? e : ' ');
        i += 2;
        continue;
      }
      out.push_back(json[i++]);
    }
    ++i;  // closing quote
    if (i < json.size() && json[i] == ':') out.resize(value_start - 1);  // a key: not text
  }
}

FtsQuery to_fts_query(std::string_view q) {
  // The index splits text on ASCII punctuation and spaces; doing the same here turns
  // `gpt-4o` into the words `gpt` and `4o`. A quoted string that the tokenizer would split
  // is a phrase, and a detail=none index refuses phrase queries.
  FtsQuery out;
  auto separator = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x80 && !std::isalnum(u);
  };
  size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && separator(q[i])) ++i;
    const size_t start = i;
    while (i < q.size() && !separator(q[i])) ++i;
    if (i == start) break;
    if (!out.last.empty()) {
      if (!out.head.empty()) out.head.push_back(' ');
      out.head += out.last;
    }
    // Words hold no ASCII punctuation, so no quote to escape.
    out.last.assign(1, '"').append(q.substr(start, i - start)).push_back('"');
  }
  return out;
}

std::string FtsQuery::prefix_query() const {
  if (empty()) return {};
  return head.empty() ? last + "*" : head + " " + last + "*";
}

std::string FtsQuery::ascii_token() const {
  if (last.size() < 3) return {};
  std::string token;
  for (size_t k = 1; k + 1 < last.size(); ++k) {
    const auto u = static_cast<unsigned char>(last[k]);
    if (u >= 0x80 || !std::isalnum(u)) return {};
    token.push_back(static_cast<char>(std::tolower(u)));
  }
  return token;
}

std::string FtsQuery::with_completions(const std::vector<std::string>& completions) const {
  std::string out = head;
  if (!out.empty()) out += " AND ";  // FTS5 has no implicit AND before a parenthesis
  out.push_back('(');
  for (size_t k = 0; k < completions.size(); ++k) {
    if (k) out += " OR ";
    out.push_back('"');
    out += completions[k];  // index terms never hold a quote (the tokenizer splits on it)
    out.push_back('"');
  }
  out.push_back(')');
  return out;
}

Status prepare_search_db(const std::string& path, int64_t last_seq) {
  auto conn = Connection::open(path, false);
  if (!conn.is_ok()) return conn.status();
  Connection& c = *conn;
  if (auto s = c.exec("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s.is_ok()) {
    return s;
  }
  auto v = c.prepare("PRAGMA user_version");
  if (!v.is_ok()) return v.status();
  const int version = v->step() == SQLITE_ROW ? static_cast<int>(v->int64(0)) : 0;
  v = Result<Stmt>(Stmt());
  if (version == kSearchSchemaVersion) {
    // Ahead of the events (agentlog.db restored from an older backup), the index holds
    // seqs that new events will take again, and would skip indexing those: rebuilt.
    auto wm = c.prepare("SELECT watermark FROM index_state WHERE id = 1");
    if (!wm.is_ok()) return wm.status();
    if (wm->step() != SQLITE_ROW) return c.error("read search watermark");
    if (wm->int64(0) <= last_seq) return Status::ok();
    spdlog::warn("{} is ahead of the database (a restored backup?): rebuilding it", path);
  }
  return c.exec(
      "BEGIN;"
      "DROP TABLE IF EXISTS events_fts;"
      "DROP TABLE IF EXISTS index_state;"
      // Contentless, one column, detail=none: the smallest and fastest index to fill
      // that answers what search needs (AND of words and prefixes over all the text).
      "CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', detail=none, "
      "  tokenize='" + std::string(kFtsTokenizeOption) + "');"
      "CREATE TABLE index_state (id INTEGER PRIMARY KEY CHECK (id = 1), watermark INTEGER NOT NULL);"
      "INSERT INTO index_state VALUES (1, 0);"
      "PRAGMA user_version = 2;"
      "COMMIT;");
}

SearchIndexer::SearchIndexer(std::string main_db, std::string search_db, int checkpoint_pages)
    : main_db_(std::move(main_db)), search_db_(std::move(search_db)), checkpoint_pages_(checkpoint_pages) {}

SearchIndexer::~SearchIndexer() { stop(); }

void SearchIndexer::start() {
  thread_ = std::thread([this] {
    set_thread_name("al-indexer");
    // Under full load the writer is the critical path and every thread competes for two
    // cores: the indexer yields to it and catches up as soon as there is slack.
    set_thread_nice(10);
    run();
  });
}

void SearchIndexer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SearchIndexer::notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void SearchIndexer::run() {
  auto main = Connection::open(main_db_, true);
  auto search = Connection::open(search_db_, false);
  if (!main.is_ok() || !search.is_ok()) {
    spdlog::error("search indexer cannot open its databases; full-text search is unavailable");
    return;
  }
  // 25 MiB of pages, ~32 MiB of memory (see the writer's cache in sqlite_store.cc).
  (void)search->exec(fmt::format(
      "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-25600; PRAGMA wal_autocheckpoint={}; "
      "PRAGMA journal_size_limit=67108864; "
      "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 8);",
      checkpoint_pages_));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return pending_ || stop_; });
      pending_ = false;
    }
    bool more = true;
    while (more) {
      if (auto s = index_pending(*main, *search, more); !s.is_ok()) {
        spdlog::error("search indexer: {}", s.message());
        more = false;
      }
    }
    std::lock_guard lock(mu_);
    if (stop_) return;  // everything committed so far is indexed
  }
}

Status SearchIndexer::index_pending(Connection& main, Connection& search, bool& more) {
  more = false;
  auto wm = search.prepare("SELECT watermark FROM index_state WHERE id = 1");
  if (!wm.is_ok()) return wm.status();
  const int64_t watermark = wm->step() == SQLITE_ROW ? wm->int64(0) : 0;
  // Left unfinished, the statement would keep the connection in a read transaction through
  // the commit below, and a connection in a transaction cannot checkpoint: every automatic
  // checkpoint failed (SQLITE_LOCKED) and the WAL grew without bound (1.7 GB at 6M events).
  wm->reset();
  auto rows = main.prepare(
      "SELECT seq, name, input, output, error_message FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!rows.is_ok()) return rows.status();
  rows->bind(1, watermark).bind(2, kChunk);

  // The chunk's text is read first and the read transaction ended before indexing it: a
  // reader's snapshot keeps checkpoints from copying newer frames and the writer from
  // starting the WAL over, and indexing takes several times longer than reading.
  std::string text;
  std::vector<std::pair<int64_t, size_t>> ends;  // (seq, end of its text)
  int rc;
  while ((rc = rows->step()) == SQLITE_ROW) {
    text.append(rows->text(1));
    text.push_back(' ');
    text.append(rows->text(4));
    append_json_text(text, rows->text(2));
    append_json_text(text, rows->text(3));
    ends.emplace_back(rows->int64(0), text.size());
  }
  if (rc != SQLITE_DONE) return main.error("read events for indexing");
  rows->reset();
  if (ends.empty()) return Status::ok();

  Transaction tx(search);
  if (auto s = tx.begin_immediate(); !s.is_ok()) return s;
  auto ins = search.prepare("INSERT INTO events_fts (rowid, body) VALUES (?, ?)");
  if (!ins.is_ok()) return ins.status();
  size_t begin = 0;
  for (const auto& [seq, end] : ends) {
    ins->bind(1, seq).bind(2, std::string_view(text).substr(begin, end - begin));
    if (ins->step() != SQLITE_DONE) return search.error("fts insert");
    ins->reset();
    begin = end;
  }
  const int64_t last = ends.back().first;
  const int n = static_cast<int>(ends.size());
  auto upd = search.prepare("UPDATE index_state SET watermark = ? WHERE id = 1");
  if (!upd.is_ok()) return upd.status();
  upd->bind(1, last);
  if (upd->step() != SQLITE_DONE) return search.error("update watermark");
  more = n == kChunk;
  return tx.commit();
}

}  // namespace agentlog::store::sqlite
