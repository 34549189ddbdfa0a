#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "testing/builders.h"
#include "testing/fake_clock.h"
#include "testing/sqlite_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace agentlog::pipeline {
namespace {

using model::Event;
using model::WriteBatch;
using test::IsOk;
using test::kSecond;
using test::kT0;
using test::make_event;

// Collects completion statuses from the writer thread.
class Completions {
 public:
  Completion callback() {
    return [this](const Status& s) {
      std::lock_guard lock(mu_);
      statuses_.push_back(s);
      cv_.notify_all();
    };
  }
  // Waits (bounded) until at least n completions arrived; returns how many did.
  size_t wait_for(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return statuses_.size() >= n; });
    return statuses_.size();
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return statuses_.size();
  }
  size_t ok_count() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& s : statuses_) n += s.is_ok() ? 1 : 0;
    return n;
  }
  std::vector<Status> statuses() {
    std::lock_guard lock(mu_);
    return statuses_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Status> statuses_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test::open_sqlite_store(dir_.path());
    ASSERT_NE(store_, nullptr);
    auto p = store_->find_project("default");
    ASSERT_TRUE(IsOk(p));
    project_ = p->id;
  }

  // `n` events with ids prefix-0..prefix-(n-1) in session `session`.
  WriteBatch batch(const std::string& prefix, int n, const std::string& session = "s") const {
    std::vector<Event> events;
    for (int i = 0; i < n; ++i)
      events.push_back(make_event(prefix + "-" + std::to_string(i), session, kT0 + i));
    return test::make_batch(project_, std::move(events));
  }
  bool stored(const std::string& id) { return store_->get_event(project_, id).is_ok(); }
  uint64_t commits() {
    std::string out;
    metrics_.commit_duration().render(out, "c");
    const size_t at = out.find("c_count ");
    return at == std::string::npos ? 0 : std::stoull(out.substr(at + 8));
  }

  test::TempDir dir_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  Metrics metrics_;
  test::FakeClock clock_;
  int64_t project_ = 0;
};

Limits limits(size_t events, size_t bytes) {
  Limits l;
  l.max_queued_events = events;
  l.max_queued_bytes = bytes;
  return l;
}

TEST_F(PipelineTest, CompletesOnlyAfterTheBatchIsReadable) {
  Pipeline pipeline(*store_, nullptr, Limits{}, metrics_, clock_);
  pipeline.start();
  std::atomic<int> visible_events{-1};
  std::atomic<int64_t> session_count{-1};
  Completions done;
  WriteBatch b = batch("e", 3, "committed");
  b.sessions.push_back(test::make_patch("announced"));
  ASSERT_EQ(pipeline.submit(std::move(b), 100,
                            [&, cb = done.callback()](const Status& s) {
                              // Runs on the writer thread: everything must already be committed.
                              visible_events =
                                  static_cast<int>(stored("e-0")) + stored("e-1") + stored("e-2");
                              auto session = store_->get_session(project_, "committed");
                              session_count = session.is_ok() ? session->event_count : -2;
                              if (!store_->get_session(project_, "announced").is_ok())
                                session_count = -3;
                              cb(s);
                            }),
            Admission::kQueued);
  ASSERT_EQ(done.wait_for(1), 1u);
  EXPECT_TRUE(IsOk(done.statuses()[0]));
  EXPECT_EQ(visible_events.load(), 3);
  EXPECT_EQ(session_count.load(), 3);
  EXPECT_EQ(metrics_.ingested_total(), 3u);
}

TEST_F(PipelineTest, RefusesWhenQueuedEventsWouldExceedTheBound) {
  Pipeline pipeline(*store_, nullptr, limits(10, 1 << 20), metrics_,
                    clock_);  // not started: the queue only fills
  Completions done, refused;
  EXPECT_EQ(pipeline.submit(batch("a", 6), 10, done.callback()), Admission::kQueued);
  EXPECT_EQ(pipeline.submit(batch("b", 5), 10, refused.callback()), Admission::kQueueFull);
  EXPECT_EQ(pipeline.submit(batch("c", 4), 10, done.callback()), Admission::kQueued)
      << "exactly at the bound";
  EXPECT_EQ(pipeline.submit(batch("d", 1), 10, refused.callback()), Admission::kQueueFull);

  pipeline.start();
  ASSERT_EQ(done.wait_for(2), 2u);
  pipeline.drain();
  EXPECT_EQ(done.ok_count(), 2u);
  EXPECT_EQ(refused.count(), 0u) << "a refused request is never completed";
  EXPECT_TRUE(stored("a-5"));
  EXPECT_TRUE(stored("c-3"));
  EXPECT_FALSE(stored("b-0"));
  EXPECT_FALSE(stored("d-0"));
}

