// The PostgreSQL backend for scale-out mode: the same Store contract as SQLite, shared by
// any number of stateless replicas. One write connection per replica (the pipeline writer
// and admin writes take turns on it) and a pool of read connections.
//
// Writes: each group is merged in one transaction. A narrow copy of its events (what keys
// and rollups need) is COPYed into a temporary staging table; (project, id) upserts into
// event_keys (which serializes concurrent re-sends of one event across replicas), replaced
// versions are deleted and subtracted from the session rollups with set-based statements;
// then sequence numbers are taken from event_seq and the events COPYed straight into
// `events`, full-text words included (found here, not by the database). Sequence numbers
// are allocated under event_seq's row lock, held to COMMIT, so they follow commit order
// across every replica: readers always see a prefix.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg.h"
#include "store/store.h"

namespace agentlog::store::postgres {

struct PostgresOptions {
  std::string url;  // postgres://user:password@host:port/database?sslmode=...
  int readers = 4;
  // Monthly event partitions are kept created this many months ahead of the clock.
  int partition_months_ahead = 3;
};

// An event with the project it belongs to, as tailed across projects.
struct TailedEvent {
  int64_t project_id = 0;
  StoredEvent event;
};

class PostgresStore final : public Store {
 public:
  // Connects (the database must exist); call migrate() before anything else.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresOptions& options);
  ~PostgresStore() override;

  Status migrate() override;
  bool ready() override;
  Status write(std::span<const WriteBatch* const> batches, std::vector<int64_t>* seqs) override;

  Result<Session> create_session(int64_t project_id, const SessionPatch& s, Micros now) override;
  Result<Session> patch_session(int64_t project_id, const SessionPatch& s) override;
  Status delete_session(int64_t project_id, const std::string& id) override;
  Result<bool> delete_session_if_empty(int64_t project_id, const std::string& id) override;
  Result<Session> get_session(int64_t project_id, const std::string& id) override;
  Result<Page<Session, SessionCursor>> list_sessions(const SessionQuery& q) override;
  Result<Page<StoredEvent, EventCursor>> session_events(int64_t project_id,
                                                        const std::string& session_id, int limit,
                                                        std::optional<EventCursor> after) override;
  Result<StoredEvent> get_event(int64_t project_id, const std::string& id) override;
  Result<Page<StoredEvent, EventCursor>> search_events(const EventQuery& q) override;
  Result<std::vector<StoredEvent>> events_after(const EventQuery& q, int64_t after_seq) override;
  Result<std::vector<AgentStats>> agents(int64_t project_id, std::optional<Micros> from,
                                         std::optional<Micros> to) override;
  Result<TimeSeries> timeseries(int64_t project_id, Micros from, Micros step, int buckets,
                                const std::optional<std::string>& agent) override;

  Result<Project> create_project(const std::string& name, Micros now) override;
  Result<std::vector<Project>> list_projects() override;
  Result<Project> find_project(const std::string& name) override;
  Result<ApiKey> create_key(int64_t project_id, const std::string& name, const std::string& prefix,
                            const std::string& hash, Micros now) override;
  Status ensure_key(int64_t project_id, const std::string& name, const std::string& prefix,
                    const std::string& hash, Micros now) override;
  Result<std::vector<ApiKey>> list_keys(int64_t project_id) override;
  Status revoke_key(int64_t project_id, int64_t key_id, Micros now) override;
  Result<ApiKey> find_key_by_hash(const std::string& hash) override;
  Status touch_key(int64_t key_id, Micros now) override;
  Result<User> create_user(const std::string& email, const std::string& password_hash, Role role,
                           Micros now) override;
  Result<std::vector<User>> list_users() override;
  Result<User> find_user(const std::string& email) override;
  Status delete_user(const std::string& email) override;
  Status create_login(const LoginSession& login) override;
  Result<std::pair<LoginSession, User>> find_login(const std::string& token_hash,
                                                   Micros now) override;
  Status delete_login(const std::string& token_hash) override;
  int64_t database_size_bytes() override;

  // Scale-out extras (not part of Store): events of every project committed after
  // `after_seq`, in seq order — what the Redis bus delivers to this replica's streams —
  // and the last committed sequence number.
  Result<std::vector<TailedEvent>> tail(int64_t after_seq, int limit);
  Result<int64_t> last_seq();

  // Retention (not part of Store yet): removes every event that started before `before`,
  // a whole monthly partition at a time, with its idempotency key, its share of its
  // session's rollups, and the sessions left without events that lie wholly before
  // `before` (migration 0003). Runs on a connection of its own: ingest carries on except
  // for writes to the months being removed, and waits at most a few seconds for the brief
  // exclusive lock at the end. Returns how many events it removed.
  Result<int64_t> drop_events_before(Micros before);

 private:
  class ReaderLease;
  enum class PatchMode { kCreate, kUpdate };

  explicit PostgresStore(PostgresOptions options);
  ReaderLease reader();
  // Runs `fn(conn)` on a read connection, reconnecting once if the connection was lost.
  template <typename Fn>
  auto with_reader(Fn&& fn) -> decltype(fn(std::declval<PgConn&>()));
  Status prepare_writer();
  // Prepares the COPY input of a group for the staging tables (outside the transaction:
  // retries reuse it).
  void build_group(std::span<const WriteBatch* const> batches);
  // Prepares the group's COPY input for `events` (once, whatever the attempts).
  void build_events();
  Status write_once(int64_t& first_seq);
  Status ensure_partitions();
  Status apply_patch(int64_t project_id, const SessionPatch& p, PatchMode mode);
  // Runs `fn` in a write transaction, again (up to a few times) if it failed for a
  // reason that a retry can fix (deadlock with another replica, lost connection).
  template <typename Fn>
  Status write_tx(Fn&& fn);

  PostgresOptions options_;

  std::mutex write_mu_;  // guards writer_ and the fields below
  std::unique_ptr<PgConn> writer_;
  bool writer_prepared_ = false;
  Micros partitions_until_ = 0;  // events before this instant have their month's partition
  // The group being written (write_mu_): COPY input for stage_sessions, stage_events and
  // events, and where each event's sequence number goes once it is known.
  struct Group {
    std::span<const WriteBatch* const> batches;
    CopyBuffer sessions, stage, events;
    bool has_sessions = false;
    bool events_built = false;
    int total = 0;                                  // events, every copy counted
    std::vector<bool> final;                        // per ord: the copy that is stored
    std::vector<std::pair<size_t, int>> seq_slots;  // (placeholder, ord) per stored event
  } group_;
  std::unique_ptr<SearchWords> words_;  // the writer's

  std::mutex query_words_mu_;  // queries are short: one tokenizer, taken in turns
  std::unique_ptr<SearchWords> query_words_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<PgConn>> idle_readers_;
  bool migrated_ = false;
};

}  // namespace agentlog::store::postgres
