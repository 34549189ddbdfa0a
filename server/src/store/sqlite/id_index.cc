#include "store/sqlite/id_index.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/thread.h"

namespace agentlog::store::sqlite {
namespace {

constexpr int kSchemaVersion = 1;
// 4 KiB pages: a random id costs its page a WAL frame per commit, and this file is all
// random ids. Checkpoints (on a thread of their own: inline, with their fsyncs, they held
// up the writer's next lookups by ~12 ms per commit) start at this many pages; the WAL
// stays within four times as many, and keeps that size when it starts over.
constexpr int kCheckpointFrames = 4096;
constexpr int kMaxWalFrames = 4 * kCheckpointFrames;

}  // namespace

Result<std::unique_ptr<IdIndex>> IdIndex::open(const std::string& path, const std::string& main_db,
                                               bool full_durability) {
  std::unique_ptr<IdIndex> idx(new IdIndex(path, main_db));
  if (auto s = idx->prepare(full_durability); !s.is_ok()) return s;
  idx->thread_ = std::thread([p = idx.get()] {
    set_thread_name("al-ids");
    p->run();
  });
  return idx;
}

IdIndex::~IdIndex() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status IdIndex::prepare(bool full_durability) {
  auto ids = Connection::open(path_, false);
  if (!ids.is_ok()) return ids.status();
  ids_.emplace(std::move(*ids));
  auto main = Connection::open(main_db_, true);
  if (!main.is_ok()) return main.status();
  main_.emplace(std::move(*main));
  if (auto s = ids_->exec(fmt::format("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous={}; "
                                     "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={}; "
                                     "PRAGMA cache_size=-8192",
                                     full_durability ? "FULL" : "NORMAL", int64_t{kMaxWalFrames} * 4096));
      !s.is_ok()) {
    return s;
  }
  auto v = ids_->prepare("PRAGMA user_version");
  if (!v.is_ok()) return v.status();
  const int version = v->step() == SQLITE_ROW ? static_cast<int>(v->int64(0)) : 0;
  v = Result<Stmt>(Stmt());
  if (version != kSchemaVersion) {
    if (auto s = ids_->exec("BEGIN IMMEDIATE; DROP TABLE IF EXISTS event_ids; DROP TABLE IF EXISTS ids_state;"
                           "CREATE TABLE event_ids (project_id INTEGER NOT NULL, id TEXT NOT NULL, "
                           "  seq INTEGER NOT NULL, PRIMARY KEY (project_id, id)) WITHOUT ROWID;"
                           // Every committed event with seq <= watermark is in event_ids.
                           "CREATE TABLE ids_state (id INTEGER PRIMARY KEY CHECK (id = 1), watermark INTEGER NOT NULL);"
                           "INSERT INTO ids_state VALUES (1, 0);"
                           "PRAGMA user_version = 1; COMMIT");
        !s.is_ok()) {
      return s;
    }
  }
  auto prep = [&](Stmt& st, std::string_view sql) -> Status {
    auto r = ids_->prepare(sql);
    if (!r.is_ok()) return r.status();
    st = std::move(*r);
    return Status::ok();
  };
  if (auto s = prep(find_, "SELECT seq FROM event_ids WHERE project_id = ? AND id = ?"); !s.is_ok()) return s;
  if (auto s = prep(insert_, "INSERT INTO event_ids (project_id, id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
      !s.is_ok()) {
    return s;
  }
  if (auto s = prep(record_, "INSERT INTO event_ids (project_id, id, seq) VALUES (?, ?, ?) "
                             "ON CONFLICT (project_id, id) DO UPDATE SET seq = excluded.seq");
      !s.is_ok()) {
    return s;
  }
  if (auto s = prep(remove_, "DELETE FROM event_ids WHERE project_id = ? AND id = ? AND seq = ?"); !s.is_ok()) {
    return s;
  }
  if (auto s = prep(set_watermark_, "UPDATE ids_state SET watermark = ?"); !s.is_ok()) return s;
  if (auto s = prep(get_watermark_, "SELECT watermark FROM ids_state"); !s.is_ok()) return s;
  // Index what agentlog.db committed since (a crash, or a new or deleted ids.db). An ids.db
  // ahead of agentlog.db (a restored backup of agentlog.db) is rebuilt.
  if (auto s = ids_->exec("BEGIN IMMEDIATE"); !s.is_ok()) return s;
  auto next = main_->prepare("SELECT value FROM meta WHERE key = 'next_seq'");
  if (!next.is_ok()) return next.status();
  if (next->step() != SQLITE_ROW) return main_->error("read next_seq");
  const int64_t last_seq = next->int64(0) - 1;
  next = Result<Stmt>(Stmt());
  if (auto s = read_watermark(); !s.is_ok()) return s;
  if (watermark_ > last_seq) {
    spdlog::warn("{} is ahead of the database (a restored backup?): rebuilding it", path_);
    if (auto s = ids_->exec("DELETE FROM event_ids"); !s.is_ok()) return s;
    watermark_ = 0;
  }
  if (watermark_ < last_seq) {
    if (watermark_ == 0) spdlog::info("indexing event ids in {}", path_);
    if (auto s = catch_up(last_seq + 1); !s.is_ok()) return s;
  }
  if (auto s = ids_->exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE)"); !s.is_ok()) return s;
  checkpointer_.emplace(path_, kCheckpointFrames, kMaxWalFrames, "al-ids-ckpt");
  return checkpointer_->start(ids_->get());
}

Status IdIndex::read_watermark() {
  // Read in each transaction: another process (a CLI import) may have written ids.db.
  const int rc = get_watermark_.step();
  if (rc == SQLITE_ROW) watermark_ = get_watermark_.int64(0);
  get_watermark_.reset();
  return rc == SQLITE_ROW ? Status::ok() : ids_->error("read ids watermark");
}

Status IdIndex::record(int64_t project_id, std::string_view id, int64_t seq) {
  record_.bind(1, project_id).bind(2, id).bind(3, seq);
  const int rc = record_.step();
  record_.reset();
  return rc == SQLITE_DONE ? Status::ok() : ids_->error("record event id");
}

Status IdIndex::catch_up(int64_t before) {
  // A whole database at once goes in key order (a B-tree filled from one end); a few
  // missed commits go in seq order, so that the last version of an id wins.
  auto st = main_->prepare(watermark_ == 0
                               ? "SELECT project_id, id, seq FROM events WHERE seq < ?2 ORDER BY project_id, id, seq"
                               : "SELECT project_id, id, seq FROM events WHERE seq > ?1 AND seq < ?2 ORDER BY seq");
  if (!st.is_ok()) return st.status();
  st->bind(1, watermark_).bind(2, before);
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (auto s = record(st->int64(0), st->text(1), st->int64(2)); !s.is_ok()) return s;
  }
  if (rc != SQLITE_DONE) return main_->error("read events to index their ids");
  st->reset();
  watermark_ = before - 1;
  set_watermark_.bind(1, watermark_);
  rc = set_watermark_.step();
  set_watermark_.reset();
  return rc == SQLITE_DONE ? Status::ok() : ids_->error("advance ids watermark");
}

void IdIndex::begin(int64_t first_seq, std::vector<Item> items) {
  {
    std::lock_guard lock(mu_);
    first_seq_ = first_seq;
    items_ = std::move(items);
    queued_ = true;
  }
  cv_.notify_all();
}

Result<std::vector<IdIndex::Replaced>> IdIndex::lookups() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return looked_up_; });
  return std::move(result_);
}

