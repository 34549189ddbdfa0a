#include "api/stream.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <regex>

#include "pipeline/pipeline.h"
#include "testing/builders.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"
#include "testing/sqlite_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace agentlog::api {
namespace {

using test::make_event;

// Reads a stream the way the socket layer does, collecting everything it yields.
class Reader {
 public:
  explicit Reader(std::shared_ptr<BodyStream> s) : stream_(std::move(s)) {
    stream_->start([this] {
      std::lock_guard lock(mu_);
      ++wakes_;
    });
  }
  ~Reader() { stream_->close(); }
  // Drains what is ready; false once the stream ended.
  bool poll(bool idle = false) {
    std::string out;
    const bool more = stream_->take(out, idle);
    std::lock_guard lock(mu_);
    text_ += out;
    return more;
  }
  std::string text() {
    std::lock_guard lock(mu_);
    return text_;
  }
  // Ids ("id: N") of the event messages received so far, in order.
  std::vector<int64_t> ids() {
    std::vector<int64_t> out;
    const std::string t = text();
    static const std::regex re("id: ([0-9]+)\nevent: event\n");
    for (auto it = std::sregex_iterator(t.begin(), t.end(), re); it != std::sregex_iterator(); ++it) {
      out.push_back(std::stoll((*it)[1]));
    }
    return out;
  }
  int count(std::string_view needle) {
    const std::string t = text();
    int n = 0;
    for (size_t p = t.find(needle); p != std::string::npos; p = t.find(needle, p + 1)) ++n;
    return n;
  }

 private:
  std::shared_ptr<BodyStream> stream_;
  std::mutex mu_;
  std::string text_;
  int wakes_ = 0;
};

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = test::open_sqlite_store(dir_.path());
    ASSERT_NE(store_, nullptr);
    project_ = store_->find_project("default")->id;
    pipeline_ = std::make_unique<pipeline::Pipeline>(*store_, &bus_, pipeline::Limits{}, metrics_, clock_);
    pipeline_->start();
  }
  void TearDown() override {
    pipeline_->drain();
    bus_.stop();
  }
  // Ingests through the pipeline (and so the bus), waiting for the commit.
  void ingest(std::vector<model::Event> events, std::vector<model::SessionPatch> sessions = {}) {
    std::promise<Status> done;
    auto f = done.get_future();
    ASSERT_EQ(pipeline_->submit(test::make_batch(project_, std::move(events), std::move(sessions)), 100,
                                [&](const Status& s) { done.set_value(s); }),
              pipeline::Admission::kQueued);
    ASSERT_TRUE(test::IsOk(f.get()));
  }
  StreamFilter all() {
    StreamFilter f;
    f.project_id = project_;
    return f;
  }
  std::shared_ptr<BodyStream> open(StreamHub& hub, const StreamFilter& f, std::optional<int64_t> after = {}) {
    auto s = hub.open(f, after);
    EXPECT_TRUE(test::IsOk(s));
    return s.is_ok() ? *s : nullptr;
  }

  test::TempDir dir_;
  test::FakeClock clock_;
  Metrics metrics_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  bus::InProcessBus bus_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  int64_t project_ = 0;
};

TEST_F(StreamHubTest, DeliversCommittedEventsAndSessionChanges) {
  StreamHub hub(*store_, bus_);
  Reader r(open(hub, all()));
  r.poll();
  EXPECT_NE(r.text().find("retry: "), std::string::npos) << "tells EventSource how fast to reconnect";
  ingest({make_event("e1", "s1", test::kT0), make_event("e2", "s1", test::kT0 + 1)});
  ASSERT_TRUE(test::eventually([&] {
    r.poll();
    return r.count("event: session\n") == 1;
  })) << r.text();
  EXPECT_EQ(r.ids().size(), 2u);
  EXPECT_NE(r.text().find("\"id\":\"e1\""), std::string::npos);
  EXPECT_NE(r.text().find("\"event_count\":2"), std::string::npos) << "the session as committed, rollups included";
}

