#include "bus/bus.h"

#include "util/thread.h"

namespace agentlog::bus {

InProcessBus::InProcessBus(size_t max_queued_events) : max_queued_events_(max_queued_events) {}

InProcessBus::~InProcessBus() { stop(); }

bool InProcessBus::wanted() const {
  std::lock_guard lock(mu_);
  return !handlers_.empty() && !stopping_;
}

void InProcessBus::publish(std::shared_ptr<const Committed> c) {
  {
    std::lock_guard lock(mu_);
    if (handlers_.empty() || stopping_) return;
    queued_events_ += c->events.size();
    queue_.push_back(std::move(c));
    // Keep the newest commit even if it alone exceeds the bound.
    while (queued_events_ > max_queued_events_ && queue_.size() > 1) {
      queued_events_ -= queue_.front()->events.size();
      queue_.pop_front();
      missed_ = true;
      ++dropped_;
    }
  }
  cv_.notify_one();
}

void InProcessBus::subscribe(Handler h) {
  std::lock_guard lock(mu_);
  handlers_.push_back(std::move(h));
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      set_thread_name("al-bus");
      run();
    });
  }
}

void InProcessBus::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

uint64_t InProcessBus::dropped_commits() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void InProcessBus::run() {
  std::vector<std::shared_ptr<const Committed>> batch;
  for (;;) {
    bool missed;
    std::vector<Handler> handlers;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (stopping_) return;
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      queued_events_ = 0;
      missed = missed_;
      missed_ = false;
      handlers = handlers_;
    }
    for (const Handler& h : handlers) h(batch, missed);
    batch.clear();
  }
}

}  // namespace agentlog::bus
