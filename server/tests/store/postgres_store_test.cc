// Runs the storage conformance suite against PostgreSQL, plus what only a shared database
// has to get right: several writers (replicas) at once, sequence numbers in commit order,
// partitions, and values PostgreSQL stores differently.
//
// Needs a server: AGENTLOG_TEST_DATABASE_URL (a role allowed to CREATE DATABASE; each test
// gets a database of its own, dropped afterwards). `make unit` starts one with
// scripts/services.sh. Without the variable every PostgreSQL test FAILS, unless
// AGENTLOG_SKIP_POSTGRES=1 says to skip them (reported as skipped, never silent).
#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_conformance.h"
#include "testing/builders.h"
#include "testing/fake_clock.h"
#include "testing/json.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace agentlog::store::postgres {
namespace {

using model::Event;
using model::EventQuery;
using model::EventType;
using test::IsOk;
using test::kSecond;
using test::kT0;
using test::make_batch;
using test::make_event;

bool skip_postgres() {
  const char* v = std::getenv("AGENTLOG_SKIP_POSTGRES");
  return v && std::string_view(v) == "1";
}

std::optional<std::string> admin_url() {
  const char* v = std::getenv("AGENTLOG_TEST_DATABASE_URL");
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

constexpr const char* kMissing =
    "AGENTLOG_TEST_DATABASE_URL is not set: the PostgreSQL store tests need a server (run `make "
    "unit`, which "
    "starts one with scripts/services.sh, or point the variable at a role that may CREATE "
    "DATABASE). Set "
    "AGENTLOG_SKIP_POSTGRES=1 to skip them deliberately.";

// The URL of database `db` on the server of `url` (a postgres:// URI or a key=value string).
std::string with_database(const std::string& url, const std::string& db) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + db;
  const size_t path = url.find('/', scheme + 3);
  const size_t query = url.find('?', scheme + 3);
  const std::string head = url.substr(0, std::min(path, query));
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + db + tail;
}

// Databases created by this process, dropped when it ends (each ctest case is a process).
class Databases : public ::testing::Environment {
 public:
  static Databases& instance() {
    static Databases* d = [] {
      auto* env = new Databases;
      ::testing::AddGlobalTestEnvironment(env);  // gtest owns it
      return env;
    }();
    return *d;
  }

  // Creates an empty database named after `tmpdir` and returns its URL.
  Result<std::string> create(const std::string& tmpdir) {
    auto url = admin_url();
    if (!url) return Status::unavailable(kMissing);
    std::string name = "al_" + std::filesystem::path(tmpdir).filename().string();
    for (char& c : name)
      c = static_cast<char>(std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_');
    auto admin = PgConn::connect(*url);
    if (!admin.is_ok()) return admin.status();
    if (auto r = admin->exec("CREATE DATABASE " + name); !r.is_ok()) return r.status();
    {
      std::lock_guard lock(mu_);
      names_.push_back(name);
    }
    return with_database(*url, name);
  }

  void TearDown() override {
    auto url = admin_url();
    if (!url) return;
    auto admin = PgConn::connect(*url);
    if (!admin.is_ok()) return;
    std::lock_guard lock(mu_);
    for (const auto& n : names_)
      (void)admin->exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)");
    names_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> names_;
};

// A fresh database and a store opened on it (not migrated).
std::unique_ptr<PostgresStore> open_fresh(const std::string& tmpdir,
                                          std::string* url_out = nullptr) {
  auto url = Databases::instance().create(tmpdir);
  if (!url.is_ok()) {
    ADD_FAILURE() << url.status().message();
    return nullptr;
  }
  if (url_out) *url_out = *url;
  PostgresOptions o;
  o.url = *url;
  o.readers = 2;
  auto store = PostgresStore::open(o);
  if (!store.is_ok()) {
    ADD_FAILURE() << "open " << *url << ": " << store.status().message();
    return nullptr;
  }
  return std::move(store).value();
}

std::unique_ptr<PostgresStore> open_url(const std::string& url, int readers = 2) {
  PostgresOptions o;
  o.url = url;
  o.readers = readers;
  auto store = PostgresStore::open(o);
  if (!store.is_ok()) {
    ADD_FAILURE() << store.status().message();
    return nullptr;
  }
  auto s = std::move(store).value();
  if (const Status m = s->migrate(); !m.is_ok()) {
    ADD_FAILURE() << "migrate: " << m.message();
    return nullptr;
  }
  return s;
}

std::unique_ptr<Store> make_postgres(const std::string& tmpdir) { return open_fresh(tmpdir); }

std::vector<conformance::StoreBackend> postgres_backends() {
  if (skip_postgres()) {
    std::fprintf(
        stderr,
        "note: AGENTLOG_SKIP_POSTGRES=1: the PostgreSQL store conformance suite is skipped\n");
    return {};
  }
  return {conformance::StoreBackend{"postgres", make_postgres}};
}

}  // namespace
}  // namespace agentlog::store::postgres

