// The bus carries what each commit made visible — events with their sequence numbers and
// the sessions they touched — from the pipeline writer to live consumers (the SSE stream
// now; webhooks and other replicas through Redis later). Publishing never blocks the
// writer: commits queue up for a dispatcher thread, and if consumers fall too far behind
// the oldest commits are dropped and every consumer is told it missed some (it then
// catches up from the store by sequence number, so nothing is lost for good).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/types.h"

namespace agentlog::bus {

struct Committed {
  int64_t project_id = 0;
  std::vector<model::StoredEvent> events;  // in seq order
  std::vector<std::string> session_ids;    // sessions patched or given events, each once
};

// Receives commits in order on the bus's dispatcher thread, several at a time. `missed`
// is true when commits were dropped before this delivery because the consumers were slow.
using Handler = std::function<void(const std::vector<std::shared_ptr<const Committed>>& commits, bool missed)>;

class Bus {
 public:
  virtual ~Bus() = default;
  // True when someone listens: the writer skips building Committed values otherwise.
  virtual bool wanted() const = 0;
  // Never blocks.
  virtual void publish(std::shared_ptr<const Committed> c) = 0;
  // The handler runs on the dispatcher thread until the Bus is destroyed or stop() returns.
  virtual void subscribe(Handler h) = 0;
  virtual void stop() = 0;
};

class InProcessBus final : public Bus {
 public:
  explicit InProcessBus(size_t max_queued_events = 100000);
  ~InProcessBus() override;

  bool wanted() const override;
  void publish(std::shared_ptr<const Committed> c) override;
  void subscribe(Handler h) override;
  void stop() override;

  uint64_t dropped_commits() const;

 private:
  void run();

  const size_t max_queued_events_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Handler> handlers_;
  std::deque<std::shared_ptr<const Committed>> queue_;
  size_t queued_events_ = 0;
  bool missed_ = false, stopping_ = false;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace agentlog::bus
