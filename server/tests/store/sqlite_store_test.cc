// Runs the storage conformance suite against the embedded SQLite backend, plus what only
// this backend does.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <string>
#include <vector>

#include "store/store_conformance.h"
#include "testing/builders.h"
#include "testing/sqlite_store.h"
#include "testing/temp_dir.h"

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

}  // namespace
}  // namespace agentlog::store::conformance
