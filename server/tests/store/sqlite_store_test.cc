// Runs the storage conformance suite against the embedded SQLite backend, plus what only
// this backend does.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/search_indexer.h"
#include "store/store_conformance.h"
#include "testing/builders.h"
#include "testing/eventually.h"
#include "testing/sqlite_store.h"
#include "testing/temp_dir.h"

namespace agentlog::store::sqlite {
extern const std::pair<std::string_view, std::string_view> kMigrations[];
extern const std::size_t kMigrationsCount;
}  // namespace agentlog::store::sqlite

namespace agentlog::store::conformance {
namespace {

std::unique_ptr<Store> make_sqlite(const std::string& tmpdir) {
  sqlite::SqliteOptions options;
  options.data_dir = tmpdir;
  options.readers = 2;
  options.background = true;  // the search indexer: full-text tests need it
  auto store = sqlite::SqliteStore::open(options);
  if (!store.is_ok()) {
    ADD_FAILURE() << "open sqlite store in " << tmpdir << ": " << store.status().message();
    return nullptr;
  }
  return std::move(store).value();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(StoreBackend{"sqlite", make_sqlite}), StoreBackendName);

// The SQLite backend keeps one copy of a shared attributes suffix per project
// (0004_attribute_suffixes.sql): rows hold only their own part.
TEST(SqliteStoreTest, KeepsOneCopyOfASharedAttributesSuffix) {
  test::TempDir dir;
  auto store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  auto projects = store->list_projects();
  ASSERT_TRUE(projects.is_ok() && !projects->empty());
  const int64_t project = projects->front().id;
  const std::string shared =
      R"("otel.scope":{"name":"opentelemetry.instrumentation.openai_v2","version":"2.1b0"},)"
      R"("otel.resource":{"service.name":"support-agent","deployment.environment":"production"}})";
  std::vector<model::WriteBatch> batches(2);
  for (int i = 0; i < 6; ++i) {
    model::Event e = test::make_event("e" + std::to_string(i), "s", 1'767'225'600'000'000 + i);
    e.attributes_json = R"({"i":)" + std::to_string(i) + "," + shared;
    e.attributes_shared_suffix = shared.size();
    batches[i / 3].project_id = project;
    batches[i / 3].events.push_back(e);
  }
  for (const auto& b : batches) {  // two commits: the second finds the stored copy
    const model::WriteBatch* one[] = {&b};
    std::vector<int64_t> seqs;
    ASSERT_TRUE(store->write(one, &seqs).is_ok());
  }
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir.path() + "/agentlog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW) << sql;
    std::string v(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return v;
  };
  EXPECT_EQ(scalar("SELECT count(*) FROM attribute_suffixes"), "1");
  EXPECT_EQ(scalar("SELECT text FROM attribute_suffixes"), shared);
  EXPECT_EQ(scalar("SELECT count(*) FROM events WHERE attributes_suffix = (SELECT id FROM attribute_suffixes)"), "6");
  EXPECT_EQ(scalar("SELECT attributes FROM events WHERE id = 'e4'"), R"({"i":4,)");
  sqlite3_close(db);
}

// Runs SQL on a raw connection; returns the first column of the first row, if any.
std::string sql(sqlite3* db, const std::string& text) {
  sqlite3_stmt* st = nullptr;
  std::string out;
  for (const char* tail = text.c_str(); *tail;) {
    EXPECT_EQ(sqlite3_prepare_v2(db, tail, -1, &st, &tail), SQLITE_OK) << sqlite3_errmsg(db) << " in " << tail;
    if (!st) break;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (out.empty() && sqlite3_column_text(st, 0)) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    st = nullptr;
  }
  return out;
}

// 0005_session_numbers.sql numbers the sessions of an existing database and points its
// events at them: timelines, deletes and new sessions work on the migrated data.
// Creates dir/agentlog.db as the embedded migrations 1..version leave it, for a test to
// fill with rows of that version before the store migrates it further.
sqlite3* database_at_version(const test::TempDir& dir, int version) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir.path() + "/agentlog.db").c_str(), &db), SQLITE_OK);
  sql(db, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER "
          "PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  for (size_t i = 0; i < sqlite::kMigrationsCount; ++i) {
    const auto& [name, text] = sqlite::kMigrations[i];
    if (std::stoi(std::string(name.substr(0, 4))) > version) continue;
    sql(db, std::string(text));
    sql(db, "INSERT INTO schema_migrations VALUES (" + std::to_string(i + 1) + ", '" + std::string(name) + "', 0)");
  }
  EXPECT_EQ(sql(db, "SELECT max(version) FROM schema_migrations"), std::to_string(version));
  return db;
}

