// `agentlog seed --demo`: a realistic demo data set (agents, nested LLM/tool/step events,
// errors, tokens, costs). Ids are fixed, so seeding twice replaces rather than duplicates.
#pragma once

#include <cstdint>

#include "store/store.h"
#include "util/status.h"
#include "util/time.h"

namespace agentlog::cli {

struct SeedSummary {
  int sessions = 0;
  int events = 0;
};

Result<SeedSummary> seed_demo(store::Store& store, int64_t project_id, Micros now);

}  // namespace agentlog::cli
