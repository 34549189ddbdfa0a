// The ingest pipeline: a bounded queue in front of the single writer thread. The writer
// takes everything queued (up to a group limit), commits it in one transaction and only
// then completes each request — so an ack always means "durable".
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "bus/bus.h"
#include "model/types.h"
#include "store/store.h"
#include "util/metrics.h"
#include "util/status.h"
#include "util/time.h"

namespace agentlog::pipeline {

struct Limits {
  size_t max_queued_events = 200000;
  size_t max_queued_bytes = 64u << 20;
  size_t max_group_events = 10000;  // events per transaction (a single larger request still commits whole)
};

// Runs on the writer thread after the batch's transaction committed (or failed).
using Completion = std::function<void(const Status&)>;

enum class Admission { kQueued, kQueueFull, kDraining };

class Pipeline {
 public:
  // `bus` (may be null) receives every commit after it is acknowledged.
  Pipeline(store::Store& store, bus::Bus* bus, Limits limits, Metrics& metrics, const Clock& clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();
  // `bytes` is the request's size, counted against the byte bound.
  Admission submit(model::WriteBatch batch, size_t bytes, Completion done);
  // Refuses new work, commits everything already queued, stops the writer. Idempotent.
  void drain();

 private:
  struct Item {
    model::WriteBatch batch;
    size_t bytes;
    Completion done;
  };
  void run();
  void publish(std::vector<Item>& group, const std::vector<int64_t>& seqs);

  store::Store& store_;
  bus::Bus* bus_;
  const Limits limits_;
  Metrics& metrics_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t queued_events_ = 0, queued_bytes_ = 0;
  bool draining_ = false;
  std::thread writer_;
};

}  // namespace agentlog::pipeline