namespace agentlog::store::conformance {
// Empty (no PostgreSQL cases) only when skipping was asked for; PostgresBackend.Available
// then reports the skip.
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::ValuesIn(postgres::postgres_backends()), StoreBackendName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformanceTest);
}  // namespace agentlog::store::conformance

namespace agentlog::store::postgres {
namespace {

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (skip_postgres()) GTEST_SKIP() << "AGENTLOG_SKIP_POSTGRES=1";
    ASSERT_TRUE(admin_url().has_value()) << kMissing;
    auto first = open_fresh(dir_.path(), &url_);
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(IsOk(first->migrate()));
    store_ = std::move(first);
    auto p = store_->find_project("default");
    ASSERT_TRUE(IsOk(p));
    project_ = p->id;
  }

  Status write(PostgresStore& s, std::vector<Event> events) {
    const model::WriteBatch b = make_batch(project_, std::move(events));
    const model::WriteBatch* batches[] = {&b};
    return s.write(batches, nullptr);
  }

  test::TempDir dir_;
  std::string url_;
  std::unique_ptr<PostgresStore> store_;
  int64_t project_ = 0;
};

TEST(PostgresBackend, Available) {
  if (skip_postgres())
    GTEST_SKIP() << "AGENTLOG_SKIP_POSTGRES=1: PostgreSQL store tests skipped on request";
  ASSERT_TRUE(admin_url().has_value()) << kMissing;
  auto admin = PgConn::connect(*admin_url());
  ASSERT_TRUE(IsOk(admin)) << admin.status().message();
  auto v = admin->exec("SHOW server_version_num");
  ASSERT_TRUE(IsOk(v));
  EXPECT_GE(v->int64(0, 0), 130000) << "PostgreSQL 13 or newer";
}

// Two replicas write concurrently while a third connection tails by sequence number the way
// the Redis bus does. Sequence numbers must follow commit order, so the tail never passes a
// number whose commit becomes visible later: it sees every event exactly once, in order.
TEST_F(PostgresStoreTest, TailByCursorNeverSkipsACommitOfAnotherReplica) {
  auto replica_a = open_url(url_);
  auto replica_b = open_url(url_);
  ASSERT_NE(replica_a, nullptr);
  ASSERT_NE(replica_b, nullptr);
  constexpr int kBatches = 40, kPerBatch = 25;
  std::atomic<int> writers_done{0};
  auto writer = [&](PostgresStore& s, const std::string& tag) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Event> events;
      for (int i = 0; i < kPerBatch; ++i) {
        events.push_back(make_event(tag + std::to_string(b) + "-" + std::to_string(i),
                                    tag + std::to_string(b % 3), kT0 + (b * kPerBatch + i) * 1000));
      }
      EXPECT_TRUE(IsOk(write(s, events)));
    }
    ++writers_done;
  };
  std::vector<int64_t> delivered;
  std::thread ta(writer, std::ref(*replica_a), "a");
  std::thread tb(writer, std::ref(*replica_b), "b");
  int64_t cursor = 0;
  for (;;) {
    const bool finished = writers_done.load() == 2;
    auto page = store_->tail(cursor, 100);
    ASSERT_TRUE(IsOk(page));
    for (const auto& t : *page) {
      delivered.push_back(t.event.seq);
      cursor = t.event.seq;
    }
    if (finished && page->empty()) break;
  }
  ta.join();
  tb.join();
  ASSERT_EQ(delivered.size(), static_cast<size_t>(2 * kBatches * kPerBatch))
      << "the tail skipped commits";
  for (size_t i = 1; i < delivered.size(); ++i) ASSERT_LT(delivered[i - 1], delivered[i]);
  auto last = store_->last_seq();
  ASSERT_TRUE(IsOk(last));
  EXPECT_EQ(*last, delivered.back());
}

