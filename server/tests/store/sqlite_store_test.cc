// Runs the storage conformance suite against the embedded SQLite backend.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>

#include "store/store_conformance.h"

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

}  // namespace
}  // namespace agentlog::store::conformance
