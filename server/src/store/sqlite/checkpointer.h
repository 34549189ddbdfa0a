// Copies the write-ahead log back into the database file on a thread of its own.
//
// SQLite's automatic checkpoint runs inside the committing connection: at full ingest
// load the single writer (the critical path) spent ~17 % of its CPU copying 64 MiB of WAL
// and more time waiting for the fsyncs. Here a second connection does that bulk copy
// while the writer goes on committing. Starting the WAL over from its beginning (which
// keeps the file from growing) needs every frame copied and no reader on an old snapshot
// when the writer's next transaction begins, which a concurrent copy never achieves while
// commits keep coming. So after each bulk pass the writer copies the short rest itself,
// right after its next commit (a commit or two of frames).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "store/sqlite/connection.h"

namespace agentlog::store::sqlite {

class Checkpointer {
 public:
  // A bulk pass starts once the WAL holds `start_frames` frames; at `max_frames` (the
  // thread is behind) the writer waits for the pass in progress and copies the rest
  // itself. The WAL outgrows that bound only while a reader keeps an old snapshot, as
  // with SQLite's own checkpoints.
  Checkpointer(std::string db_path, int start_frames, int max_frames, std::string thread_name = "al-checkpoint");
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Starts the thread and takes over `writer`'s WAL hook (which replaces its automatic
  // checkpoint). `writer` must outlive stop().
  Status start(sqlite3* writer);
  // Gives the hook back (the writer checkpoints inline again) and joins the thread.
  void stop();

  // Passes run so far by the thread, and copies of the rest by the writer: for tests.
  int bulk_passes() const { return bulk_passes_.load(); }
  int writer_passes() const { return writer_passes_.load(); }

 private:
  enum State { kIdle, kRequested, kTail };
  static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
  void run();

  const std::string db_path_, thread_name_;
  const int start_frames_, max_frames_;
  sqlite3* writer_ = nullptr;
  std::optional<Connection> conn_;
  std::atomic<int> state_{kIdle};
  int next_request_;  // WAL frames at which the writer asks for the next pass; the writer's alone
  std::mutex pass_mu_;  // held for each checkpoint pass: one at a time, whoever runs it
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<int> bulk_passes_{0}, writer_passes_{0};
  std::thread thread_;
};

}  // namespace agentlog::store::sqlite