// Both replicas re-send versions of the same events at once: one stored row per id, and
// rollups equal to a recount of what is stored.
TEST_F(PostgresStoreTest, ConcurrentResendsFromTwoReplicasKeepRollupsExact) {
  auto replica_a = open_url(url_);
  auto replica_b = open_url(url_);
  ASSERT_NE(replica_a, nullptr);
  ASSERT_NE(replica_b, nullptr);
  auto writer = [&](PostgresStore& s, int seed) {
    for (int round = 0; round < 30; ++round) {
      std::vector<Event> events;
      for (int i = 0; i < 20; ++i) {
        const int k = (round * 7 + i * 3 + seed) % 40;
        Event e = make_event("ev" + std::to_string(k), "s" + std::to_string((k + round + seed) % 3),
                             kT0 + ((k * 13 + round + seed) % 50) * kSecond);
        e.type = (k + seed) % 2 ? EventType::kLlm : EventType::kTool;
        e.usage = model::Usage{k + seed, round, k + seed + round, 0};
        e.cost_usd = (round % 4) * 0.25;
        if ((k + round) % 3 == 0) e.ended_at = e.started_at + (round + 1) * kSecond;
        events.push_back(std::move(e));
      }
      EXPECT_TRUE(IsOk(write(s, events)));
    }
  };
  std::thread ta(writer, std::ref(*replica_a), 0);
  std::thread tb(writer, std::ref(*replica_b), 1);
  ta.join();
  tb.join();

  std::map<std::string, std::vector<Event>> by_session;
  std::set<std::string> ids;
  for (const std::string sid : {"s0", "s1", "s2"}) {
    auto page = store_->session_events(project_, sid, 1000, std::nullopt);
    ASSERT_TRUE(IsOk(page));
    for (auto& se : page->items) {
      EXPECT_TRUE(ids.insert(se.event.id).second) << "event " << se.event.id << " stored twice";
      by_session[sid].push_back(se.event);
    }
  }
  EXPECT_EQ(ids.size(), 40u);
  for (const auto& [sid, events] : by_session) {
    auto s = store_->get_session(project_, sid);
    ASSERT_TRUE(IsOk(s));
    int64_t llm = 0, in = 0, total = 0;
    double cost = 0;
    Micros first = INT64_MAX, last = INT64_MIN;
    for (const Event& e : events) {
      llm += e.type == EventType::kLlm;
      in += e.usage->input_tokens;
      total += e.usage->total_tokens;
      cost += e.cost_usd.value_or(0);
      first = std::min(first, e.started_at);
      last = std::max(last, e.ended_at.value_or(e.started_at));
    }
    SCOPED_TRACE(sid);
    EXPECT_EQ(s->event_count, static_cast<int64_t>(events.size()));
    EXPECT_EQ(s->llm_count, llm);
    EXPECT_EQ(s->input_tokens, in);
    EXPECT_EQ(s->total_tokens, total);
    EXPECT_NEAR(s->cost_usd, cost, 1e-9);
    EXPECT_EQ(s->started_at, first);
    EXPECT_EQ(s->last_event_at, last);
  }
}

TEST_F(PostgresStoreTest, ResendIntoAnotherMonthMovesTheEventBetweenPartitions) {
  // Partitions exist from the month before the real clock's; far-off times use the default.
  const Micros now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const Micros far = 4102444800000000;  // 2100-01-01: the default partition
  Event e = make_event("moving", "s", now);
  e.name = "this month";
  ASSERT_TRUE(IsOk(write(*store_, {e})));
  e.started_at = far;
  e.name = "far future";
  ASSERT_TRUE(IsOk(write(*store_, {e})));
  e.started_at = now - 25LL * 86400 * kSecond;  // last month's partition
  e.name = "last month";
  ASSERT_TRUE(IsOk(write(*store_, {e})));
  auto admin = PgConn::connect(url_);
  ASSERT_TRUE(IsOk(admin));
  auto where = admin->exec(
      "SELECT tableoid::regclass::text, count(*) OVER () FROM events WHERE id = 'moving'");
  ASSERT_TRUE(IsOk(where));
  ASSERT_EQ(where->rows(), 1);
  EXPECT_NE(where->text(0, 0), "events_default");

  auto got = store_->get_event(project_, "moving");
  ASSERT_TRUE(IsOk(got));
  EXPECT_EQ(got->event.started_at, e.started_at);
  auto page = store_->session_events(project_, "s", 100, std::nullopt);
  ASSERT_TRUE(IsOk(page));
  EXPECT_EQ(page->items.size(), 1u);
  auto s = store_->get_session(project_, "s");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->event_count, 1);
  EXPECT_EQ(s->started_at, e.started_at);
  EXPECT_EQ(s->last_event_at, e.started_at);
}

