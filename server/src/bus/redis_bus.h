// The bus for several replicas sharing one PostgreSQL database: every replica's commits
// reach every replica's subscribers (the SSE streams).
//
// Redis carries only a compact notification per commit (project, last sequence number,
// sessions patched); the events themselves are read back from the database in sequence
// order by each replica. Sequence numbers follow commit order across replicas (see
// PostgresStore), so reading "everything after the last sequence delivered" never skips a
// commit that became visible late, a notification lost while Redis was unreachable only
// delays delivery until the next poll, and subscribers see every event once, in order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "util/status.h"

struct redisContext;

namespace agentlog::bus {

// An event as read back from the store, with its project.
struct LoadedEvent {
  int64_t project_id = 0;
  model::StoredEvent event;
};

// Events of all projects committed after `after_seq`, in sequence order, at most `limit`.
using CommitLoader = std::function<Result<std::vector<LoadedEvent>>(int64_t after_seq, int limit)>;
// The last committed sequence number (where delivery starts).
using LastSeq = std::function<Result<int64_t>()>;

struct RedisOptions {
  std::string url;                           // redis://[[user]:password@]host[:port][/db]
  std::string channel = "agentlog:commits";  // every replica of one deployment uses the same
  // Safety net: the database is read this often even without a notification (a notification
  // can be lost while Redis reconnects).
  std::chrono::milliseconds poll_interval{1000};
  int load_batch = 2000;
  size_t max_queued_messages = 10000;  // unsent notifications kept while Redis is unreachable
};

// The parts of a redis:// URL.
struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user, password;
  int db = 0;
};
Result<RedisAddress> parse_redis_url(const std::string& url);

// A commit notification on the wire: "1 <project> <last_seq> <n>\n" then n session ids,
// each as "<bytes>:<id>". Parsing rejects anything malformed.
std::string encode_notice(const Committed& c);
struct Notice {
  int64_t project_id = 0;
  int64_t last_seq = 0;
  std::vector<std::string> session_ids;
};
Result<Notice> decode_notice(std::string_view msg);

class RedisBus final : public Bus {
 public:
  // Fails if Redis cannot be reached at start (a misconfigured URL should stop the server).
  static Result<std::unique_ptr<RedisBus>> open(RedisOptions options, CommitLoader load,
                                                LastSeq last_seq);
  ~RedisBus() override;

  // Always true: other replicas listen even when this one has no subscriber.
  bool wanted() const override { return true; }
  void publish(std::shared_ptr<const Committed> c) override;
  void subscribe(Handler h) override;
  void stop() override;

  uint64_t notices_sent() const;
  uint64_t notices_received() const;

 private:
  RedisBus(RedisOptions options, RedisAddress address, CommitLoader load, LastSeq last_seq);
  Result<redisContext*> connect() const;
  void run_publisher();
  void run_subscriber();
  void run_dispatcher();
  void wake(int64_t project_id, const std::vector<std::string>& session_ids);
  // Sleeps up to `d`, returning early (true) when stopping.
  bool sleep_or_stop(std::chrono::milliseconds d);

  const RedisOptions options_;
  const RedisAddress address_;
  const CommitLoader load_;
  const LastSeq last_seq_;

  mutable std::mutex mu_;
  std::condition_variable publish_cv_, dispatch_cv_, stop_cv_;
  bool stopping_ = false;
  std::deque<std::string> outbox_;
  std::vector<Handler> handlers_;
  bool pending_ = false;                                       // something may have been committed
  std::map<int64_t, std::set<std::string>> pending_sessions_;  // patched sessions, by project
  int subscriber_fd_ = -1;
  uint64_t sent_ = 0, received_ = 0;
  std::thread publisher_, subscriber_, dispatcher_;
};

}  // namespace agentlog::bus
