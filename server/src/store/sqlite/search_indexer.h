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
#include <vector>

#include "store/sqlite/connection.h"
#include "util/status.h"

namespace agentlog::store::sqlite {

// Creates or upgrades the search database schema. It is a derived cache: on a version
// change, or when it covers more than the events table's `last_seq`, it is dropped and
// rebuilt from the events table.
Status prepare_search_db(const std::string& path, int64_t last_seq);

// Appends the string values (not the keys) of a JSON document, unescaped and separated
// by spaces: `{"role":"user","content":"hi\nthere"}` -> ` user hi there`.
void append_json_text(std::string& out, std::string_view json);

// A user query as FTS5 expressions: every word must occur, the last one as a prefix.
// Words are what the index's tokenizer sees: runs of characters between spaces and ASCII
// punctuation.
struct FtsQuery {
  std::string head;  // all words but the last, quoted (implicit AND); may be empty
  std::string last;  // the last word, quoted; empty when the query has no searchable word

  bool empty() const { return last.empty(); }
  // The last word as an FTS5 prefix query. Always correct, but FTS5 merges the postings
  // of every term with that prefix before returning a row (~90 ms for a word in 40% of
  // 1M events), so a page of newest matches costs as much as all of them.
  std::string prefix_query() const;
  // The last word when it is one lower-cased ASCII token (letters and digits only), whose
  // completions can be looked up in the index vocabulary; otherwise empty.
  std::string ascii_token() const;
  // The last word replaced by any of `completions` (the terms it is a prefix of): FTS5
  // walks OR-ed terms lazily, so a LIMIT stops it early.
  std::string with_completions(const std::vector<std::string>& completions) const;
};
FtsQuery to_fts_query(std::string_view q);

class SearchIndexer {
 public:
  // search.db is checkpointed after a commit that leaves its WAL this many pages or more.
  static constexpr int kCheckpointPages = 4000;

  SearchIndexer(std::string main_db, std::string search_db, int checkpoint_pages = kCheckpointPages);
  ~SearchIndexer();
  void start();
  void stop();
  // Called after each commit so new events are indexed promptly.
  void notify();

 private:
  void run();
  Status index_pending(Connection& main, Connection& search, bool& more);

  std::string main_db_, search_db_;
  int checkpoint_pages_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
};

}  // namespace agentlog::store::sqlite
