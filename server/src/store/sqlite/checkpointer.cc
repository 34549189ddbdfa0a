#include "store/sqlite/checkpointer.h"

#include <spdlog/spdlog.h>

#include "util/thread.h"

namespace agentlog::store::sqlite {
namespace {

// The bulk pass goes round again while more than this is left (the writer appended it
// meanwhile), so that the writer's own copy of the rest stays a commit or two.
constexpr int kTailFrames = 512;
constexpr int kMaxRounds = 4;
// How long the writer's RESTART waits for readers of older snapshots (the search indexer
// reads a chunk of events in a few milliseconds).
constexpr int kRestartWaitMs = 50;

}  // namespace

Checkpointer::Checkpointer(std::string db_path, int start_frames, int max_frames, std::string thread_name)
    : db_path_(std::move(db_path)), thread_name_(std::move(thread_name)), start_frames_(start_frames),
      max_frames_(max_frames),
      next_request_(start_frames) {}

Checkpointer::~Checkpointer() { stop(); }

Status Checkpointer::start(sqlite3* writer) {
  auto conn = Connection::open(db_path_, false);
  if (!conn.is_ok()) return conn.status();
  conn_.emplace(std::move(*conn));
  // Reading once makes the connection open the WAL it is going to copy.
  if (auto s = conn_->exec("SELECT 1 FROM sqlite_schema LIMIT 1"); !s.is_ok()) return s;
  writer_ = writer;
  sqlite3_wal_hook(writer_, &Checkpointer::on_commit, this);
  thread_ = std::thread([this] {
    set_thread_name(thread_name_.c_str());
    run();
  });
  return Status::ok();
}

void Checkpointer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  // Back to SQLite's own checkpoint, at the same threshold.
  sqlite3_wal_autocheckpoint(writer_, start_frames_);
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int frames) {
  auto& c = *static_cast<Checkpointer*>(self);
  const int state = c.state_.load();
  if (state == kTail) {
    // RESTART copies what the bulk pass left (a commit or two), then waits for readers of
    // older snapshots to finish, so that the writer's next transaction starts the WAL
    // over. Nothing else writes meanwhile: this runs on the writer, between commits. A
    // reader that keeps its snapshot longer (a backup, a long export) is not waited for:
    // after kRestartWaitMs the RESTART gives up like a PASSIVE checkpoint, and the next
    // try waits for as much WAL again.
    std::lock_guard pass(c.pass_mu_);
    sqlite3_busy_timeout(db, kRestartWaitMs);
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(db, Connection::kBusyTimeoutMs);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("checkpoint: {}", sqlite3_errstr(rc));
    c.next_request_ = rc == SQLITE_BUSY ? frames + c.start_frames_ : c.start_frames_;
    c.writer_passes_.fetch_add(1);
    c.state_.store(kIdle);
  } else if (state == kIdle) {
    if (frames < c.next_request_) return SQLITE_OK;
    c.state_.store(kRequested);
    { std::lock_guard lock(c.mu_); }  // the thread is either before its check or waiting
    c.cv_.notify_one();
  } else if (frames >= c.max_frames_) {
    // The thread is behind: wait for its pass, if one is running, and copy the rest here.
    std::lock_guard pass(c.pass_mu_);
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("checkpoint: {}", sqlite3_errstr(rc));
    c.writer_passes_.fetch_add(1);
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || state_.load() == kRequested; });
      if (stop_) return;
    }
    std::lock_guard pass(pass_mu_);
    int last_copied = -1;
    for (int round = 0; round < kMaxRounds; ++round) {
      int log = 0, copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2(conn_->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      if (rc != SQLITE_OK) {
        if (rc != SQLITE_BUSY) spdlog::warn("checkpoint: {}", sqlite3_errstr(rc));
        break;
      }
      // Done when little is left, or when a reader's snapshot keeps the rest from being
      // copied (the writer's RESTART waits for it).
      if (log - copied <= kTailFrames || copied == last_copied) break;
      last_copied = copied;
    }
    bulk_passes_.fetch_add(1);
    state_.store(kTail);
  }
}

}  // namespace agentlog::store::sqlite