TEST_F(PipelineTest, RefusesWhenQueuedBytesWouldExceedTheBound) {
  Pipeline pipeline(*store_, nullptr, limits(1000, 1000), metrics_, clock_);
  Completions done, refused;
  EXPECT_EQ(pipeline.submit(batch("a", 1), 600, done.callback()), Admission::kQueued);
  EXPECT_EQ(pipeline.submit(batch("b", 1), 500, refused.callback()), Admission::kQueueFull);
  EXPECT_EQ(pipeline.submit(batch("c", 1), 400, done.callback()), Admission::kQueued);
  EXPECT_EQ(pipeline.submit(batch("d", 1), 1, refused.callback()), Admission::kQueueFull);
  pipeline.start();
  ASSERT_EQ(done.wait_for(2), 2u);
  pipeline.drain();
  EXPECT_EQ(refused.count(), 0u);
  EXPECT_FALSE(stored("b-0"));
}

TEST_F(PipelineTest, AdmitsAnOversizedBatchIntoAnEmptyQueue) {
  Pipeline pipeline(*store_, nullptr, limits(5, 100), metrics_, clock_);
  pipeline.start();
  Completions done;
  ASSERT_EQ(pipeline.submit(batch("big", 50), 10000, done.callback()), Admission::kQueued);
  ASSERT_EQ(done.wait_for(1), 1u);
  EXPECT_TRUE(IsOk(done.statuses()[0]));
  auto s = store_->get_session(project_, "s");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->event_count, 50) << "committed whole";
  // Capacity comes back after the commit: the next oversized request is admitted too.
  ASSERT_EQ(pipeline.submit(batch("big2", 50), 10000, done.callback()), Admission::kQueued);
  ASSERT_EQ(done.wait_for(2), 2u);
  EXPECT_TRUE(stored("big2-49"));
}

TEST_F(PipelineTest, CommitsGroupsOfBoundedSize) {
  Limits l;
  l.max_group_events = 10;
  Pipeline pipeline(*store_, nullptr, l, metrics_, clock_);
  Completions done;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(pipeline.submit(batch("g" + std::to_string(i), 4), 10, done.callback()),
              Admission::kQueued);
  }
  ASSERT_EQ(pipeline.submit(batch("huge", 25), 10, done.callback()), Admission::kQueued);
  pipeline.start();
  ASSERT_EQ(done.wait_for(6), 6u);
  EXPECT_EQ(done.ok_count(), 6u);
  // 4+4 | 4+4 | 4 | 25: a group never exceeds 10 events unless one request alone does.
  EXPECT_EQ(commits(), 4u);
  EXPECT_EQ(metrics_.ingested_total(), 45u);
}

