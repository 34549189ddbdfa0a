// Opens a migrated SqliteStore in a directory, for tests of the layers above the store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace agentlog::test {

// Fails the current test (and returns nullptr) if the store cannot be opened or migrated.
inline std::unique_ptr<store::sqlite::SqliteStore> open_sqlite_store(const std::string& dir) {
  store::sqlite::SqliteOptions options;
  options.data_dir = dir;
  options.readers = 2;
  auto opened = store::sqlite::SqliteStore::open(options);
  if (!opened.is_ok()) {
    ADD_FAILURE() << "open " << dir << ": " << opened.status().message();
    return nullptr;
  }
  auto store = std::move(opened).value();
  if (const Status s = store->migrate(); !s.is_ok()) {
    ADD_FAILURE() << "migrate " << dir << ": " << s.message();
    return nullptr;
  }
  return store;
}

}  // namespace agentlog::test