void IdIndex::finish(bool committed) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return looked_up_; });
    looked_up_ = false;
    decided_ = true;
    committed_ = committed;
    if (committed) pending_.swap(prepared_);
  }
  cv_.notify_all();
}

std::string IdIndex::pending_key(int64_t project_id, std::string_view id) {
  std::string key(reinterpret_cast<const char*>(&project_id), sizeof project_id);
  key += id;
  return key;
}

std::optional<int64_t> IdIndex::pending_seq(int64_t project_id, std::string_view id) {
  const std::string key = pending_key(project_id, id);
  std::lock_guard lock(mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  return it->second;
}

void IdIndex::forget(std::vector<Deleted> deleted) {
  {
    std::lock_guard lock(mu_);
    deleted_.insert(deleted_.end(), std::make_move_iterator(deleted.begin()),
                    std::make_move_iterator(deleted.end()));
  }
  cv_.notify_all();
}

void IdIndex::run() {
  for (;;) {
    bool job = false;
    int64_t first_seq = 0;
    std::vector<Item> items;
    std::vector<Deleted> deleted;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return queued_ || !deleted_.empty() || stop_; });
      deleted.swap(deleted_);  // forgotten before any later job began: removed first
      if (queued_) {
        queued_ = false;
        job = true;
        first_seq = first_seq_;
        items = std::move(items_);
      }
    }
    if (!deleted.empty()) remove(deleted);
    if (job) {
      work(first_seq, items);
    } else if (deleted.empty()) {
      return;  // stopped, nothing left
    }
  }
}

