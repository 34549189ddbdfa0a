#include "pipeline/pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "util/thread.h"

namespace agentlog::pipeline {

Pipeline::Pipeline(store::Store& store, bus::Bus* bus, Limits limits, Metrics& metrics, const Clock& clock)
    : store_(store), bus_(bus), limits_(limits), metrics_(metrics), clock_(clock) {}

Pipeline::~Pipeline() { drain(); }

void Pipeline::start() {
  writer_ = std::thread([this] {
    set_thread_name("al-writer");
    run();
  });
}

Admission Pipeline::submit(model::WriteBatch batch, size_t bytes, Completion done) {
  const size_t events = batch.events.size() + batch.sessions.size();
  {
    std::lock_guard lock(mu_);
    if (draining_) return Admission::kDraining;
    // An oversized request is still admitted into an empty queue, so it can never be
    // refused forever.
    if (!queue_.empty() && (queued_events_ + events > limits_.max_queued_events ||
                            queued_bytes_ + bytes > limits_.max_queued_bytes)) {
      return Admission::kQueueFull;
    }
    queued_events_ += events;
    queued_bytes_ += bytes;
    queue_.push_back(Item{std::move(batch), bytes, std::move(done)});
    metrics_.set_queue(queued_events_, queued_bytes_);
  }
  cv_.notify_one();
  return Admission::kQueued;
}

void Pipeline::drain() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void Pipeline::run() {
  std::vector<Item> group;
  std::vector<const model::WriteBatch*> batches;
  std::vector<int64_t> seqs;
  for (;;) {
    size_t group_events = 0, group_bytes = 0;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || draining_; });
      if (queue_.empty()) return;  // draining and nothing left
      while (!queue_.empty()) {
        const size_t n = queue_.front().batch.events.size() + queue_.front().batch.sessions.size();
        if (!group.empty() && group_events + n > limits_.max_group_events) break;
        group_events += n;
        group_bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batches.clear();
    for (const Item& it : group) batches.push_back(&it.batch);
    const auto t0 = std::chrono::steady_clock::now();
    const Status s = store_.write(batches, &seqs);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics_.commit_duration().observe(seconds);
    if (s.is_ok()) {
      size_t events = 0;
      for (const Item& it : group) events += it.batch.events.size();
      metrics_.add_ingested(events, clock_.now());
    } else {
      spdlog::error("commit of {} requests failed: {}", group.size(), s.message());
    }
    {
      // Release capacity before acking so a client that immediately sends again is admitted.
      std::lock_guard lock(mu_);
      queued_events_ -= group_events;
      queued_bytes_ -= group_bytes;
      metrics_.set_queue(queued_events_, queued_bytes_);
    }
    for (Item& it : group) it.done(s);
    if (s.is_ok() && bus_ && bus_->wanted()) publish(group, seqs);
    group.clear();
  }
}

// Moves the committed events out of the group (their requests are answered already).
void Pipeline::publish(std::vector<Item>& group, const std::vector<int64_t>& seqs) {
  size_t next = 0;
  for (Item& it : group) {
    auto c = std::make_shared<bus::Committed>();
    c->project_id = it.batch.project_id;
    c->events.reserve(it.batch.events.size());
    std::unordered_set<std::string_view> seen;
    auto touch = [&](const std::string& id) {
      if (seen.insert(id).second) c->session_ids.push_back(id);
    };
    for (const model::SessionPatch& p : it.batch.sessions) touch(p.id);
    for (const model::Event& e : it.batch.events) touch(e.session_id);
    for (model::Event& e : it.batch.events) c->events.push_back(model::StoredEvent{std::move(e), seqs[next++]});
    if (!c->events.empty() || !c->session_ids.empty()) bus_->publish(std::move(c));
  }
}

}  // namespace agentlog::pipeline
