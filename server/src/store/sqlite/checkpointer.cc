#include "store/sqlite/checkpointer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "util/thread.h"

namespace agentlog::store::sqlite {

Status Checkpointer::start(sqlite3* writer) {
  auto c = Connection::open(db_path_, false);
  if (!c.is_ok()) return c.status();
  conn_.emplace(std::move(*c));
  // A connection learns that the database is in WAL mode when it first reads it; until
  // then a checkpoint does nothing.
  if (auto s = conn_->exec("SELECT count(*) FROM sqlite_schema"); !s.is_ok()) return s;
  thread_ = std::thread([this] {
    set_thread_name("al-checkpoint");
    run();
  });
  sqlite3_wal_hook(writer, &Checkpointer::on_commit, this);
  return Status::ok();
}

void Checkpointer::detach(sqlite3* writer) { sqlite3_wal_hook(writer, nullptr, nullptr); }

void Checkpointer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  if (frames >= kInlineFrames) {
    // Hold the thread off so that it cannot keep the checkpoint lock from us: PASSIVE
    // never waits, it returns SQLITE_BUSY and the next commit tries again.
    {
      std::lock_guard lock(c->mu_);
      c->hold_ = true;
    }
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(c->mu_);
    c->hold_ = false;  // the WAL restarted
    c->pending_ = frames >= kBackgroundFrames;
  }
  if (frames >= kBackgroundFrames) c->cv_.notify_one();  // a few times a second at most
  return SQLITE_OK;
}

void Checkpointer::run() {
  bool unfinished = false;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // A checkpoint stops at frames that a reader may still need; the rest is copied on
      // the next commit or, when none comes, a moment later.
      const auto ready = [this] { return (pending_ && !hold_) || stop_; };
      if (unfinished) cv_.wait_for(lock, std::chrono::milliseconds(100), ready);
      else cv_.wait(lock, ready);
      if (stop_) return;
      if (hold_) continue;
      pending_ = false;
    }
    int frames = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn_->get(), "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("background checkpoint: {}", sqlite3_errmsg(conn_->get()));
    unfinished = rc == SQLITE_BUSY || copied < frames;
  }
}

}  // namespace agentlog::store::sqlite