TEST_F(StreamHubTest, FiltersBySessionAgentTypeAndKind) {
  StreamHub hub(*store_, bus_);
  StreamFilter by_session = all();
  by_session.session_id = "s2";
  StreamFilter by_type = all();
  by_type.type = model::EventType::kTool;
  by_type.sessions = false;
  StreamFilter by_agent = all();
  by_agent.agent = "coder";
  by_agent.events = false;
  StreamFilter other = all();
  other.project_id = project_ + 100;
  Reader rs(open(hub, by_session)), rt(open(hub, by_type)), ra(open(hub, by_agent)), ro(open(hub, other));
  model::Event tool = make_event("t", "s1", test::kT0);
  tool.type = model::EventType::kTool;
  model::Event coder = make_event("c", "s2", test::kT0);
  coder.agent = "coder";
  ingest({tool, coder});
  ingest({make_event("last", "s3", test::kT0)});  // everyone has seen the first commit once this one shows
  StreamFilter everything = all();
  ASSERT_TRUE(test::eventually([&] {
    for (Reader* r : {&rs, &rt, &ra, &ro}) r->poll();
    return rs.count("\"id\":\"s2\"") >= 1 && rt.ids().size() == 1 && ra.count("event: session") == 1;
  }));
  EXPECT_EQ(rs.ids().size(), 1u) << rs.text();
  EXPECT_EQ(rt.count("event: session"), 0) << "sessions excluded";
  EXPECT_NE(rt.text().find("\"id\":\"t\""), std::string::npos);
  EXPECT_EQ(ra.ids().size(), 0u) << "events excluded";
  EXPECT_NE(ra.text().find("\"agent\":\"coder\""), std::string::npos);
  EXPECT_EQ(ro.ids().size(), 0u) << "another project sees nothing";
  EXPECT_EQ(ro.count("event: session"), 0);
}

TEST_F(StreamHubTest, ResumesAfterALastEventIdWithoutGapsOrDuplicates) {
  StreamHub hub(*store_, bus_);
  ingest({make_event("a", "s", test::kT0)});
  ingest({make_event("b", "s", test::kT0), make_event("c", "s", test::kT0)});
  const int64_t seq_a = store_->get_event(project_, "a")->seq;
  Reader r(open(hub, all(), seq_a));
  ingest({make_event("d", "s", test::kT0)});
  const int64_t seq_d = store_->get_event(project_, "d")->seq;
  ASSERT_TRUE(test::eventually([&] {
    r.poll();
    return !r.ids().empty() && r.ids().back() == seq_d;
  })) << r.text();
  const std::vector<int64_t> ids = r.ids();
  ASSERT_EQ(ids.size(), 3u) << r.text();
  EXPECT_EQ(ids[0], seq_a + 1);
  EXPECT_EQ(ids[1], seq_a + 2);
}

TEST_F(StreamHubTest, TooFarBehindGetsAResetInsteadOfAnEndlessReplay) {
  StreamHubTest::ingest({make_event("a", "s", test::kT0), make_event("b", "s", test::kT0),
                         make_event("c", "s", test::kT0)});
  StreamHub hub(*store_, bus_, StreamLimits{1 << 20, 2});
  Reader r(open(hub, all(), 0));
  r.poll();
  EXPECT_EQ(r.count("event: reset\n"), 1) << r.text();
  ingest({make_event("d", "s", test::kT0)});
  const int64_t seq_d = store_->get_event(project_, "d")->seq;
  ASSERT_TRUE(test::eventually([&] {
    r.poll();
    return !r.ids().empty() && r.ids().back() == seq_d;
  })) << "live events keep coming after the reset: " << r.text();
  // Nothing is replayed before the reset; live messages (which may repeat what the client
  // then reloads: it merges by id) only follow it.
  EXPECT_LT(r.text().find("event: reset\n"), r.text().find("event: event\n")) << r.text();
}

TEST_F(StreamHubTest, ASlowClientIsDroppedWithoutAffectingOthers) {
  StreamHub hub(*store_, bus_, StreamLimits{4096, 100});
  auto slow = open(hub, all());  // never read
  Reader fast(open(hub, all()));
  slow->start([] {});
  // Each commit fits the buffer; a client that keeps reading keeps up, one that doesn't fills up.
  for (size_t i = 0; i < 25; ++i) {
    ingest({make_event("e" + std::to_string(i), "s", test::kT0)});
    ASSERT_TRUE(test::eventually([&] {
      fast.poll();
      return fast.ids().size() == i + 1;
    }));
  }
  std::string out;
  EXPECT_FALSE(slow->take(out, false)) << "the slow client's stream ended";
  EXPECT_GE(hub.dropped_clients(), 1u);
  EXPECT_EQ(hub.clients(), 1u);
  slow->close();
}

TEST_F(StreamHubTest, IdleStreamsGetKeepAlivesAndCloseAllEndsThem) {
  StreamHub hub(*store_, bus_);
  Reader r(open(hub, all()));
  r.poll();
  EXPECT_TRUE(r.poll(true));
  EXPECT_NE(r.text().find(": ping\n\n"), std::string::npos);
  hub.close_all();
  EXPECT_FALSE(r.poll());
  EXPECT_FALSE(test::IsOk(hub.open(all(), std::nullopt))) << "no new streams while stopping";
}

}  // namespace
}  // namespace agentlog::api