// Retention removes whole months (and old rows of the default partition) with everything
// that refers to their events; what started at or after the cutoff stays untouched.
TEST_F(PostgresStoreTest, RetentionDropsWholeMonthsBeforeTheCutoff) {
  constexpr Micros kJan2020 = 1577836800000000;  // 2020-01-01T00:00:00Z
  constexpr Micros kMar2020 = 1583020800000000;  // 2020-03-01
  constexpr Micros kDay = 86400 * kSecond;
  auto admin = PgConn::connect(url_);
  ASSERT_TRUE(IsOk(admin));
  Params months;
  months.add(kJan2020).add(3);  // January to March 2020 get partitions of their own
  ASSERT_TRUE(IsOk(admin->exec("SELECT agentlog_ensure_event_partitions($1, $2)", months)));

  auto at = [](std::string id, std::string session, Micros t, int64_t tokens) {
    Event e = make_event(std::move(id), std::move(session), t);
    e.name = "word " + e.id;
    e.usage = model::Usage{tokens, 0, tokens, 0};
    return e;
  };
  ASSERT_TRUE(IsOk(write(*store_, {
                                      at("import", "ancient", kJan2020 - 400 * kDay, 1),  // default
                                      at("j1", "old", kJan2020 + kDay, 10),
                                      at("j2", "old", kJan2020 + 2 * kDay, 20),
                                      at("m1", "mixed", kJan2020 + 3 * kDay, 100),
                                      at("m2", "mixed", kMar2020 - kDay, 200),  // February
                                      at("m3", "mixed", kMar2020 + kDay, 400),  // March: stays
                                      at("x1", "ended-late", kJan2020 + kDay, 1),
                                  })));
  model::SessionPatch ended_late;
  ended_late.id = "ended-late";
  ended_late.ended_at = std::optional<Micros>(kMar2020 + 2 * kDay);
  ASSERT_TRUE(IsOk(store_->patch_session(project_, ended_late)));

  auto removed = store_->drop_events_before(kMar2020);
  ASSERT_TRUE(IsOk(removed));
  EXPECT_EQ(*removed, 6);

  for (const char* id : {"import", "j1", "j2", "m1", "m2", "x1"}) {
    EXPECT_EQ(store_->get_event(project_, id).status().code(), Status::Code::kNotFound) << id;
  }
  EXPECT_TRUE(IsOk(store_->get_event(project_, "m3")));
  EXPECT_EQ(store_->get_session(project_, "old").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->get_session(project_, "ancient").status().code(), Status::Code::kNotFound);
  auto mixed = store_->get_session(project_, "mixed");
  ASSERT_TRUE(IsOk(mixed));
  EXPECT_EQ(mixed->event_count, 1);
  EXPECT_EQ(mixed->total_tokens, 400);
  EXPECT_EQ(mixed->started_at, kMar2020 + kDay);
  EXPECT_EQ(mixed->last_event_at, kMar2020 + kDay);
  auto late = store_->get_session(project_, "ended-late");
  ASSERT_TRUE(IsOk(late)) << "ends after the cutoff: kept, without events";
  EXPECT_EQ(late->event_count, 0);

  auto parts = admin->exec(
      "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
      "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass "
      "AND c.relname LIKE 'events_2020%'");
  ASSERT_TRUE(IsOk(parts));
  EXPECT_EQ(parts->text(0, 0), "events_2020_03");

  // The keys went too: a re-sent old event is new again, and counted once.
  ASSERT_TRUE(IsOk(write(*store_, {at("j1", "old", kJan2020 + kDay, 10)})));
  auto again = store_->get_session(project_, "old");
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->event_count, 1);
  EventQuery q;
  q.project_id = project_;
  q.q = "word";
  auto found = store_->search_events(q);
  ASSERT_TRUE(IsOk(found));
  std::vector<std::string> ids;
  for (const auto& e : found->items) ids.push_back(e.event.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"j1", "m3"}));

  auto none = store_->drop_events_before(kJan2020 - 500 * kDay);
  ASSERT_TRUE(IsOk(none));
  EXPECT_EQ(*none, 0);
}