void IdIndex::remove(const std::vector<Deleted>& deleted) {
  Status s = ids_->exec("BEGIN IMMEDIATE");
  for (size_t i = 0; s.is_ok() && i < deleted.size(); ++i) {
    const Deleted& d = deleted[i];
    remove_.bind(1, d.project_id).bind(2, d.id).bind(3, d.seq);
    if (remove_.step() != SQLITE_DONE) s = ids_->error("remove deleted event ids");
    remove_.reset();
  }
  if (s.is_ok()) s = ids_->exec("COMMIT");
  if (!s.is_ok()) {
    // Left behind, they are ignored: every seq found is checked against the events.
    spdlog::warn("ids.db: {}; ids of deleted events stay in it", s.message());
    (void)ids_->exec("ROLLBACK");
  }
}

void IdIndex::work(int64_t first_seq, const std::vector<Item>& items) {
  Result<std::vector<Replaced>> result = std::vector<Replaced>{};
  std::unordered_map<std::string, int64_t> ids;
  bool open = false;
  auto lookup_all = [&]() -> Status {
    if (auto s = ids_->exec("BEGIN IMMEDIATE"); !s.is_ok()) return s;
    open = true;
    if (auto s = read_watermark(); !s.is_ok()) return s;
    if (watermark_ < first_seq - 1) {
      if (auto s = catch_up(first_seq); !s.is_ok()) return s;
    }
    std::vector<Replaced>& replaced = *result;
    ids.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      const int64_t seq = first_seq + static_cast<int64_t>(i);
      ids[pending_key(it.project_id, it.id)] = seq;
      // Most ids are new: one insert finds that out.
      insert_.bind(1, it.project_id).bind(2, it.id).bind(3, seq);
      const int rc = insert_.step();
      insert_.reset();
      if (rc != SQLITE_DONE) return ids_->error("record event id");
      if (sqlite3_changes(ids_->get()) == 1) continue;
      find_.bind(1, it.project_id).bind(2, it.id);
      const int found = find_.step();
      if (found == SQLITE_ROW) replaced.push_back({i, find_.int64(0)});
      find_.reset();
      if (found != SQLITE_ROW) return ids_->error("look up event id");
      if (auto s = record(it.project_id, it.id, seq); !s.is_ok()) return s;
    }
    set_watermark_.bind(1, first_seq + static_cast<int64_t>(items.size()) - 1);
    const int rc = set_watermark_.step();
    set_watermark_.reset();
    return rc == SQLITE_DONE ? Status::ok() : ids_->error("advance ids watermark");
  };
  const Status looked_up = lookup_all();
  if (!looked_up.is_ok()) result = looked_up;

  bool commit;
  {
    std::unique_lock lock(mu_);
    result_ = std::move(result);
    prepared_ = std::move(ids);
    looked_up_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return decided_; });
    decided_ = false;
    commit = committed_ && looked_up.is_ok();
  }
  if (open) {
    // After a failed or abandoned job ids.db stays behind agentlog.db: the next job catches up.
    const Status s = ids_->exec(commit ? "COMMIT" : "ROLLBACK");
    if (!s.is_ok()) {
      spdlog::warn("ids.db: {}; the next write indexes what it missed", s.message());
      (void)ids_->exec("ROLLBACK");
    }
  }
  std::lock_guard lock(mu_);
  pending_.clear();  // committed (or, failing that, found by the next job's catch-up)
}

}  // namespace agentlog::store::sqlite
