// The embedded SQLite backend: one write connection (WAL), a pool of read-only
// connections for queries, and a search indexer thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/checkpointer.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/id_index.h"
#include "store/sqlite/search_indexer.h"
#include "store/store.h"

namespace agentlog::store::sqlite {

struct SqliteOptions {
  std::string data_dir;       // holds agentlog.db and search.db
  bool full_durability = false;  // synchronous=FULL: survives power loss, not just crashes
  int readers = 2;
  // The search indexer and checkpoint threads; the server wants them, one-shot CLI
  // commands do not.
  bool background = true;
};

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options);
  ~SqliteStore() override;

  Status migrate() override;
  bool ready() override;
  Status write(std::span<const WriteBatch* const> batches, std::vector<int64_t>* seqs) override;

  Result<Session> create_session(int64_t project_id, const SessionPatch& s, Micros now) override;
  Result<Session> patch_session(int64_t project_id, const SessionPatch& s) override;
  Status delete_session(int64_t project_id, const std::string& id) override;
  Result<bool> delete_session_if_empty(int64_t project_id, const std::string& id) override;
  Result<Session> get_session(int64_t project_id, const std::string& id) override;
  Result<Page<Session, SessionCursor>> list_sessions(const SessionQuery& q) override;
  Result<Page<StoredEvent, EventCursor>> session_events(int64_t project_id, const std::string& session_id, int limit,
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
  Result<std::pair<LoginSession, User>> find_login(const std::string& token_hash, Micros now) override;
  Status delete_login(const std::string& token_hash) override;
  int64_t database_size_bytes() override;

 private:
  struct Reader;
  class ReaderLease;
  struct Writer;
  enum class PatchMode { kUpsert, kCreate, kUpdate };

  explicit SqliteStore(SqliteOptions options);
  ReaderLease reader();
  Status apply_patch(int64_t project_id, const SessionPatch& p, PatchMode mode);
  Status write_locked(std::span<const WriteBatch* const> batches);
  Result<std::string> fts_expression(Reader& r, const FtsQuery& query);

  SqliteOptions options_;
  std::string db_path_, search_path_, ids_path_;

  std::mutex write_mu_;  // guards writer_: the pipeline writer and admin writes share it
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<IdIndex> ids_;  // written with each of the writer's transactions

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Reader>> idle_readers_;
  bool migrated_ = false;

  std::unique_ptr<SearchIndexer> indexer_;
  std::unique_ptr<Checkpointer> checkpointer_;  // with the indexer: servers, not one-shot commands
};

}  // namespace agentlog::store::sqlite