TEST_F(PipelineTest, DrainCommitsEverythingQueuedThenRefuses) {
  Pipeline pipeline(*store_, nullptr, Limits{}, metrics_, clock_);
  Completions done;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(pipeline.submit(batch("q" + std::to_string(i), 3), 10, done.callback()),
              Admission::kQueued);
  }
  pipeline.start();
  pipeline.drain();  // returns once the writer is done: no waiting needed
  EXPECT_EQ(done.count(), 5u);
  EXPECT_EQ(done.ok_count(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(stored("q" + std::to_string(i) + "-2")) << i;

  Completions late;
  EXPECT_EQ(pipeline.submit(batch("late", 1), 10, late.callback()), Admission::kDraining);
  pipeline.drain();  // idempotent
  EXPECT_EQ(late.count(), 0u);
  EXPECT_FALSE(stored("late-0"));
}

TEST_F(PipelineTest, FailedCommitCompletesWithAnErrorAndKeepsRunning) {
  Pipeline pipeline(*store_, nullptr, Limits{}, metrics_, clock_);
  pipeline.start();
  Completions first;
  ASSERT_EQ(pipeline.submit(batch("x", 1), 10, first.callback()), Admission::kQueued);
  ASSERT_EQ(first.wait_for(1), 1u);

  // A server-generated id promises that no earlier version exists; breaking the promise
  // makes the store fail the transaction.
  WriteBatch bad = batch("fresh", 2);
  Event clash = make_event("x-0", "s", kT0);
  clash.client_id = false;
  bad.events.push_back(clash);
  Completions failed;
  ASSERT_EQ(pipeline.submit(std::move(bad), 10, failed.callback()), Admission::kQueued);
  ASSERT_EQ(failed.wait_for(1), 1u);
  EXPECT_FALSE(failed.statuses()[0].is_ok());
  EXPECT_FALSE(stored("fresh-0")) << "the failed transaction left nothing behind";
  EXPECT_EQ(store_->get_session(project_, "s")->event_count, 1);

  Completions after;
  ASSERT_EQ(pipeline.submit(batch("after", 2), 10, after.callback()), Admission::kQueued);
  ASSERT_EQ(after.wait_for(1), 1u);
  EXPECT_TRUE(IsOk(after.statuses()[0]));
  EXPECT_TRUE(stored("after-1"));
}

// Eight threads submit concurrently into a queue small enough to push back. Each re-sends
// its own ids several times (moving them between sessions and changing their usage), so
// the final state is known exactly: the last version each thread sent.
TEST_F(PipelineTest, ConcurrentSubmittersGiveExactResults) {
  constexpr int kThreads = 8, kSubmits = 40, kPerBatch = 25, kIdsPerThread = 100;
  Pipeline pipeline(*store_, nullptr, limits(400, 64 << 20), metrics_, clock_);
  pipeline.start();

  auto version = [](int t, int i, int j) {
    const int k = (i * kPerBatch + j) % kIdsPerThread;
    Event e =
        make_event("t" + std::to_string(t) + "-" + std::to_string(k),
                   (i + k) % 3 == 0 ? "shared" : "own-" + std::to_string(t), kT0 + k * kSecond);
    e.type = (i + j) % 2 == 0 ? model::EventType::kLlm : model::EventType::kTool;
    e.usage = model::Usage{i + 1, 2 * (i + 1), 3 * (i + 1), 0};
    return e;
  };

  Completions done;
  std::atomic<int> full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSubmits; ++i) {
        std::vector<Event> events;
        for (int j = 0; j < kPerBatch; ++j) events.push_back(version(t, i, j));
        for (;;) {
          const Admission a =
              pipeline.submit(test::make_batch(project_, events), 1000, done.callback());
          if (a == Admission::kQueued) break;
          ASSERT_EQ(a, Admission::kQueueFull);
          ++full;
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(done.wait_for(kThreads * kSubmits), static_cast<size_t>(kThreads * kSubmits));
  EXPECT_EQ(done.ok_count(), static_cast<size_t>(kThreads * kSubmits));

  std::map<std::string, Event> latest;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSubmits; ++i) {
      for (int j = 0; j < kPerBatch; ++j) {
        Event e = version(t, i, j);
        latest[e.id] = e;
      }
    }
  }
  struct Expected {
    int64_t events = 0, llm = 0, tools = 0, input = 0, total = 0;
  };
  std::map<std::string, Expected> expected;
  for (const auto& [id, e] : latest) {
    Expected& x = expected[e.session_id];
    ++x.events;
    x.llm += e.type == model::EventType::kLlm;
    x.tools += e.type == model::EventType::kTool;
    x.input += e.usage->input_tokens;
    x.total += e.usage->total_tokens;
  }
  ASSERT_EQ(latest.size(), static_cast<size_t>(kThreads * kIdsPerThread));
  for (const auto& [sid, x] : expected) {
    SCOPED_TRACE(sid);
    auto s = store_->get_session(project_, sid);
    ASSERT_TRUE(IsOk(s));
    EXPECT_EQ(s->event_count, x.events);
    EXPECT_EQ(s->llm_count, x.llm);
    EXPECT_EQ(s->tool_count, x.tools);
    EXPECT_EQ(s->input_tokens, x.input);
    EXPECT_EQ(s->total_tokens, x.total);
  }
  for (const auto& [id, e] : latest) {
    auto got = store_->get_event(project_, id);
    ASSERT_TRUE(IsOk(got)) << id;
    EXPECT_EQ(got->event.session_id, e.session_id) << id;
    EXPECT_EQ(got->event.usage->input_tokens, e.usage->input_tokens) << id;
  }
  EXPECT_EQ(metrics_.ingested_total(), static_cast<uint64_t>(kThreads * kSubmits * kPerBatch));
  std::string rendered;
  metrics_.render(rendered, clock_.now());
  EXPECT_NE(rendered.find("agentlog_ingest_queue_events 0\n"), std::string::npos)
      << "the queue is empty again";
  RecordProperty("queue_full_retries", full.load());
}

}  // namespace
}  // namespace agentlog::pipeline
