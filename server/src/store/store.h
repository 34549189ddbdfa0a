// The storage interface every backend implements (SQLite now, PostgreSQL later).
// Writes arrive in groups from the single pipeline writer; queries may run concurrently
// from any thread. Every query is scoped to one project.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/types.h"
#include "util/status.h"

namespace agentlog::store {

using model::AgentStats;
using model::ApiKey;
using model::EventCursor;
using model::EventQuery;
using model::Page;
using model::Project;
using model::Session;
using model::SessionCursor;
using model::SessionPatch;
using model::SessionQuery;
using model::StoredEvent;
using model::WriteBatch;

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations. Fails if the database is newer than this binary.
  virtual Status migrate() = 0;
  // True once migrations are current and the database answers.
  virtual bool ready() = 0;

  // Commits all batches in one transaction, session rollups included.
  // Thread-compatibility: called by one thread at a time (the pipeline writer).
  virtual Status write(std::span<const WriteBatch* const> batches) = 0;

  // Sessions. `now` supplies defaults (started_at) for sessions created here.
  virtual Result<Session> create_session(int64_t project_id, const SessionPatch& s, Micros now) = 0;
  virtual Result<Session> patch_session(int64_t project_id, const SessionPatch& s) = 0;
  virtual Status delete_session(int64_t project_id, const std::string& id) = 0;
  virtual Result<Session> get_session(int64_t project_id, const std::string& id) = 0;
  virtual Result<Page<Session, SessionCursor>> list_sessions(const SessionQuery& q) = 0;

  // Events of one session in time order.
  virtual Result<Page<StoredEvent, EventCursor>> session_events(int64_t project_id, const std::string& session_id,
                                                                int limit, std::optional<EventCursor> after) = 0;
  virtual Result<StoredEvent> get_event(int64_t project_id, const std::string& id) = 0;
  // Newest first; with q, full-text matches newest-ingested first.
  virtual Result<Page<StoredEvent, EventCursor>> search_events(const EventQuery& q) = 0;
  virtual Result<std::vector<AgentStats>> agents(int64_t project_id, std::optional<Micros> from,
                                                 std::optional<Micros> to) = 0;

  // Projects and keys.
  virtual Result<Project> create_project(const std::string& name, Micros now) = 0;
  virtual Result<std::vector<Project>> list_projects() = 0;
  virtual Result<Project> find_project(const std::string& name) = 0;
  virtual Result<ApiKey> create_key(int64_t project_id, const std::string& name, const std::string& prefix,
                                    const std::string& hash, Micros now) = 0;
  // Idempotent: inserts the key if its hash is unknown (AGENTLOG_API_KEY at start-up).
  virtual Status ensure_key(int64_t project_id, const std::string& name, const std::string& prefix,
                            const std::string& hash, Micros now) = 0;
  virtual Result<std::vector<ApiKey>> list_keys(int64_t project_id) = 0;
  virtual Status revoke_key(int64_t project_id, int64_t key_id, Micros now) = 0;
  virtual Result<ApiKey> find_key_by_hash(const std::string& hash) = 0;
  virtual Status touch_key(int64_t key_id, Micros now) = 0;

  virtual int64_t database_size_bytes() = 0;
};

}  // namespace agentlog::store
