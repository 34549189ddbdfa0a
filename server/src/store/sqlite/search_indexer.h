// Full-text index in a separate database file (search.db), filled by a background thread
// from events with seq > watermark. Keeping FTS off the ingest transaction lets the
// writer commit at the raw insert rate; search trails the ack by well under a second.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "store/sqlite/connection.h"
#include "util/status.h"

namespace agentlog::store::sqlite {

// Creates or upgrades the search database schema (a derived cache: on a version change
// it is dropped and rebuilt from the events table).
Status prepare_search_db(const std::string& path);

// Appends the string values (not the keys) of a JSON document, unescaped and separated
// by spaces: `{"role":"user","content":"hi\nthere"}` -> ` user hi there`.
void append_json_text(std::string& out, std::string_view json);

// Turns a user query into an FTS5 expression: every word quoted (AND), prefix match on the
// last word. Returns an empty string when the query has no searchable word.
std::string to_fts_query(std::string_view q);

class SearchIndexer {
 public:
  SearchIndexer(std::string main_db, std::string search_db);
  ~SearchIndexer();
  void start();
  void stop();
  // Called after each commit so new events are indexed promptly.
  void notify();

 private:
  void run();
  Status index_pending(Connection& main, Connection& search, bool& more);

  std::string main_db_, search_db_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
};

}  // namespace agentlog::store::sqlite
