#include "bus/bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "testing/builders.h"
#include "testing/eventually.h"

namespace agentlog::bus {
namespace {

std::shared_ptr<const Committed> commit(int64_t first_seq, int n) {
  auto c = std::make_shared<Committed>();
  c->project_id = 1;
  for (int i = 0; i < n; ++i) {
    c->events.push_back(model::StoredEvent{test::make_event("e" + std::to_string(first_seq + i), "s", 0), first_seq + i});
  }
  c->session_ids = {"s"};
  return c;
}

TEST(InProcessBusTest, NothingIsWantedOrKeptWithoutSubscribers) {
  InProcessBus bus;
  EXPECT_FALSE(bus.wanted());
  bus.publish(commit(1, 1));  // dropped, not queued forever
  std::vector<int64_t> seen;
  std::mutex mu;
  bus.subscribe([&](const auto& commits, bool) {
    std::lock_guard lock(mu);
    for (const auto& c : commits) seen.push_back(c->events[0].seq);
  });
  EXPECT_TRUE(bus.wanted());
  bus.publish(commit(2, 1));
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mu);
    return !seen.empty();
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, std::vector<int64_t>{2});
}

TEST(InProcessBusTest, DeliversEveryCommitInOrder) {
  InProcessBus bus;
  std::mutex mu;
  std::vector<int64_t> seen;
  bool missed_any = false;
  bus.subscribe([&](const auto& commits, bool missed) {
    std::lock_guard lock(mu);
    missed_any |= missed;
    for (const auto& c : commits) {
      for (const auto& e : c->events) seen.push_back(e.seq);
    }
  });
  for (int i = 0; i < 1000; ++i) bus.publish(commit(i * 3, 3));
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() == 3000;
  }));
  std::lock_guard lock(mu);
  EXPECT_FALSE(missed_any);
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], static_cast<int64_t>(i));
}

TEST(InProcessBusTest, ASlowConsumerMissesOldCommitsAndIsToldSo) {
  InProcessBus bus(10);  // at most 10 queued events
  std::atomic<bool> release{false}, entered{false};
  std::mutex mu;
  std::vector<std::pair<int64_t, bool>> deliveries;  // first seq of each delivery, missed flag
  bus.subscribe([&](const auto& commits, bool missed) {
    entered = true;
    while (!release.load()) std::this_thread::yield();  // the consumer is stuck
    std::lock_guard lock(mu);
    deliveries.emplace_back(commits.front()->events[0].seq, missed);
  });
  bus.publish(commit(0, 1));  // taken by the dispatcher, which then blocks
  ASSERT_TRUE(test::eventually([&] { return entered.load(); }));
  for (int i = 1; i <= 20; ++i) bus.publish(commit(i, 1));  // 20 events against a bound of 10
  EXPECT_EQ(bus.dropped_commits(), 10u);
  release = true;
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mu);
    return deliveries.size() == 2;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(deliveries[1].first, 11) << "the newest commits are kept";
  EXPECT_TRUE(deliveries[1].second) << "and the consumer learns it missed some";
}

}  // namespace
}  // namespace agentlog::bus
