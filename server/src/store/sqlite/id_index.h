// The index of event ids, (project, id) -> seq of the event's current version, in its own
// database file (ids.db) and written by its own thread while the writer's transaction runs.
//
// Why apart: ids that do not grow with time (OpenTelemetry's <trace_id>-<span_id>) put
// every trace on a random page of an id index. Inside agentlog.db that index cost the
// writer ~4 us per span and a third of its OTLP throughput (random trace ids: 66-68k
// spans/s with it, 102-108k without, 2026-12-02). Here the same B-tree work runs on the
// other core, in parallel with the writer's inserts, and commits while the writer goes on.
//
// Protocol, one write transaction of the writer at a time (the store's write lock):
//   1. begin(first_seq, items): the thread opens a transaction on ids.db, first indexes any
//      committed events it missed (seq between its watermark and first_seq), then looks up
//      and records each item; lookups() returns the items that replace a stored version.
//   2. The writer verifies each against agentlog.db (the row at that seq must still be that
//      event: a deleted session's ids stay until forget()'s removal is done, and after a
//      crash for good) and commits agentlog.db.
//   3. finish(committed): the thread commits or rolls back ids.db while the writer goes on
//      with its next transaction (whose job waits for that commit). Until it is done,
//      pending_seq() finds the committed ids, so a read after the acknowledgement finds
//      the event by id.
// agentlog.db commits first. A crash or a failed commit of ids.db leaves it behind, never
// ahead: the next job (and open()) index what it missed from the events table.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"
#include "util/status.h"

namespace agentlog::store::sqlite {

class IdIndex {
 public:
  struct Item {
    int64_t project_id;
    std::string_view id;  // must stay valid until finish() returns
  };
  // An item whose id was recorded before: the seq of the stored version, if it still exists.
  struct Replaced {
    size_t item;       // index into begin()'s items
    int64_t old_seq;
  };

  // Opens (creating, or rebuilding from `main_db` when missing, incomplete or ahead of it)
  // ids.db at `path`, indexes committed events it lacks, and starts the thread.
  static Result<std::unique_ptr<IdIndex>> open(const std::string& path, const std::string& main_db,
                                               bool full_durability);
  ~IdIndex();

  // Items get seqs first_seq, first_seq + 1, ... in order; the same id twice in them is
  // a re-send of the first by the second. Only the writer calls these three, in order.
  void begin(int64_t first_seq, std::vector<Item> items);
  Result<std::vector<Replaced>> lookups();
  void finish(bool committed);

  // The seq of an id that agentlog.db committed and ids.db is still committing. Any thread.
  std::optional<int64_t> pending_seq(int64_t project_id, std::string_view id);

  // Events that agentlog.db deleted (with their session): their ids are removed from ids.db
  // after the job in progress, unless an id was recorded again since. The writer calls it,
  // under its lock, after the delete commits; a crash before it is done leaves ids behind
  // that reads and writes already ignore (they check every seq against the events).
  struct Deleted {
    int64_t project_id;
    std::string id;
    int64_t seq;
  };
  void forget(std::vector<Deleted> deleted);

 private:
  IdIndex(std::string path, std::string main_db) : path_(std::move(path)), main_db_(std::move(main_db)) {}
  Status prepare(bool full_durability);
  Status read_watermark();
  // Indexes committed events with seq in (watermark, before); `before` 0: all of them.
  Status catch_up(int64_t before);
  Status record(int64_t project_id, std::string_view id, int64_t seq);
  void run();
  // One job: its lookups, then the writer's decision, then ids.db's commit.
  void work(int64_t first_seq, const std::vector<Item>& items);
  void remove(const std::vector<Deleted>& deleted);
  static std::string pending_key(int64_t project_id, std::string_view id);

  std::string path_, main_db_;
  std::optional<Connection> ids_;
  std::optional<Connection> main_;  // read-only, for catching up
  Stmt find_, insert_, record_, remove_, get_watermark_, set_watermark_;
  int64_t watermark_ = 0;  // as in ids_state, in the open transaction
  std::optional<Checkpointer> checkpointer_;  // ids.db's own (declared after ids_: stops first)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  // The next job, from begin(); the thread may still be committing the one before.
  bool queued_ = false;
  int64_t first_seq_ = 0;
  std::vector<Item> items_;
  std::vector<Deleted> deleted_;  // from forget(), removed before the next job
  // The job in progress: its lookups, then the writer's decision.
  bool looked_up_ = false;
  Result<std::vector<Replaced>> result_ = std::vector<Replaced>{};
  bool decided_ = false, committed_ = false;
  // Its ids (pending_key -> seq), made visible by finish(true) until ids.db has them.
  std::unordered_map<std::string, int64_t> prepared_, pending_;
  std::thread thread_;
};

}  // namespace agentlog::store::sqlite
