// The storage interface every backend implements (SQLite now, PostgreSQL later).
// Writes arrive in groups from the single pipeline writer; queries may run concurrently
// from any thread. Every query is scoped to one project.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
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
using model::LoginSession;
using model::Role;
using model::TimeSeries;
using model::User;
using model::WriteBatch;

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations. Fails if the database is newer than this binary.
  virtual Status migrate() = 0;
  // True once migrations are current and the database answers.
  virtual bool ready() = 0;

  // Commits all batches in one transaction, session rollups included. On success, if
  // `seqs` is given, it receives each event's sequence number, batch after batch in order.
  // Thread-compatibility: called by one thread at a time (the pipeline writer).
  virtual Status write(std::span<const WriteBatch* const> batches, std::vector<int64_t>* seqs) = 0;

  // Sessions. `now` supplies defaults (started_at) for sessions created here.
  virtual Result<Session> create_session(int64_t project_id, const SessionPatch& s, Micros now) = 0;
  virtual Result<Session> patch_session(int64_t project_id, const SessionPatch& s) = 0;
  virtual Status delete_session(int64_t project_id, const std::string& id) = 0;
  // Deletes the session only while it has no events, atomically with respect to writes
  // that add some (which then find it gone and create it again); never deletes events.
  // True when it was deleted.
  virtual Result<bool> delete_session_if_empty(int64_t project_id, const std::string& id) = 0;
  virtual Result<Session> get_session(int64_t project_id, const std::string& id) = 0;
  virtual Result<Page<Session, SessionCursor>> list_sessions(const SessionQuery& q) = 0;

  // Events of one session in time order.
  virtual Result<Page<StoredEvent, EventCursor>> session_events(int64_t project_id, const std::string& session_id,
                                                                int limit, std::optional<EventCursor> after) = 0;
  virtual Result<StoredEvent> get_event(int64_t project_id, const std::string& id) = 0;
  // Newest first; with q, full-text matches newest-ingested first.
  virtual Result<Page<StoredEvent, EventCursor>> search_events(const EventQuery& q) = 0;
  // Events committed after `after_seq`, in seq order, at most q.limit; filters by
  // session_id, agent, type, name, status and model (q.q, q.from, q.to, q.after ignored).
  // The live stream's catch-up after a reconnect.
  virtual Result<std::vector<StoredEvent>> events_after(const EventQuery& q, int64_t after_seq) = 0;
  virtual Result<std::vector<AgentStats>> agents(int64_t project_id, std::optional<Micros> from,
                                                 std::optional<Micros> to) = 0;
  // Events, errors, tokens and cost per agent in `buckets` buckets of `step` from `from`;
  // an event without an agent counts for its session's agent. Only agents with activity
  // in the window have a series.
  virtual Result<TimeSeries> timeseries(int64_t project_id, Micros from, Micros step, int buckets,
                                        const std::optional<std::string>& agent) = 0;

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

  // Dashboard users (instance-wide) and their log-in sessions.
  virtual Result<User> create_user(const std::string& email, const std::string& password_hash, Role role,
                                   Micros now) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Result<User> find_user(const std::string& email) = 0;
  virtual Status delete_user(const std::string& email) = 0;  // and its log-in sessions
  virtual Status create_login(const LoginSession& login) = 0;
  // The live (unexpired) log-in with this token hash, and its user.
  virtual Result<std::pair<LoginSession, User>> find_login(const std::string& token_hash, Micros now) = 0;
  virtual Status delete_login(const std::string& token_hash) = 0;

  virtual int64_t database_size_bytes() = 0;
};

}  // namespace agentlog::store
