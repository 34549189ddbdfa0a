// Runs most WAL checkpoints on a thread of their own, so the writer does not copy pages
// into the database file and wait for their fsync inside its commits.
//
// The writer's commits call the WAL hook. From kBackgroundFrames frames on, it wakes the
// checkpoint thread, which copies the frames committed so far into the database while the
// writer goes on appending. The WAL restarts from its beginning only once every frame is
// copied, which a checkpoint running beside a busy writer never achieves; so from
// kInlineFrames on the writer holds the thread off and checkpoints inline, as SQLite's
// autocheckpoint would, finding only the frames of the last moments left to copy. The WAL
// stays bounded as before.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/sqlite/connection.h"
#include "util/status.h"

namespace agentlog::store::sqlite {

class Checkpointer {
 public:
  static constexpr int kBackgroundFrames = 1000;  // 16 MiB of 16 KiB pages
  static constexpr int kInlineFrames = 4000;      // 64 MiB: SQLite's autocheckpoint point before

  explicit Checkpointer(std::string db_path) : db_path_(std::move(db_path)) {}
  ~Checkpointer() { stop(); }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Opens the thread's connection, starts it and installs the WAL hook on `writer`
  // (replacing its autocheckpoint). `writer` must be detached before it is closed.
  Status start(sqlite3* writer);
  void detach(sqlite3* writer);
  void stop();

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
  void run();

  std::string db_path_;
  std::optional<Connection> conn_;  // the thread's own
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool hold_ = false;  // the writer is about to checkpoint inline
  bool stop_ = false;
};

}  // namespace agentlog::store::sqlite