// Valid JSON that jsonb cannot hold as such, and text PostgreSQL cannot hold at all, must not
// fail the commit (it would fail every request of the group).
TEST_F(PostgresStoreTest, StoresWhatPostgresCannotRepresentVerbatim) {
  Event e = make_event("odd", "s", kT0);
  e.name = std::string("nul\0inside", 10);
  e.input_json = R"({"text":"a\u0000b","escaped":"\\u0000 stays","big":1e999999,"ok":1.5})";
  e.output_json = R"(["\u0000"])";
  Event fine = make_event("fine", "s", kT0 + 1);
  ASSERT_TRUE(IsOk(write(*store_, {e, fine})));
  auto got = store_->get_event(project_, "odd");
  ASSERT_TRUE(IsOk(got));
  EXPECT_EQ(got->event.name, "nul\xEF\xBF\xBDinside");
  EXPECT_TRUE(test::json_equal(
      *got->event.input_json,
      R"({"text":"a\ufffdb","escaped":"\\u0000 stays","big":"1e999999","ok":1.5})"))
      << *got->event.input_json;
  EXPECT_TRUE(test::json_equal(*got->event.output_json, R"(["\ufffd"])"))
      << *got->event.output_json;
  EXPECT_TRUE(IsOk(store_->get_event(project_, "fine")));
}

TEST_F(PostgresStoreTest, ReturnsCompactJson) {
  Event e = make_event("j", "s", kT0);
  e.input_json = R"({"b":[1,2,{"c":"x y"}],"a":"k: v, w"})";
  e.attributes_json = R"({"k":true})";
  ASSERT_TRUE(IsOk(write(*store_, {e})));
  auto got = store_->get_event(project_, "j");
  ASSERT_TRUE(IsOk(got));
  // jsonb orders keys (shorter first, then bytewise); strings keep their spaces.
  EXPECT_EQ(*got->event.input_json, R"({"a":"k: v, w","b":[1,2,{"c":"x y"}]})");
  EXPECT_EQ(got->event.attributes_json, R"({"k":true})");
}

TEST_F(PostgresStoreTest, ReplicasMigratingAtOnceBothSucceed) {
  test::TempDir other;
  std::string url;
  auto fresh = open_fresh(other.path(), &url);
  ASSERT_NE(fresh, nullptr);
  std::vector<std::unique_ptr<PostgresStore>> replicas;
  for (int i = 0; i < 3; ++i) {
    PostgresOptions o;
    o.url = url;
    o.readers = 1;
    auto s = PostgresStore::open(o);
    ASSERT_TRUE(IsOk(s));
    replicas.push_back(std::move(s).value());
  }
  std::vector<Status> results(replicas.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < replicas.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = replicas[i]->migrate(); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(IsOk(s)) << s.message();
  for (auto& r : replicas) EXPECT_TRUE(r->ready());
  auto projects = replicas[0]->list_projects();
  ASSERT_TRUE(IsOk(projects));
  EXPECT_EQ(projects->size(), 1u);
}

TEST_F(PostgresStoreTest, RefusesADatabaseNewerThanTheBinary) {
  auto admin = PgConn::connect(url_);
  ASSERT_TRUE(IsOk(admin));
  ASSERT_TRUE(
      IsOk(admin->exec("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 0)")));
  const Status s = store_->migrate();
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("newer"), std::string::npos) << s.message();
  EXPECT_FALSE(store_->ready());
}

