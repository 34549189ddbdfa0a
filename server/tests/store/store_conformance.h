// The storage conformance suite: the behaviour every Store backend promises, written once
// against the abstract interface and run against each backend. A backend instantiates it
// with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(StoreBackend{"sqlite", make_sqlite}),
//                            StoreBackendName);
//
// Keep it backend-neutral: no SQL, no backend headers, JSON compared by meaning not bytes.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/store.h"
#include "testing/temp_dir.h"

namespace agentlog::store::conformance {

// Opens a fresh, empty store whose state lives in (or is named after) `tmpdir`, a new
// directory per test. It need not be migrated: the suite calls migrate() itself.
using StoreFactory = std::function<std::unique_ptr<Store>(const std::string& tmpdir)>;

struct StoreBackend {
  std::string name;
  StoreFactory make;
};
void PrintTo(const StoreBackend& backend, std::ostream* os);
std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info);

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  // The "default" project that migrate() creates.
  int64_t project() const { return project_; }
  // A second project, created on first use.
  int64_t other_project();

  Status write(std::vector<model::Event> events, std::vector<model::SessionPatch> sessions = {});
  Status write_to(int64_t project_id, std::vector<model::Event> events,
                  std::vector<model::SessionPatch> sessions = {});
  // The stored session; fails the test (and returns an empty one) if it cannot be read.
  model::Session session(const std::string& id, int64_t project_id);
  model::Session session(const std::string& id) { return session(id, project_); }
  // Every event of a session, walking all pages of `page_size`.
  std::vector<model::StoredEvent> all_session_events(const std::string& id, int64_t project_id,
                                                     int page_size = 1000);
  // Ids of every match of `q`, walking all pages of q.limit.
  std::vector<std::string> search_ids(model::EventQuery q);
  // Ids of every session listed by `q`, walking all pages of q.limit.
  std::vector<std::string> list_ids(model::SessionQuery q);

  test::TempDir dir_;  // declared before store_: outlives it
  std::unique_ptr<Store> store_;
  int64_t project_ = 0;
  int64_t other_project_ = 0;
};

}  // namespace agentlog::store::conformance
