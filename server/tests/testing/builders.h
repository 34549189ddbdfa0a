// Small constructors for model values, so tests spell out only the fields they are about.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model/types.h"

namespace agentlog::test {

inline model::Event make_event(std::string id, std::string session_id, Micros started_at) {
  model::Event e;
  e.id = std::move(id);
  e.session_id = std::move(session_id);
  e.started_at = started_at;
  return e;
}

inline model::SessionPatch make_patch(std::string id) {
  model::SessionPatch p;
  p.id = std::move(id);
  return p;
}

inline model::WriteBatch make_batch(int64_t project_id, std::vector<model::Event> events,
                                    std::vector<model::SessionPatch> sessions = {}) {
  model::WriteBatch b;
  b.project_id = project_id;
  b.events = std::move(events);
  b.sessions = std::move(sessions);
  return b;
}

}  // namespace agentlog::test