TEST(SqliteStoreTest, MigrationNumbersExistingSessionsAndTheirEvents) {
  test::TempDir dir;
  {
    sqlite3* db = database_at_version(dir, 4);
    // Three sessions of the default project as version 4 stored them; "b" started first.
    sql(db, R"(INSERT INTO sessions (project_id, id, first_event_at, event_count) VALUES
                 (1, 'a', 2000, 2), (1, 'b', 1000, 1), (1, 'empty', NULL, 0);
               INSERT INTO events (seq, project_id, id, session_id, type, started_at, status) VALUES
                 (1, 1, 'a2', 'a', 'step', 2200, 'ok'), (2, 1, 'b1', 'b', 'step', 1000, 'ok'),
                 (3, 1, 'a1', 'a', 'step', 2000, 'ok');
               UPDATE meta SET value = 4 WHERE key = 'next_seq';)");
    sqlite3_close(db);
  }
  auto store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  auto ids = [&](const std::string& session) {
    std::vector<std::string> out;
    auto page = store->session_events(1, session, 100, std::nullopt);
    EXPECT_TRUE(page.is_ok()) << page.status().message();
    if (page.is_ok()) {
      for (const auto& e : page->items) out.push_back(e.event.id);
    }
    return out;
  };
  EXPECT_EQ(ids("a"), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(ids("b"), (std::vector<std::string>{"b1"}));

  // New events join a migrated session and start a new one.
  model::WriteBatch batch;
  batch.project_id = 1;
  batch.events = {test::make_event("a3", "a", 2500), test::make_event("c1", "c", 3000)};
  const model::WriteBatch* one[] = {&batch};
  ASSERT_TRUE(store->write(one, nullptr).is_ok());
  EXPECT_EQ(ids("a"), (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(ids("c"), (std::vector<std::string>{"c1"}));
  auto created = store->create_session(1, test::make_patch("d"), 4000);
  ASSERT_TRUE(created.is_ok()) << created.status().message();

  ASSERT_TRUE(store->delete_session(1, "a").is_ok());
  EXPECT_TRUE(ids("a").empty());
  EXPECT_EQ(ids("b"), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(ids("c"), (std::vector<std::string>{"c1"}));
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir.path() + "/agentlog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  // Numbered in order of start (sessions without one first), new ones after them, no two alike.
  EXPECT_EQ(sql(db, "SELECT group_concat(id, ' ') FROM (SELECT id FROM sessions ORDER BY num)"), "empty b c d");
  EXPECT_EQ(sql(db, "SELECT count(DISTINCT num) = count(*) AND min(num) > 0 FROM sessions"), "1");
  EXPECT_EQ(sql(db, "SELECT value = (SELECT max(num) + 1 FROM sessions) FROM meta WHERE key = 'next_session_num'"),
            "1");
  EXPECT_EQ(sql(db, "SELECT count(*) FROM events WHERE session_num IS NOT (SELECT num FROM sessions s WHERE "
                    "s.project_id = events.project_id AND s.id = events.session_id)"),
            "0");
  sqlite3_close(db);
}

// 0007_sessions_by_number.sql rebuilds the sessions table keyed by (project, number): every
// column of every session survives, ids stay unique per project, lists keep their order
// (ties by id), and events still find and update their sessions.
TEST(SqliteStoreTest, MigrationKeysSessionsByNumberAndKeepsEveryColumn) {
  test::TempDir dir;
  const std::string rows =
      "SELECT group_concat(r, ' | ') FROM (SELECT json_array(project_id, id, name, agent, user_id, tags, metadata, "
      "status, own_started_at, first_event_at, ended_at, last_event_at, event_count, error_count, llm_count, "
      "tool_count, input_tokens, output_tokens, total_tokens, cost_usd, started_at, num) AS r FROM sessions "
      "ORDER BY project_id, id)";
  std::string before;
  {
    sqlite3* db = database_at_version(dir, 6);
    // Numbers out of id order; "b" and "c" start at the same time; project 2 reuses an id.
    sql(db, R"(INSERT INTO projects (id, name, created_at) VALUES (2, 'other', 0);
               INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, own_started_at,
                                     first_event_at, ended_at, last_event_at, event_count, error_count, llm_count,
                                     tool_count, input_tokens, output_tokens, total_tokens, cost_usd, num) VALUES
                 (1, 'a', 'A', 'planner', 'u1', '["x"]', '{"k":1}', 'ok', 1000, 1100, 1900, 1800,
                  2, 1, 1, 0, 10, 20, 30, 0.25, 3),
                 (1, 'b', NULL, 'coder', NULL, '[]', '{}', 'running', NULL, 2000, NULL, 2500,
                  1, 0, 0, 1, 0, 0, 0, 0, 1),
                 (1, 'c', 'C', NULL, 'u2', '["y","z"]', '{}', 'error', 2000, NULL, 2600, NULL,
                  0, 0, 0, 0, 0, 0, 0, 0, 2),
                 (2, 'a', 'other A', 'planner', NULL, '[]', '{}', 'ok', 500, 600, 700, 650,
                  1, 0, 1, 0, 5, 6, 11, 1.5, 4);
               INSERT INTO events (seq, project_id, id, session_id, session_num, type, started_at, status) VALUES
                 (1, 1, 'a1', 'a', 3, 'step', 1100, 'ok'), (2, 1, 'a2', 'a', 3, 'step', 1800, 'ok'),
                 (3, 1, 'b1', 'b', 1, 'step', 2000, 'ok'), (4, 2, 'x1', 'a', 4, 'step', 600, 'ok');
               UPDATE meta SET value = 5 WHERE key IN ('next_seq', 'next_session_num');)");
    before = sql(db, rows);
    sqlite3_close(db);
  }
  ASSERT_NE(before.find("other A"), std::string::npos);
  ASSERT_NE(test::open_sqlite_store(dir.path()), nullptr);  // migrates
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2((dir.path() + "/agentlog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    EXPECT_EQ(sql(db, rows), before);
    EXPECT_EQ(sql(db, "SELECT group_concat(name) FROM (SELECT name FROM pragma_table_info('sessions') WHERE pk > 0 "
                      "ORDER BY pk)"),
              "project_id,num");
    sqlite3_close(db);
  }

  auto store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  model::SessionQuery q;
  q.project_id = 1;
  auto page = store->list_sessions(q);
  ASSERT_TRUE(page.is_ok()) << page.status().message();
  std::vector<std::string> order;
  for (const auto& s : page->items) order.push_back(s.id);
  EXPECT_EQ(order, (std::vector<std::string>{"c", "b", "a"}));
  // An event joins session "a" of project 1 (not project 2's), another starts "d".
  model::WriteBatch batch;
  batch.project_id = 1;
  batch.events = {test::make_event("a3", "a", 1950), test::make_event("d1", "d", 3000)};
  const model::WriteBatch* one[] = {&batch};
  ASSERT_TRUE(store->write(one, nullptr).is_ok());
  auto a = store->get_session(1, "a");
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_EQ(a->event_count, 3);
  auto other = store->get_session(2, "a");
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  EXPECT_EQ(other->event_count, 1);
  EXPECT_FALSE(store->create_session(1, test::make_patch("b"), 4000).is_ok());  // ids stay unique
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir.path() + "/agentlog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(sql(db, "SELECT group_concat(id || ':' || num, ' ') FROM (SELECT id, num FROM sessions "
                    "WHERE project_id = 1 ORDER BY num)"),
            "b:1 c:2 a:3 d:5");
  sqlite3_close(db);
}

// A transaction that fails gives back the session numbers it took, and numbers stay unique
// across restarts.
TEST(SqliteStoreTest, SessionNumbersAreNeverReused) {
  test::TempDir dir;
  for (int round = 0; round < 2; ++round) {
    auto store = test::open_sqlite_store(dir.path());
    ASSERT_NE(store, nullptr);
    const std::string r = std::to_string(round);
    ASSERT_TRUE(store->create_session(1, test::make_patch("s" + r), 1000).is_ok());
    EXPECT_FALSE(store->create_session(1, test::make_patch("s" + r), 1000).is_ok());  // exists: nothing taken
    model::SessionPatch unknown = test::make_patch("nobody" + r);
    unknown.name = std::optional<std::string>("x");
    EXPECT_FALSE(store->patch_session(1, unknown).is_ok());  // not found: nothing taken
    model::WriteBatch batch;
    batch.project_id = 1;
    batch.events = {test::make_event("e" + r, "t" + r, 2000)};
    batch.sessions = {test::make_patch("u" + r)};
    const model::WriteBatch* one[] = {&batch};
    ASSERT_TRUE(store->write(one, nullptr).is_ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir.path() + "/agentlog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(sql(db, "SELECT group_concat(id || ':' || num, ' ') FROM (SELECT id, num FROM sessions ORDER BY num)"),
            "s0:1 u0:2 t0:3 s1:4 u1:5 t1:6");
  sqlite3_close(db);
}

// ids.db (IdIndex) is derived from the events table: however it was lost or left behind,
// the next open brings it back, and ids found there are checked against the events.
// search.db is derived from the events like ids.db. One ahead of agentlog.db (agentlog.db
// restored from an older backup) would skip the new events that take its seqs again, and
// find them by the words of the lost events: it is rebuilt on start.
TEST(SqliteStoreTest, SearchIndexAheadOfARestoredDatabaseIsRebuilt) {
  test::TempDir dir;
  const std::string db = dir.path() + "/agentlog.db";
  std::unique_ptr<sqlite::SqliteStore> store;
  auto write = [&](const std::string& id, const std::string& word, Micros at) {
    model::Event e = test::make_event(id, "s", at);
    e.name = word;
    model::WriteBatch batch;
    batch.project_id = 1;
    batch.events = {e};
    const model::WriteBatch* one[] = {&batch};
    ASSERT_TRUE(store->write(one, nullptr).is_ok());
  };
  auto search = [&](const std::string& word) {
    model::EventQuery q;
    q.project_id = 1;
    q.q = word;
    std::vector<std::string> ids;
    auto page = store->search_events(q);
    EXPECT_TRUE(page.is_ok()) << page.status().message();
    if (page.is_ok()) {
      for (const auto& e : page->items) ids.push_back(e.event.id);
    }
    return ids;
  };
  using V = std::vector<std::string>;
  const Micros t0 = 1'767'225'600'000'000;

  store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  write("e1", "alpha", t0);
  ASSERT_TRUE(test::eventually([&] { return search("alpha") == V{"e1"}; }));
  store.reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    sql(raw, "VACUUM INTO '" + dir.path() + "/backup.db'");
    sqlite3_close(raw);
  }
  store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  write("e2", "beta", t0 + 1);
  ASSERT_TRUE(test::eventually([&] { return search("beta") == V{"e2"}; }));
  store.reset();

  // agentlog.db goes back to the backup; search.db (and ids.db) stay as they are.
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  std::filesystem::rename(dir.path() + "/backup.db", db);
  store = test::open_sqlite_store(dir.path());
  ASSERT_NE(store, nullptr);
  write("e3", "gamma", t0 + 2);  // takes e2's seq again
  EXPECT_TRUE(test::eventually([&] { return search("gamma") == V{"e3"}; }));
  EXPECT_EQ(search("beta"), V{});
  EXPECT_EQ(search("alpha"), V{"e1"});
}

// The indexer's commits checkpoint search.db once its WAL reaches the threshold. A statement
// it left unfinished kept its connection in a transaction through each commit, where
// checkpoints fail: nothing reached search.db while the server ran, and the WAL grew to
// gigabytes. Checked while the indexer still runs (closing its connection checkpoints), by
// waiting on the file's size alone: the checkpoint runs after its commit is visible, and a
// reader polling search.db could hold an older snapshot that keeps it from copying the
// commit (the check failed that way under ASan in CI).
TEST(SqliteStoreTest, SearchIndexerCheckpointsItsWal) {
  test::TempDir dir;
  const std::string main_db = dir.path() + "/agentlog.db", search_db = dir.path() + "/search.db";
  {
    sqlite::SqliteOptions options;
    options.data_dir = dir.path();
    options.background = false;  // this test runs the indexer itself
    auto store = sqlite::SqliteStore::open(options);
    ASSERT_TRUE(store.is_ok()) << store.status().message();
    ASSERT_TRUE((*store)->migrate().is_ok());
    model::WriteBatch batch;
    batch.project_id = 1;
    for (int i = 0; i < 2000; ++i) {
      model::Event e = test::make_event("e" + std::to_string(i), "s", 1'767'225'600'000'000 + i);
      e.name = "step " + std::to_string(i) + " word" + std::to_string(i * 7919 % 10007);
      batch.events.push_back(std::move(e));
    }
    const model::WriteBatch* one[] = {&batch};
    ASSERT_TRUE((*store)->write(one, nullptr).is_ok());
  }
  const auto before = std::filesystem::file_size(search_db);
  sqlite::SearchIndexer indexer(main_db, search_db, 4);
  indexer.start();
  indexer.notify();
  EXPECT_TRUE(test::eventually([&] { return std::filesystem::file_size(search_db) > before; }));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(search_db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(sql(db, "SELECT watermark FROM index_state"), "2000");
  sqlite3_close(db);  // not the last connection: the indexer's is open
  indexer.stop();
}

class IdIndexTest : public ::testing::Test {
 protected:
  static constexpr Micros kT0 = 1'767'225'600'000'000;

  void write(std::vector<model::Event> events) {
    model::WriteBatch batch;
    batch.project_id = 1;
    for (auto& e : events) e.client_id = true;
    batch.events = std::move(events);
    const model::WriteBatch* one[] = {&batch};
    const Status s = store_->write(one, nullptr);
    ASSERT_TRUE(s.is_ok()) << s.message();
  }
  void reopen() {
    store_.reset();
    store_ = test::open_sqlite_store(dir_.path());
    ASSERT_NE(store_, nullptr);
  }
  // Runs SQL on ids.db with the store closed.
  void on_ids_db(const std::string& text) {
    store_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/ids.db").c_str(), &db), SQLITE_OK);
    sql(db, text);
    sqlite3_close(db);
    reopen();
  }
  int64_t event_count(const std::string& session) {
    auto s = store_->get_session(1, session);
    EXPECT_TRUE(s.is_ok()) << session;
    return s.is_ok() ? s->event_count : -1;
  }
  bool found(const std::string& id) { return store_->get_event(1, id).is_ok(); }

  test::TempDir dir_;
  std::unique_ptr<sqlite::SqliteStore> store_ = test::open_sqlite_store(dir_.path());
};

TEST_F(IdIndexTest, IndexesCommitsItMissed) {
  write({test::make_event("a", "s", kT0), test::make_event("b", "s", kT0 + 1)});
  write({test::make_event("c", "s", kT0 + 2)});
  // As after a crash between the commits of agentlog.db and ids.db: the last commit's ids
  // are not there and the watermark is before it.
  on_ids_db("DELETE FROM event_ids WHERE id = 'c'; UPDATE ids_state SET watermark = 2");
  EXPECT_TRUE(found("c"));
  write({test::make_event("c", "s", kT0 + 3)});  // a re-send still replaces
  EXPECT_EQ(event_count("s"), 3);

  // Missed while running (a failed commit of ids.db): the next write catches up first.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/ids.db").c_str(), &db), SQLITE_OK);
    sql(db, "PRAGMA busy_timeout = 10000; DELETE FROM event_ids WHERE id = 'c'; UPDATE ids_state SET watermark = 2");
    sqlite3_close(db);
  }
  write({test::make_event("c", "s", kT0 + 4)});
  EXPECT_EQ(event_count("s"), 3);
  EXPECT_TRUE(found("c"));
}

TEST_F(IdIndexTest, IsRebuiltWhenDeletedOrAheadOfTheDatabase) {
  write({test::make_event("a", "s", kT0), test::make_event("b", "s", kT0 + 1)});
  store_.reset();
  std::filesystem::remove(dir_.path() + "/ids.db");
  std::filesystem::remove(dir_.path() + "/ids.db-wal");
  reopen();
  EXPECT_TRUE(found("a"));
  write({test::make_event("a", "s", kT0 + 2)});
  EXPECT_EQ(event_count("s"), 2);

  // An ids.db newer than the events (agentlog.db restored from an older backup) points at
  // seqs that hold other events or none: it is rebuilt.
  on_ids_db("UPDATE ids_state SET watermark = 1000; UPDATE event_ids SET seq = 999 WHERE id = 'a'");
  EXPECT_TRUE(found("a"));
  write({test::make_event("a", "s", kT0 + 3)});
  EXPECT_EQ(event_count("s"), 2);
}

// ids.db commits after the write returns; meanwhile the last commit's ids are found in
// memory, so whatever a client reads after the acknowledgement includes its events.
TEST_F(IdIndexTest, EventsAreFoundByIdAsSoonAsTheWriteReturns) {
  for (int i = 0; i < 40; ++i) {
    std::vector<model::Event> events;
    for (int j = 0; j < 500; ++j) {
      events.push_back(test::make_event("r" + std::to_string(i) + "-" + std::to_string(j), "s", kT0 + j));
    }
    write(std::move(events));
    const std::string last = "r" + std::to_string(i) + "-499";
    ASSERT_TRUE(found(last)) << last;
    ASSERT_TRUE(found("r" + std::to_string(i) + "-0"));
  }
}

TEST_F(IdIndexTest, IdsLeftByADeletedSessionFindNothing) {
  write({test::make_event("x", "old", kT0)});
  ASSERT_TRUE(store_->delete_session(1, "old").is_ok());
  EXPECT_FALSE(found("x"));
  write({test::make_event("x", "new", kT0 + 1)});
  EXPECT_EQ(event_count("new"), 1);
  EXPECT_TRUE(found("x"));
  EXPECT_FALSE(store_->get_session(1, "old").is_ok());
}

// Deleting a session removes its events' ids from ids.db too (after the delete commits, on
// the id thread); the ids of other sessions, and an id recorded again since, stay.
TEST_F(IdIndexTest, DeletingASessionRemovesItsIds) {
  write({test::make_event("x", "old", kT0), test::make_event("y", "old", kT0 + 1),
         test::make_event("z", "kept", kT0 + 2)});
  ASSERT_TRUE(store_->delete_session(1, "old").is_ok());
  write({test::make_event("y", "new", kT0 + 3)});
  store_.reset();  // the id thread finishes what it was given
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_.path() + "/ids.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(sql(db, "SELECT group_concat(id, ' ') FROM (SELECT id FROM event_ids ORDER BY id)"), "y z");
  sqlite3_close(db);
  reopen();
  EXPECT_FALSE(found("x"));
  EXPECT_TRUE(found("y"));
  EXPECT_TRUE(found("z"));
}

}  // namespace
}  // namespace agentlog::store::conformance