TEST_F(PostgresStoreTest, ReconnectsAfterItsConnectionsAreKilled) {
  ASSERT_TRUE(IsOk(write(*store_, {make_event("before", "s", kT0)})));
  auto admin = PgConn::connect(url_);
  ASSERT_TRUE(IsOk(admin));
  ASSERT_TRUE(
      IsOk(admin->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")));
  EXPECT_TRUE(IsOk(write(*store_, {make_event("after", "s", kT0 + 1)})));
  EXPECT_TRUE(IsOk(store_->get_event(project_, "before")));
  auto s = store_->get_session(project_, "s");
  ASSERT_TRUE(IsOk(s));
  EXPECT_EQ(s->event_count, 2);
}

TEST(PgText, CopyEscapesAndJsonHelpers) {
  CopyBuffer b;
  b.field(std::string_view("a\tb\\c\nd\re")).field(int64_t{-5}).null().end_row();
  EXPECT_EQ(b.data(), "a\\tb\\\\c\\nd\\re\t-5\t\\N\n");
  EXPECT_EQ(compact_json(R"({"a": [1, 2], "b": "x: y, z \" q"})"),
            R"({"a":[1,2],"b":"x: y, z \" q"})");
  EXPECT_EQ(jsonb_safe(R"(["\u0000", "\\u0000", 1e5, -2E+200000])"),
            R"(["\ufffd", "\\u0000", 1e5, "-2E+200000"])");
  EXPECT_EQ(jsonb_safe("{}"), "{}");
}

TEST(PgText, Int64PlaceholdersAreFilledInPlace) {
  CopyBuffer b;
  const size_t at = b.int64_placeholder();
  b.field(std::string_view("x")).end_row();
  b.fill_int64(at, 1234567);
  EXPECT_EQ(b.data(), "0000000000001234567\tx\n");
  b.fill_int64(at, 9223372036854775807);
  EXPECT_EQ(b.data(), "9223372036854775807\tx\n");
}

// The words both backends index: SQLite's unicode61 tokenizer (remove_diacritics 2).
TEST(SearchWords, FoldsCaseAndAccentsAndSplitsAtPunctuation) {
  auto words = SearchWords::create();
  ASSERT_TRUE(IsOk(words));
  std::string tsv;
  (*words)->tsvector("Crème BRÛLÉE, gpt-4o: it's user@example.com — crème", tsv);
  EXPECT_EQ(tsv, "'4o' 'brulee' 'com' 'creme' 'example' 'gpt' 'it' 's' 'user'");
  tsv.clear();
  (*words)->tsvector("", tsv);
  EXPECT_EQ(tsv, "");
  EXPECT_EQ((*words)->tsquery("Zebra  crossing!"), "'zebra' & 'crossing':*");
  EXPECT_EQ((*words)->tsquery("BRÛ"), "'bru':*");
  EXPECT_EQ((*words)->tsquery("\"unbalanced AND (((*"), "'unbalanced' & 'and':*");
  EXPECT_EQ((*words)->tsquery("-- !!"), "") << "no word";
}

TEST(SearchWords, LeavesOutWordsLongerThanALexeme) {
  auto words = SearchWords::create();
  ASSERT_TRUE(IsOk(words));
  const std::string huge(3000, 'x');
  std::string tsv;
  (*words)->tsvector("short " + huge + " word", tsv);
  EXPECT_EQ(tsv, "'short' 'word'");
  EXPECT_EQ((*words)->tsquery("short " + huge), "") << "nothing indexed can match it";
}

TEST(SearchWords, QuotesLexemes) {
  std::string out;
  append_lexeme(out, "it's a \\ b");
  EXPECT_EQ(out, "'it''s a \\\\ b'");
}

// Words the index cannot hold must not fail the commit; the rest stays searchable.
TEST_F(PostgresStoreTest, IndexesEventsWithOverlongWords) {
  Event e = make_event("long", "s", kT0);
  e.name = "needle " + std::string(5000, 'y');
  e.input_json = R"({"text":")" + std::string(600 * 1024, 'z') + R"( tail"})";
  ASSERT_TRUE(IsOk(write(*store_, {e})));
  EventQuery q;
  q.project_id = project_;
  q.q = "needle";
  auto page = store_->search_events(q);
  ASSERT_TRUE(IsOk(page));
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].event.id, "long");
}

}  // namespace
}  // namespace agentlog::store::postgres
