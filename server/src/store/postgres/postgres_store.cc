#include "store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include "store/sqlite/search_indexer.h"  // append_json_text: one definition of "the text of a JSON value"

namespace agentlog::store::postgres {

extern const std::pair<std::string_view, std::string_view> kMigrations[];
extern const std::size_t kMigrationsCount;

namespace {

using model::Event;
using model::EventStatus;
using model::EventType;
using model::SessionSort;

// Session-level advisory lock keys (arbitrary, fixed): migrations.
constexpr int64_t kMigrationLock = 7654000;
constexpr int kWriteAttempts = 5;
// The full-text body is capped: a tsvector holds at most 1 MB of lexemes, and an event
// past that must not fail its whole group's commit. The first 512 KiB are searchable.
// (SearchWords::tsvector enforces the limit too; the cap saves tokenizing the rest.)
constexpr size_t kMaxSearchBody = 512 * 1024;
constexpr Micros kDay = 86400LL * 1000000;
// Full-text search first walks the newest kSearchProbePerResult events per result wanted,
// then up to kSearchWalkPerResult (within bounds) if the words look frequent enough to
// fill the page there, before it asks the GIN index instead (see search_events). A walk
// stops as soon as the page is full, so its bound only caps what a walk that does not
// fill the page wastes: ~0.5-0.7 us per event walked. The index costs ~2-3 us per match
// of its rarest word, and reads the whole posting list of every other word.
constexpr int64_t kSearchProbePerResult = 20;
constexpr int64_t kSearchProbeMin = 1000;
constexpr int64_t kSearchWalkPerResult = 400;
constexpr int64_t kSearchWalkMin = 20000;
constexpr int64_t kSearchWalkMax = 200000;

constexpr std::string_view kSessionColumns =
    "id, name, agent, user_id, tags, metadata, status, started_at, ended_at, last_event_at, "
    "event_count, "
    "error_count, llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd";
constexpr int kSessionColumnCount = 18;

constexpr std::string_view kEventColumns =
    "seq, id, session_id, parent_id, trace_id, span_id, type, name, agent, started_at, ended_at, "
    "status, input, "
    "output, has_error, error_type, error_message, error_stack, model, provider, input_tokens, "
    "output_tokens, "
    "total_tokens, cached_tokens, cost_usd, attributes, tags";

// The columns of `events` that the writer COPYs after seq and before search.
constexpr std::string_view kEventInsertColumns =
    "project_id, id, session_id, parent_id, trace_id, span_id, type, name, agent, started_at, "
    "ended_at, status, "
    "input, output, has_error, error_type, error_message, error_stack, model, provider, "
    "input_tokens, "
    "output_tokens, total_tokens, cached_tokens, cost_usd, attributes, tags";

std::string_view sort_expr(SessionSort s) {
  switch (s) {
    case SessionSort::kStartedAt:
      return "coalesce(started_at, -999999999999999999)";
    case SessionSort::kLastEventAt:
      return "coalesce(last_event_at, -999999999999999999)";
    case SessionSort::kCostUsd:
      return "cost_usd";
    case SessionSort::kTotalTokens:
      return "total_tokens";
    case SessionSort::kEventCount:
      return "event_count";
    case SessionSort::kErrorCount:
      return "error_count";
  }
  return "started_at";
}

std::optional<std::string> opt_json(const PgResult& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return compact_json(r.text(row, col));
}

Session read_session(const PgResult& r, int row) {
  Session s;
  s.id = r.text(row, 0);
  s.name = r.opt_text(row, 1);
  s.agent = r.opt_text(row, 2);
  s.user_id = r.opt_text(row, 3);
  s.tags_json = compact_json(r.text(row, 4));
  s.metadata_json = compact_json(r.text(row, 5));
  s.status = model::parse_session_status(r.text(row, 6)).value_or(model::SessionStatus::kRunning);
  s.started_at = r.opt_int64(row, 7);
  s.ended_at = r.opt_int64(row, 8);
  s.last_event_at = r.opt_int64(row, 9);
  s.event_count = r.int64(row, 10);
  s.error_count = r.int64(row, 11);
  s.llm_count = r.int64(row, 12);
  s.tool_count = r.int64(row, 13);
  s.input_tokens = r.int64(row, 14);
  s.output_tokens = r.int64(row, 15);
  s.total_tokens = r.int64(row, 16);
  s.cost_usd = r.real(row, 17);
  return s;
}

StoredEvent read_event(const PgResult& r, int row, int at = 0) {
  StoredEvent se;
  se.seq = r.int64(row, at + 0);
  Event& e = se.event;
  e.id = r.text(row, at + 1);
  e.session_id = r.text(row, at + 2);
  e.parent_id = r.opt_text(row, at + 3);
  e.trace_id = r.opt_text(row, at + 4);
  e.span_id = r.opt_text(row, at + 5);
  e.type = model::parse_event_type(r.text(row, at + 6)).value_or(EventType::kCustom);
  e.name = r.opt_text(row, at + 7);
  e.agent = r.opt_text(row, at + 8);
  e.started_at = r.int64(row, at + 9);
  e.ended_at = r.opt_int64(row, at + 10);
  e.status = model::parse_event_status(r.text(row, at + 11)).value_or(EventStatus::kOk);
  e.input_json = opt_json(r, row, at + 12);
  e.output_json = opt_json(r, row, at + 13);
  if (r.boolean(row, at + 14)) {
    e.error = model::ErrorInfo{r.opt_text(row, at + 15), r.opt_text(row, at + 16),
                               r.opt_text(row, at + 17)};
  }
  e.model = r.opt_text(row, at + 18);
  e.provider = r.opt_text(row, at + 19);
  if (!r.is_null(row, at + 20)) {
    e.usage = model::Usage{r.int64(row, at + 20), r.int64(row, at + 21), r.int64(row, at + 22),
                           r.int64(row, at + 23)};
  }
  if (!r.is_null(row, at + 24)) e.cost_usd = r.real(row, at + 24);
  e.attributes_json = compact_json(r.text(row, at + 25));
  e.tags_json = compact_json(r.text(row, at + 26));
  return se;
}

// The searchable text of an event, as the SQLite index sees it: the name, the error
// message and the string values of input and output.
void search_body(const Event& e, std::string& body) {
  body.clear();
  if (e.name) body.append(*e.name);
  body.push_back(' ');
  if (e.error && e.error->message) body.append(*e.error->message);
  if (e.input_json) sqlite::append_json_text(body, *e.input_json);
  if (e.output_json) sqlite::append_json_text(body, *e.output_json);
  if (body.size() > kMaxSearchBody) {
    size_t cut = kMaxSearchBody;
    while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80)
      --cut;  // a UTF-8 boundary
    body.resize(cut);
  }
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void merge_patch(model::SessionPatch& into, const model::SessionPatch& p) {
  if (p.name) into.name = p.name;
  if (p.agent) into.agent = p.agent;
  if (p.user_id) into.user_id = p.user_id;
  if (p.tags_json) into.tags_json = p.tags_json;
  if (p.metadata_json) into.metadata_json = p.metadata_json;
  if (p.status) into.status = p.status;
  if (p.started_at) into.started_at = p.started_at;
  if (p.ended_at) into.ended_at = p.ended_at;
}

Micros now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Staging tables of the write connection; ON COMMIT DELETE ROWS empties them per write.
// stage_events holds what keys and rollups need of every event of the group (the events
// themselves are COPYed straight into `events`).
constexpr std::string_view kStagingDdl = R"sql(
CREATE TEMP TABLE IF NOT EXISTS stage_events (
  ord int NOT NULL, final boolean NOT NULL, project_id bigint NOT NULL, id text COLLATE "C" NOT NULL,
  session_id text COLLATE "C" NOT NULL, type text NOT NULL, status text NOT NULL, agent text,
  started_at bigint NOT NULL, ended_at bigint, input_tokens bigint, output_tokens bigint, total_tokens bigint,
  cost_usd double precision
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_sessions (
  project_id bigint NOT NULL, id text COLLATE "C" NOT NULL, name text, agent text, user_id text, tags jsonb,
  metadata jsonb, status text, started_at bigint, ended_at bigint, has_name boolean, has_agent boolean,
  has_user_id boolean, has_tags boolean, has_metadata boolean, has_status boolean, has_started_at boolean,
  has_ended_at boolean, fresh boolean NOT NULL DEFAULT false
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS replaced (
  project_id bigint NOT NULL, id text COLLATE "C" NOT NULL, prev_started_at bigint NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS old_events (
  project_id bigint NOT NULL, id text COLLATE "C" NOT NULL, session_id text COLLATE "C" NOT NULL,
  type text NOT NULL, status text NOT NULL, started_at bigint NOT NULL, ended_at bigint, input_tokens bigint,
  output_tokens bigint, total_tokens bigint, cost_usd double precision
) ON COMMIT DELETE ROWS;
)sql";

// Session patches of the group: inserted where new (absent fields take their defaults),
// then applied field by field where the session existed.
constexpr std::string_view kInsertPatches = R"sql(
WITH ins AS (
  INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, own_started_at, ended_at)
  SELECT project_id, id, name, agent, user_id, coalesce(tags, '[]'), coalesce(metadata, '{}'),
         coalesce(status, 'running'), started_at, ended_at
  FROM stage_sessions ORDER BY project_id, id
  ON CONFLICT (project_id, id) DO NOTHING
  RETURNING project_id, id)
UPDATE stage_sessions st SET fresh = true FROM ins WHERE st.project_id = ins.project_id AND st.id = ins.id
)sql";

constexpr std::string_view kUpdatePatches = R"sql(
UPDATE sessions s SET
  name = CASE WHEN st.has_name THEN st.name ELSE s.name END,
  agent = CASE WHEN st.has_agent THEN st.agent ELSE s.agent END,
  user_id = CASE WHEN st.has_user_id THEN st.user_id ELSE s.user_id END,
  tags = CASE WHEN st.has_tags THEN st.tags ELSE s.tags END,
  metadata = CASE WHEN st.has_metadata THEN st.metadata ELSE s.metadata END,
  status = CASE WHEN st.has_status THEN st.status ELSE s.status END,
  own_started_at = CASE WHEN st.has_started_at THEN st.started_at ELSE s.own_started_at END,
  ended_at = CASE WHEN st.has_ended_at THEN st.ended_at ELSE s.ended_at END
FROM stage_sessions st
WHERE NOT st.fresh AND s.project_id = st.project_id AND s.id = st.id
)sql";

// Claims each (project, id) of the group. The row lock makes concurrent writers of one
// event take turns, and the conflicting branch reads the latest committed version, so
// `replaced` names exactly the stored versions this transaction replaces.
constexpr std::string_view kUpsertKeys = R"sql(
WITH up AS (
  INSERT INTO event_keys AS k (project_id, id, started_at, prev_started_at)
  SELECT project_id, id, started_at, NULL FROM stage_events WHERE final ORDER BY project_id, id
  ON CONFLICT (project_id, id) DO UPDATE SET prev_started_at = k.started_at, started_at = excluded.started_at
  RETURNING k.project_id, k.id, k.prev_started_at)
INSERT INTO replaced SELECT project_id, id, prev_started_at FROM up WHERE prev_started_at IS NOT NULL
)sql";

constexpr std::string_view kDeleteReplaced = R"sql(
WITH old AS (
  DELETE FROM events e USING replaced r
  WHERE e.project_id = r.project_id AND e.id = r.id AND e.started_at = r.prev_started_at
  RETURNING e.project_id, e.id, e.session_id, e.type, e.status, e.started_at, e.ended_at, e.input_tokens,
            e.output_tokens, e.total_tokens, e.cost_usd)
INSERT INTO old_events SELECT * FROM old
)sql";

// How both upserts below add a group's per-session sums to the stored rollups.
constexpr std::string_view kRollupsOnConflict = R"sql(
ON CONFLICT (project_id, id) DO UPDATE SET
  agent = coalesce(s.agent, excluded.agent),
  first_event_at = LEAST(s.first_event_at, excluded.first_event_at),
  last_event_at = GREATEST(s.last_event_at, excluded.last_event_at),
  event_count = s.event_count + excluded.event_count,
  error_count = s.error_count + excluded.error_count,
  llm_count = s.llm_count + excluded.llm_count,
  tool_count = s.tool_count + excluded.tool_count,
  input_tokens = s.input_tokens + excluded.input_tokens,
  output_tokens = s.output_tokens + excluded.output_tokens,
  total_tokens = s.total_tokens + excluded.total_tokens,
  cost_usd = s.cost_usd + excluded.cost_usd
)sql";

// Rollup deltas of a group that replaces no stored event: one pass over the staging
// table. Every session the group touched gets a row (created if new), in key order so that
// concurrent writers lock sessions in the same order; its agent, if it has none yet, is
// the first one the group names for it.
constexpr std::string_view kUpsertRollups = R"sql(
INSERT INTO sessions AS s (project_id, id, agent, first_event_at, last_event_at, event_count, error_count,
                           llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd)
SELECT project_id, session_id, (array_agg(agent ORDER BY ord) FILTER (WHERE agent IS NOT NULL))[1],
       min(started_at) FILTER (WHERE final), max(coalesce(ended_at, started_at)) FILTER (WHERE final),
       count(*) FILTER (WHERE final), count(*) FILTER (WHERE final AND status = 'error'),
       count(*) FILTER (WHERE final AND type = 'llm'), count(*) FILTER (WHERE final AND type = 'tool'),
       coalesce(sum(input_tokens) FILTER (WHERE final), 0), coalesce(sum(output_tokens) FILTER (WHERE final), 0),
       coalesce(sum(total_tokens) FILTER (WHERE final), 0), coalesce(sum(cost_usd) FILTER (WHERE final), 0)
FROM stage_events GROUP BY project_id, session_id
ORDER BY project_id, session_id
)sql";

// The same when the group replaces stored versions: theirs are subtracted.
constexpr std::string_view kUpsertRollupsReplacing = R"sql(
WITH plus AS (
  SELECT project_id, session_id AS id, count(*) AS n, count(*) FILTER (WHERE status = 'error') AS errors,
         count(*) FILTER (WHERE type = 'llm') AS llm, count(*) FILTER (WHERE type = 'tool') AS tool,
         coalesce(sum(input_tokens), 0) AS in_tok, coalesce(sum(output_tokens), 0) AS out_tok,
         coalesce(sum(total_tokens), 0) AS tot_tok, coalesce(sum(cost_usd), 0) AS cost,
         min(started_at) AS min_start, max(coalesce(ended_at, started_at)) AS max_end
  FROM stage_events WHERE final GROUP BY 1, 2),
minus AS (
  SELECT project_id, session_id AS id, count(*) AS n, count(*) FILTER (WHERE status = 'error') AS errors,
         count(*) FILTER (WHERE type = 'llm') AS llm, count(*) FILTER (WHERE type = 'tool') AS tool,
         coalesce(sum(input_tokens), 0) AS in_tok, coalesce(sum(output_tokens), 0) AS out_tok,
         coalesce(sum(total_tokens), 0) AS tot_tok, coalesce(sum(cost_usd), 0) AS cost
  FROM old_events GROUP BY 1, 2),
agent AS (
  SELECT DISTINCT ON (project_id, session_id) project_id, session_id AS id, agent
  FROM stage_events WHERE agent IS NOT NULL ORDER BY project_id, session_id, ord),
touched AS (
  SELECT project_id, session_id AS id FROM stage_events UNION SELECT project_id, session_id FROM old_events)
INSERT INTO sessions AS s (project_id, id, agent, first_event_at, last_event_at, event_count, error_count,
                           llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd)
SELECT t.project_id, t.id, a.agent, p.min_start, p.max_end,
       coalesce(p.n, 0) - coalesce(m.n, 0), coalesce(p.errors, 0) - coalesce(m.errors, 0),
       coalesce(p.llm, 0) - coalesce(m.llm, 0), coalesce(p.tool, 0) - coalesce(m.tool, 0),
       coalesce(p.in_tok, 0) - coalesce(m.in_tok, 0), coalesce(p.out_tok, 0) - coalesce(m.out_tok, 0),
       coalesce(p.tot_tok, 0) - coalesce(m.tot_tok, 0), coalesce(p.cost, 0) - coalesce(m.cost, 0)
FROM touched t
LEFT JOIN plus p ON p.project_id = t.project_id AND p.id = t.id
LEFT JOIN minus m ON m.project_id = t.project_id AND m.id = t.id
LEFT JOIN agent a ON a.project_id = t.project_id AND a.id = t.id
ORDER BY t.project_id, t.id
)sql";

// A replaced version may have defined its session's bounds (it moved, started later or
// ended earlier): those sessions' bounds are recomputed from the stored events (the old
// versions are gone already) and the group's new versions (not inserted yet). The session
// rows are locked by now, so this statement's snapshot holds every other writer's events.
constexpr std::string_view kRecomputeBounds = R"sql(
WITH rc AS (
  SELECT DISTINCT o.project_id, o.session_id AS id
  FROM old_events o JOIN stage_events f ON f.final AND f.project_id = o.project_id AND f.id = o.id
  WHERE f.session_id <> o.session_id OR f.started_at > o.started_at
     OR coalesce(f.ended_at, f.started_at) < coalesce(o.ended_at, o.started_at))
UPDATE sessions s SET
  first_event_at = LEAST(
    (SELECT min(e.started_at) FROM events e WHERE e.project_id = s.project_id AND e.session_id = s.id),
    (SELECT min(f.started_at) FROM stage_events f WHERE f.final AND f.project_id = s.project_id
       AND f.session_id = s.id)),
  last_event_at = GREATEST(
    (SELECT max(coalesce(e.ended_at, e.started_at)) FROM events e
       WHERE e.project_id = s.project_id AND e.session_id = s.id),
    (SELECT max(coalesce(f.ended_at, f.started_at)) FROM stage_events f WHERE f.final
       AND f.project_id = s.project_id AND f.session_id = s.id))
FROM rc WHERE s.project_id = rc.project_id AND s.id = rc.id
)sql";

// EventQuery's equality filters (type, name, status, model, session, agent) as " AND ..."
// terms, their values bound in `ps`.
std::string event_filters(const EventQuery& q, Params& ps) {
  std::string sql;
  if (q.type) sql += " AND type = " + ps.arg(model::to_string(*q.type));
  if (q.name) sql += " AND name = " + ps.arg(*q.name);
  if (q.status) sql += " AND status = " + ps.arg(model::to_string(*q.status));
  if (q.model) sql += " AND model = " + ps.arg(*q.model);
  if (q.session_id) sql += " AND session_id = " + ps.arg(*q.session_id);
  if (q.agent) sql += " AND agent = " + ps.arg(*q.agent);
  return sql;
}

}  // namespace

// ---- connections -------------------------------------------------------------------------

class PostgresStore::ReaderLease {
 public:
  ReaderLease(PostgresStore& store, std::unique_ptr<PgConn> c) : store_(store), c_(std::move(c)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!c_) return;
    {
      std::lock_guard lock(store_.readers_mu_);
      store_.idle_readers_.push_back(std::move(c_));
    }
    store_.readers_cv_.notify_one();
  }
  PgConn& operator*() { return *c_; }
  explicit operator bool() const { return c_ != nullptr; }

 private:
  PostgresStore& store_;
  std::unique_ptr<PgConn> c_;
};

PostgresStore::PostgresStore(PostgresOptions options) : options_(std::move(options)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresOptions& options) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  auto c = PgConn::connect(options.url);
  if (!c.is_ok()) return c.status();
  store->writer_ = std::make_unique<PgConn>(std::move(*c));
  auto words = SearchWords::create();
  if (!words.is_ok()) return words.status();
  store->words_ = std::move(*words);
  words = SearchWords::create();
  if (!words.is_ok()) return words.status();
  store->query_words_ = std::move(*words);
  return store;
}

PostgresStore::ReaderLease PostgresStore::reader() {
  std::unique_lock lock(readers_mu_);
  if (!migrated_) return ReaderLease(*this, nullptr);
  readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
  auto c = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return ReaderLease(*this, std::move(c));
}

template <typename Fn>
auto PostgresStore::with_reader(Fn&& fn) -> decltype(fn(std::declval<PgConn&>())) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  PgConn& c = *r;
  if (c.broken()) {
    if (auto s = c.reset(); !s.is_ok()) return s;
  }
  auto out = fn(c);
  if (!out.is_ok() && c.broken() && c.reset().is_ok())
    out = fn(c);  // the server restarted: once more
  return out;
}

template <typename Fn>
Status PostgresStore::write_tx(Fn&& fn) {
  std::mt19937 jitter(std::random_device{}());
  Status s;
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(2 * attempt + static_cast<int>(jitter() % 5)));
    }
    if (writer_->broken()) {
      writer_prepared_ = false;
      if (s = writer_->reset(); !s.is_ok()) continue;
    }
    if (!writer_prepared_) {
      if (s = prepare_writer(); !s.is_ok()) {
        if (writer_->broken()) continue;
        return s;
      }
    }
    PgTransaction tx(*writer_);
    if (s = tx.begin(); !s.is_ok()) continue;
    s = fn(*writer_);
    if (s.is_ok()) s = tx.commit();
    if (s.is_ok()) return s;
    if (!writer_->last_error_retryable()) return s;
    spdlog::debug("postgres write attempt {} failed, retrying: {}", attempt + 1, s.message());
  }
  return s;
}

Status PostgresStore::prepare_writer() {
  auto r = writer_->exec(std::string(kStagingDdl));
  if (!r.is_ok()) return r.status();
  writer_prepared_ = true;
  return Status::ok();
}

Status PostgresStore::ensure_partitions() {
  // The month before now (late events) through `partition_months_ahead` months ahead.
  const Micros now = now_micros();
  Params p;
  p.add(now - 31 * kDay).add(options_.partition_months_ahead + 2);
  auto r = writer_->exec("SELECT agentlog_ensure_event_partitions($1, $2)", p);
  if (!r.is_ok()) return r.status();
  if (r->int64(0, 0) > 0) spdlog::info("created {} monthly event partitions", r->int64(0, 0));
  partitions_until_ = now + kDay;  // checked again a day from now
  return Status::ok();
}

Status PostgresStore::migrate() {
  std::lock_guard lock(write_mu_);
  PgConn& c = *writer_;
  if (c.broken()) {
    if (auto s = c.reset(); !s.is_ok()) return s;
  }
  // Replicas starting together take turns; the second finds nothing left to do.
  Params lock_key;
  lock_key.add(kMigrationLock);
  if (auto r = c.exec("SELECT pg_advisory_lock($1)", lock_key); !r.is_ok()) return r.status();
  auto migrate_locked = [&]() -> Status {
    if (auto r = c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, "
                        "name text NOT NULL, "
                        "applied_at bigint NOT NULL)");
        !r.is_ok()) {
      return r.status();
    }
    std::map<int64_t, std::pair<std::string_view, std::string_view>> known;
    for (size_t i = 0; i < kMigrationsCount; ++i) {
      known[std::stoll(std::string(kMigrations[i].first.substr(0, 4)))] = kMigrations[i];
    }
    const int64_t latest = known.empty() ? 0 : known.rbegin()->first;
    auto cur = c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!cur.is_ok()) return cur.status();
    const int64_t current = cur->int64(0, 0);
    if (current > latest) {
      return Status::unavailable(fmt::format(
          "database schema version {} is newer than this binary supports ({}); upgrade agentlog",
          current, latest));
    }
    for (const auto& [version, m] : known) {
      if (version <= current) continue;
      PgTransaction tx(c);
      if (auto s = tx.begin(); !s.is_ok()) return s;
      if (auto r = c.exec(std::string(m.second)); !r.is_ok()) {
        return Status::internal(fmt::format("migration {}: {}", m.first, r.status().message()));
      }
      Params rec;
      rec.add(version).add(m.first);
      if (auto r =
              c.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
                     "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                     rec);
          !r.is_ok()) {
        return r.status();
      }
      if (auto s = tx.commit(); !s.is_ok()) return s;
      spdlog::info("applied migration {}", m.first);
    }
    return ensure_partitions();
  };
  const Status s = migrate_locked();
  (void)c.exec("SELECT pg_advisory_unlock($1)", lock_key);
  if (!s.is_ok()) return s;
  if (auto ps = prepare_writer(); !ps.is_ok()) return ps;

  std::lock_guard rl(readers_mu_);
  if (!migrated_) {
    for (int i = 0; i < std::max(1, options_.readers); ++i) {
      auto rc = PgConn::connect(options_.url);
      if (!rc.is_ok()) return rc.status();
      idle_readers_.push_back(std::make_unique<PgConn>(std::move(*rc)));
    }
    migrated_ = true;
  }
  return Status::ok();
}

bool PostgresStore::ready() {
  auto r = with_reader([](PgConn& c) -> Result<int64_t> {
    auto q = c.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!q.is_ok()) return q.status();
    return q->int64(0, 0);
  });
  if (!r.is_ok()) return false;
  int64_t latest = 0;
  for (size_t i = 0; i < kMigrationsCount; ++i) {
    latest = std::max<int64_t>(latest, std::stoll(std::string(kMigrations[i].first.substr(0, 4))));
  }
  return *r == latest;
}

// ---- writes ------------------------------------------------------------------------------

Status PostgresStore::write(std::span<const WriteBatch* const> batches,
                            std::vector<int64_t>* seqs) {
  int64_t first_seq = 0;
  Status s;
  {
    std::lock_guard lock(write_mu_);
    if (now_micros() >= partitions_until_) {
      // Outside the write transaction: DDL there could deadlock with other replicas.
      if (auto ps = ensure_partitions(); !ps.is_ok())
        spdlog::warn("event partitions: {}", ps.message());
    }
    build_group(batches);
    s = write_tx([&](PgConn&) { return write_once(first_seq); });
  }
  if (s.is_ok() && seqs) {
    seqs->clear();
    for (const WriteBatch* b : batches) {
      for (size_t i = 0; i < b->events.size(); ++i)
        seqs->push_back(first_seq + static_cast<int64_t>(seqs->size()));
    }
  }
  return s;
}

void PostgresStore::build_group(std::span<const WriteBatch* const> batches) {
  Group& g = group_;
  g.sessions.clear();
  g.stage.clear();
  g.events.clear();
  g.seq_slots.clear();
  g.final.clear();
  g.batches = batches;
  g.events_built = false;
  g.has_sessions = false;
  g.total = 0;

  // Session patches, merged per session in order (later fields win), as SQLite applies them.
  std::map<std::pair<int64_t, std::string>, model::SessionPatch> patches;
  for (const WriteBatch* b : batches) {
    for (const model::SessionPatch& p : b->sessions) {
      auto [it, fresh] = patches.try_emplace({b->project_id, p.id}, p);
      if (!fresh) merge_patch(it->second, p);
    }
  }
  g.has_sessions = !patches.empty();
  for (const auto& [key, p] : patches) {
    CopyBuffer& cb = g.sessions;
    cb.field(key.first).field(key.second);
    auto inner = [&](const auto& f) {
      if (f && *f)
        cb.field(**f);
      else
        cb.null();
    };
    inner(p.name);
    inner(p.agent);
    inner(p.user_id);
    cb.field(p.tags_json ? std::optional<std::string>(jsonb_safe(*p.tags_json)) : std::nullopt);
    cb.field(p.metadata_json ? std::optional<std::string>(jsonb_safe(*p.metadata_json))
                             : std::nullopt);
    if (p.status)
      cb.field(model::to_string(*p.status));
    else
      cb.null();
    inner(p.started_at);
    inner(p.ended_at);
    cb.field(p.name.has_value()).field(p.agent.has_value()).field(p.user_id.has_value());
    cb.field(p.tags_json.has_value())
        .field(p.metadata_json.has_value())
        .field(p.status.has_value());
    cb.field(p.started_at.has_value()).field(p.ended_at.has_value());
    cb.end_row();
  }

  // Events: the last copy of an id in the group is the one stored ("final"). Every copy
  // goes to the staging table (rollups and keys need only a few columns); the final ones
  // are COPYed straight into `events` once their sequence numbers are known (build_events).
  int total = 0;
  for (const WriteBatch* b : batches) total += static_cast<int>(b->events.size());
  g.total = total;
  if (total == 0) return;
  // (project, id) -> the ord of its last copy in the group.
  struct KeyHash {
    size_t operator()(const std::pair<int64_t, std::string_view>& k) const {
      return std::hash<std::string_view>()(k.second) ^ static_cast<size_t>(k.first);
    }
  };
  std::unordered_map<std::pair<int64_t, std::string_view>, int, KeyHash> last_of;
  last_of.reserve(static_cast<size_t>(total));
  {
    int ord = 0;
    for (const WriteBatch* b : batches) {
      for (const Event& e : b->events) last_of[{b->project_id, e.id}] = ord++;
    }
  }
  g.final.assign(static_cast<size_t>(total), false);
  int ord = 0;
  for (const WriteBatch* b : batches) {
    for (const Event& e : b->events) {
      const bool final = last_of[{b->project_id, e.id}] == ord;
      g.final[static_cast<size_t>(ord)] = final;
      CopyBuffer& st = g.stage;
      st.field(ord).field(final).field(b->project_id).field(e.id).field(e.session_id);
      st.field(model::to_string(e.type)).field(model::to_string(e.status)).field(e.agent);
      st.field(e.started_at).field(e.ended_at);
      if (e.usage) {
        st.field(e.usage->input_tokens).field(e.usage->output_tokens).field(e.usage->total_tokens);
      } else {
        st.null().null().null();
      }
      st.field(e.cost_usd).end_row();
      ++ord;
    }
  }
}

void PostgresStore::build_events() {
  Group& g = group_;
  if (g.events_built) return;
  std::string body, tsv, scratch;
  int ord = 0;
  for (const WriteBatch* b : g.batches) {
    for (const Event& e : b->events) {
      if (!g.final[static_cast<size_t>(ord)]) {
        ++ord;
        continue;
      }
      CopyBuffer& cb = g.events;
      g.seq_slots.emplace_back(cb.int64_placeholder(), ord++);
      cb.field(b->project_id).field(e.id).field(e.session_id);
      cb.field(e.parent_id).field(e.trace_id).field(e.span_id).field(model::to_string(e.type));
      cb.field(e.name)
          .field(e.agent)
          .field(e.started_at)
          .field(e.ended_at)
          .field(model::to_string(e.status));
      auto json = [&](const std::optional<std::string>& v) {
        if (v)
          cb.field(jsonb_safe(*v, scratch));
        else
          cb.null();
      };
      json(e.input_json);
      json(e.output_json);
      cb.field(e.error.has_value());
      if (e.error)
        cb.field(e.error->type).field(e.error->message).field(e.error->stack);
      else
        cb.null().null().null();
      cb.field(e.model).field(e.provider);
      if (e.usage) {
        cb.field(e.usage->input_tokens).field(e.usage->output_tokens);
        cb.field(e.usage->total_tokens).field(e.usage->cached_tokens);
      } else {
        cb.null().null().null().null();
      }
      cb.field(e.cost_usd);
      cb.field(jsonb_safe(e.attributes_json, scratch));  // copied before scratch is reused
      cb.field(jsonb_safe(e.tags_json, scratch));
      search_body(e, body);
      tsv.clear();
      words_->tsvector(body, tsv);
      cb.field(tsv);
      cb.end_row();
    }
  }
  g.events_built = true;
}

Status PostgresStore::write_once(int64_t& first_seq) {
  PgConn& c = *writer_;
  Group& g = group_;
  if (g.has_sessions) {
    if (auto s = c.copy_in(
            "COPY stage_sessions (project_id, id, name, agent, user_id, tags, metadata, status, "
            "started_at, ended_at, has_name, has_agent, has_user_id, has_tags, has_metadata, "
            "has_status, has_started_at, has_ended_at) FROM STDIN",
            g.sessions.data());
        !s.is_ok()) {
      return s;
    }
    if (auto r = c.exec(std::string(kInsertPatches)); !r.is_ok()) return r.status();
    if (auto r = c.exec(std::string(kUpdatePatches)); !r.is_ok()) return r.status();
  }
  if (g.total == 0) return Status::ok();

  if (auto s = c.copy_in(
          "COPY stage_events (ord, final, project_id, id, session_id, type, status, agent, "
          "started_at, ended_at, input_tokens, output_tokens, total_tokens, cost_usd) FROM STDIN",
          g.stage.data());
      !s.is_ok()) {
    return s;
  }
  // The events' COPY input is built while the database upserts the keys.
  if (auto sent = c.send(std::string(kUpsertKeys)); !sent.is_ok()) return sent;
  build_events();
  auto up = c.receive();
  if (!up.is_ok()) return up.status();
  const bool replacing = up->affected() > 0;
  if (replacing) {
    if (auto r = c.exec(std::string(kDeleteReplaced)); !r.is_ok()) return r.status();
    if (auto r = c.exec(std::string(kUpsertRollupsReplacing).append(kRollupsOnConflict)); !r.is_ok()) return r.status();
    if (auto r = c.exec(std::string(kRecomputeBounds)); !r.is_ok()) return r.status();
  } else {
    if (auto r = c.exec(std::string(kUpsertRollups).append(kRollupsOnConflict)); !r.is_ok()) return r.status();
  }
  // Sequence numbers last: the event_seq row stays locked until COMMIT, so numbers follow
  // commit order across replicas while the work above runs concurrently.
  Params n;
  n.add(g.total);
  auto seq = c.exec("UPDATE event_seq SET last = last + $1 WHERE id = 1 RETURNING last", n);
  if (!seq.is_ok()) return seq.status();
  first_seq = seq->int64(0, 0) - g.total + 1;
  for (const auto& [at, ord] : g.seq_slots) g.events.fill_int64(at, first_seq + ord);
  return c.copy_in(fmt::format("COPY events (seq, {}, search) FROM STDIN", kEventInsertColumns),
                   g.events.data());
}

Status PostgresStore::apply_patch(int64_t project_id, const SessionPatch& p, PatchMode mode) {
  PgConn& c = *writer_;
  Params ps;
  auto inner = [](const auto& f) { return f ? *f : std::nullopt; };
  if (mode == PatchMode::kCreate) {
    const std::string sql = fmt::format(
        "INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, "
        "own_started_at, "
        "ended_at) VALUES ({}, {}, {}, {}, {}, coalesce({}::jsonb, '[]'), coalesce({}::jsonb, "
        "'{{}}'), "
        "coalesce({}, 'running'), {}::bigint, {}::bigint)",
        ps.arg(project_id), ps.arg(p.id), ps.arg(inner(p.name)), ps.arg(inner(p.agent)), ps.arg(inner(p.user_id)),
        ps.arg(p.tags_json ? std::optional<std::string>(jsonb_safe(*p.tags_json)) : std::nullopt),
        ps.arg(p.metadata_json ? std::optional<std::string>(jsonb_safe(*p.metadata_json))
                            : std::nullopt),
        ps.arg(p.status ? std::optional<std::string>(std::string(model::to_string(*p.status)))
                     : std::nullopt),
        ps.arg(inner(p.started_at)), ps.arg(inner(p.ended_at)));
    auto r = c.exec(sql, ps);
    if (r.status().code() == Status::Code::kConflict) {
      return Status::conflict(fmt::format("session '{}' already exists", p.id));
    }
    return r.status();
  }
  std::string set;
  auto assign = [&](std::string_view column, const std::string& value) {
    if (!set.empty()) set += ", ";
    set += fmt::format("{} = {}", column, value);
  };
  if (p.name) assign("name", ps.arg(*p.name));
  if (p.agent) assign("agent", ps.arg(*p.agent));
  if (p.user_id) assign("user_id", ps.arg(*p.user_id));
  if (p.tags_json) assign("tags", ps.arg(jsonb_safe(*p.tags_json)) + "::jsonb");
  if (p.metadata_json) assign("metadata", ps.arg(jsonb_safe(*p.metadata_json)) + "::jsonb");
  if (p.status) assign("status", ps.arg(model::to_string(*p.status)));
  if (p.started_at) assign("own_started_at", ps.arg(*p.started_at) + "::bigint");
  if (p.ended_at) assign("ended_at", ps.arg(*p.ended_at) + "::bigint");
  if (set.empty()) set = "id = id";
  const std::string sql = fmt::format("UPDATE sessions SET {} WHERE project_id = {} AND id = {}",
                                      set, ps.arg(project_id), ps.arg(p.id));
  auto r = c.exec(sql, ps);
  if (!r.is_ok()) return r.status();
  if (r->affected() == 0) return Status::not_found(fmt::format("session '{}' not found", p.id));
  return Status::ok();
}

Result<Session> PostgresStore::create_session(int64_t project_id, const SessionPatch& s,
                                              Micros now) {
  SessionPatch p = s;
  if (!p.started_at || !*p.started_at) p.started_at = std::optional<Micros>(now);
  {
    std::lock_guard lock(write_mu_);
    if (auto st = write_tx([&](PgConn&) { return apply_patch(project_id, p, PatchMode::kCreate); });
        !st.is_ok()) {
      return st;
    }
  }
  return get_session(project_id, p.id);
}

Result<Session> PostgresStore::patch_session(int64_t project_id, const SessionPatch& s) {
  {
    std::lock_guard lock(write_mu_);
    if (auto st = write_tx([&](PgConn&) { return apply_patch(project_id, s, PatchMode::kUpdate); });
        !st.is_ok()) {
      return st;
    }
  }
  return get_session(project_id, s.id);
}

Status PostgresStore::delete_session(int64_t project_id, const std::string& id) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(project_id).add(id);
    auto del = c.exec("DELETE FROM sessions WHERE project_id = $1 AND id = $2", p);
    if (!del.is_ok()) return del.status();
    if (del->affected() == 0) return Status::not_found(fmt::format("session '{}' not found", id));
    return c
        .exec(
            "WITH gone AS (DELETE FROM events WHERE project_id = $1 AND session_id = $2 RETURNING "
            "id) "
            "DELETE FROM event_keys k USING gone WHERE k.project_id = $1 AND k.id = gone.id",
            p)
        .status();
  });
}

Result<bool> PostgresStore::delete_session_if_empty(int64_t project_id, const std::string& id) {
  std::lock_guard lock(write_mu_);
  Result<bool> deleted = false;
  // One statement: under READ COMMITTED a concurrent commit that raised event_count is
  // waited for and the condition re-checked on its row, so a session with events stays.
  const Status s = write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(project_id).add(id);
    auto del =
        c.exec("DELETE FROM sessions WHERE project_id = $1 AND id = $2 AND event_count = 0", p);
    if (!del.is_ok()) return del.status();
    deleted = del->affected() > 0;
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return deleted;
}

// ---- queries -----------------------------------------------------------------------------

Result<Session> PostgresStore::get_session(int64_t project_id, const std::string& id) {
  return with_reader([&](PgConn& c) -> Result<Session> {
    Params p;
    p.add(project_id).add(id);
    auto r = c.exec(
        fmt::format("SELECT {} FROM sessions WHERE project_id = $1 AND id = $2", kSessionColumns),
        p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found(fmt::format("session '{}' not found", id));
    return read_session(*r, 0);
  });
}

Result<Page<Session, SessionCursor>> PostgresStore::list_sessions(const SessionQuery& q) {
  return with_reader([&](PgConn& c) -> Result<Page<Session, SessionCursor>> {
    Params ps;
    const std::string_view expr = sort_expr(q.sort);
    const bool real_key = q.sort == SessionSort::kCostUsd;
    std::string sql = fmt::format("SELECT {}, {} FROM sessions WHERE project_id = {}",
                                  kSessionColumns, expr, ps.arg(q.project_id));
    if (q.agent) sql += " AND agent = " + ps.arg(*q.agent);
    if (q.status) sql += " AND status = " + ps.arg(model::to_string(*q.status));
    if (q.user_id) sql += " AND user_id = " + ps.arg(*q.user_id);
    if (q.tag) sql += " AND tags ? " + ps.arg(*q.tag);
    if (q.q) {
      // A literal substring, case-insensitive for ASCII letters only (lower() under "C").
      const std::string needle = ps.arg(ascii_lower(*q.q));
      sql += fmt::format(
          " AND (strpos(lower(id COLLATE \"C\"), {0}) > 0 OR strpos(lower(name COLLATE \"C\"), "
          "{0}) > 0 "
          "OR strpos(lower(agent COLLATE \"C\"), {0}) > 0 OR strpos(lower(user_id COLLATE \"C\"), "
          "{0}) > 0)",
          needle);
    }
    if (q.from)
      sql += " AND coalesce(started_at, -999999999999999999) >= " + ps.arg(*q.from) + "::bigint";
    if (q.to) {
      sql += " AND coalesce(started_at, -999999999999999999) < " + ps.arg(*q.to) +
             "::bigint AND started_at IS NOT NULL";
    }
    const char* cmp = q.descending ? "<" : ">";
    if (q.after) {
      const std::string key =
          real_key ? ps.arg(q.after->real_value) + "::float8" : ps.arg(q.after->int_value) + "::bigint";
      sql += fmt::format(" AND ({}, id) {} ({}, {})", expr, cmp, key, ps.arg(q.after->id));
    }
    const char* dir = q.descending ? "DESC" : "ASC";
    sql += fmt::format(" ORDER BY {0} {1}, id {1} LIMIT {2}", expr, dir, ps.arg(q.limit + 1));
    auto r = c.exec(sql, ps);
    if (!r.is_ok()) return r.status();
    Page<Session, SessionCursor> page;
    for (int i = 0; i < r->rows(); ++i) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        const int l = i - 1;
        page.next = real_key
                        ? SessionCursor{0, r->real(l, kSessionColumnCount), page.items.back().id}
                        : SessionCursor{r->int64(l, kSessionColumnCount), 0, page.items.back().id};
        break;
      }
      page.items.push_back(read_session(*r, i));
    }
    return page;
  });
}

Result<Page<StoredEvent, EventCursor>> PostgresStore::session_events(
    int64_t project_id, const std::string& session_id, int limit,
    std::optional<EventCursor> after) {
  return with_reader([&](PgConn& c) -> Result<Page<StoredEvent, EventCursor>> {
    Params p;
    p.add(project_id).add(session_id).add(limit + 1);
    std::string sql = fmt::format("SELECT {} FROM events WHERE project_id = $1 AND session_id = $2",
                                  kEventColumns);
    if (after) {
      p.add(after->started_at).add(after->seq);
      sql += " AND (started_at, seq) > ($4::bigint, $5::bigint)";
    }
    sql += " ORDER BY started_at, seq LIMIT $3";
    auto r = c.exec(sql, p);
    if (!r.is_ok()) return r.status();
    Page<StoredEvent, EventCursor> page;
    for (int i = 0; i < r->rows(); ++i) {
      if (static_cast<int>(page.items.size()) == limit) {
        const StoredEvent& l = page.items.back();
        page.next = EventCursor{l.event.started_at, l.seq};
        break;
      }
      page.items.push_back(read_event(*r, i));
    }
    return page;
  });
}

Result<StoredEvent> PostgresStore::get_event(int64_t project_id, const std::string& id) {
  return with_reader([&](PgConn& c) -> Result<StoredEvent> {
    Params p;
    p.add(project_id).add(id);
    auto r = c.exec(
        fmt::format("SELECT {} FROM events WHERE project_id = $1 AND id = $2", kEventColumns), p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found(fmt::format("event '{}' not found", id));
    return read_event(*r, 0);
  });
}

Result<Page<StoredEvent, EventCursor>> PostgresStore::search_events(const EventQuery& q) {
  std::string tsq;
  if (q.q) {
    {
      std::lock_guard lock(query_words_mu_);
      tsq = query_words_->tsquery(*q.q);
    }
    if (tsq.empty()) return Page<StoredEvent, EventCursor>{};
  }
  return with_reader([&](PgConn& c) -> Result<Page<StoredEvent, EventCursor>> {
    Params ps;
    std::string where = "project_id = " + ps.arg(q.project_id);
    where += event_filters(q, ps);
    if (q.from) where += " AND started_at >= " + ps.arg(*q.from) + "::bigint";
    if (q.to) where += " AND started_at < " + ps.arg(*q.to) + "::bigint";
    auto page_of = [&](const PgResult& r) {
      Page<StoredEvent, EventCursor> page;
      for (int i = 0; i < r.rows(); ++i) {
        if (static_cast<int>(page.items.size()) == q.limit) {
          const StoredEvent& l = page.items.back();
          page.next = EventCursor{l.event.started_at, l.seq};
          break;
        }
        page.items.push_back(read_event(r, i));
      }
      return page;
    };
    if (!q.q) {
      if (q.after) {
        where += fmt::format(" AND (started_at, seq) < ({}::bigint, {}::bigint)",
                             ps.arg(q.after->started_at), ps.arg(q.after->seq));
      }
      auto r = c.exec(fmt::format("SELECT {} FROM events WHERE {} ORDER BY started_at DESC, seq "
                                  "DESC LIMIT {}",
                                  kEventColumns, where, ps.arg(q.limit + 1)),
                      ps);
      if (!r.is_ok()) return r.status();
      return page_of(*r);
    }

    // Full-text matches come most recently committed first. Left to itself, the planner
    // walks seq backwards and tests every event whenever it expects the words to be
    // frequent enough, and its estimate for a word its statistics do not list is about
    // 0.1% of the events: a word in 100 of 1M events then walks all of them (~200 ms).
    // So the walk is bounded, and chosen from what a short walk finds: a frequent word
    // fills the page there; a word that looks frequent enough to fill it within
    // kSearchWalkPerResult events per result is walked that far; anything rarer (or
    // unlucky) is left to the GIN index, which finds every match, of which only the newest
    // are read in full.
    if (q.after) where += " AND seq < " + ps.arg(q.after->seq) + "::bigint";
    const std::string match = " AND search @@ " + ps.arg(tsq) + "::tsquery";
    const std::string limit = ps.arg(q.limit + 1);
    const int64_t wanted = q.limit + 1;
    auto walk = [&](int64_t window) {
      return c.exec(
          fmt::format("SELECT {0} FROM (SELECT {0}, search FROM events WHERE {1} ORDER BY seq "
                      "DESC LIMIT {2}) w WHERE true{3} ORDER BY seq DESC LIMIT {4}",
                      kEventColumns, where, window, match, limit),
          ps);
    };
    const int64_t probe = std::max(kSearchProbeMin, kSearchProbePerResult * wanted);
    auto walked = walk(probe);
    if (!walked.is_ok()) return walked.status();
    if (walked->rows() == wanted) return page_of(*walked);
    const int64_t window =
        std::clamp(kSearchWalkPerResult * wanted, kSearchWalkMin, kSearchWalkMax);
    if (walked->rows() > 0 && probe * wanted / walked->rows() <= window) {
      walked = walk(window);
      if (!walked.is_ok()) return walked.status();
      if (walked->rows() == wanted) return page_of(*walked);
    }
    // MATERIALIZED keeps the LIMIT from steering the match set back to the walk.
    auto indexed =
        c.exec(fmt::format("WITH m AS MATERIALIZED (SELECT seq FROM events WHERE {1}{2}), "
                           "newest AS MATERIALIZED (SELECT seq FROM m ORDER BY seq DESC LIMIT {3}) "
                           "SELECT {0} FROM events JOIN newest USING (seq) ORDER BY seq DESC",
                           kEventColumns, where, match, limit),
               ps);
    if (!indexed.is_ok()) return indexed.status();
    return page_of(*indexed);
  });
}

Result<std::vector<StoredEvent>> PostgresStore::events_after(const EventQuery& q,
                                                             int64_t after_seq) {
  return with_reader([&](PgConn& c) -> Result<std::vector<StoredEvent>> {
    Params ps;
    std::string sql =
        fmt::format("SELECT {} FROM events WHERE seq > {}::bigint AND project_id = {}",
                    kEventColumns, ps.arg(after_seq), ps.arg(q.project_id));
    sql += event_filters(q, ps);
    sql += " ORDER BY seq LIMIT " + ps.arg(q.limit);
    auto r = c.exec(sql, ps);
    if (!r.is_ok()) return r.status();
    std::vector<StoredEvent> out;
    out.reserve(static_cast<size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_event(*r, i));
    return out;
  });
}

Result<std::vector<TailedEvent>> PostgresStore::tail(int64_t after_seq, int limit) {
  return with_reader([&](PgConn& c) -> Result<std::vector<TailedEvent>> {
    Params p;
    p.add(after_seq).add(limit);
    auto r =
        c.exec(fmt::format(
                   "SELECT project_id, {} FROM events WHERE seq > $1::bigint ORDER BY seq LIMIT $2",
                   kEventColumns),
               p);
    if (!r.is_ok()) return r.status();
    std::vector<TailedEvent> out;
    out.reserve(static_cast<size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i)
      out.push_back(TailedEvent{r->int64(i, 0), read_event(*r, i, 1)});
    return out;
  });
}

Result<int64_t> PostgresStore::last_seq() {
  return with_reader([](PgConn& c) -> Result<int64_t> {
    auto r = c.exec("SELECT last FROM event_seq WHERE id = 1");
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::internal("event_seq is empty");
    return r->int64(0, 0);
  });
}

Result<int64_t> PostgresStore::drop_events_before(Micros before) {
  auto c = PgConn::connect(options_.url);
  if (!c.is_ok()) return c.status();
  // DETACH PARTITION waits for every query on `events`, and everything after it waits for
  // DETACH: give up (and try again another time) rather than stall the replicas.
  if (auto r = c->exec("SET lock_timeout = '5s'"); !r.is_ok()) return r.status();
  Params p;
  p.add(before);
  auto r = c->exec("SELECT agentlog_drop_events_before($1::bigint)", p);
  if (!r.is_ok()) return r.status();
  return r->int64(0, 0);
}

Result<std::vector<AgentStats>> PostgresStore::agents(int64_t project_id,
                                                      std::optional<Micros> from,
                                                      std::optional<Micros> to) {
  return with_reader([&](PgConn& c) -> Result<std::vector<AgentStats>> {
    Params ps;
    ps.add(project_id);
    // A time window is a range of sessions_started (written as its expression; the same
    // sessions as `started_at >= from AND started_at < to`); the whole project is a scan of
    // sessions_agent (both cover every column read here).
    std::string where = "project_id = $1";
    if (from) {
      ps.add(*from);
      where +=
          fmt::format(" AND coalesce(started_at, -999999999999999999) >= ${}::bigint", ps.size());
    }
    if (to) {
      ps.add(*to);
      where += fmt::format(
          " AND coalesce(started_at, -999999999999999999) < ${}::bigint AND started_at IS NOT NULL",
          ps.size());
    }
    // percentile_cont interpolates linearly between closest ranks, like numpy's default.
    auto r = c.exec(
        fmt::format(
            "SELECT agent, count(*), count(*) FILTER (WHERE status = 'running'), "
            "count(*) FILTER (WHERE status = 'failure' OR error_count > 0), sum(event_count), "
            "sum(error_count), "
            "sum(llm_count), sum(tool_count), sum(input_tokens), sum(output_tokens), "
            "sum(total_tokens), "
            "sum(cost_usd), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), max(coalesce(last_event_at, "
            "started_at)) "
            "FROM (SELECT *, (coalesce(ended_at, last_event_at) - started_at)::float8 / 1000 AS d "
            "      FROM sessions WHERE {}) s GROUP BY agent",
            where),
        ps);
    if (!r.is_ok()) return r.status();
    std::vector<AgentStats> out;
    for (int i = 0; i < r->rows(); ++i) {
      AgentStats a;
      a.agent = r->opt_text(i, 0);
      a.sessions = r->int64(i, 1);
      a.running_sessions = r->int64(i, 2);
      a.failed_sessions = r->int64(i, 3);
      a.events = r->int64(i, 4);
      a.errors = r->int64(i, 5);
      a.llm_calls = r->int64(i, 6);
      a.tool_calls = r->int64(i, 7);
      a.input_tokens = r->int64(i, 8);
      a.output_tokens = r->int64(i, 9);
      a.total_tokens = r->int64(i, 10);
      a.cost_usd = r->real(i, 11);
      if (!r->is_null(i, 12)) a.p50_duration_ms = r->real(i, 12);
      if (!r->is_null(i, 13)) a.p95_duration_ms = r->real(i, 13);
      a.last_seen_at = r->opt_int64(i, 14);
      out.push_back(std::move(a));
    }
    // Most sessions first, then by name (sessions without an agent first among equals).
    std::sort(out.begin(), out.end(), [](const AgentStats& x, const AgentStats& y) {
      return x.sessions != y.sessions ? x.sessions > y.sessions : x.agent < y.agent;
    });
    return out;
  });
}

Result<TimeSeries> PostgresStore::timeseries(int64_t project_id, Micros from, Micros step,
                                             int buckets, const std::optional<std::string>& agent) {
  if (step <= 0 || buckets <= 0) return TimeSeries{from, step, std::max(buckets, 0), {}};
  return with_reader([&](PgConn& c) -> Result<TimeSeries> {
    Params ps;
    ps.add(project_id).add(from).add(step).add(from + step * buckets);
    // An event without an agent counts for its session's agent, as in the agents overview:
    // such events are grouped per session first, so each session is looked up once.
    std::string sql =
        "SELECT coalesce(x.agent COLLATE \"C\", s.agent) AS a, x.bucket, sum(x.n), sum(x.errors), "
        "sum(x.tokens), "
        "sum(x.cost) FROM (SELECT agent, CASE WHEN agent IS NULL THEN session_id END AS sid, "
        "(started_at - $2::bigint) / $3::bigint AS bucket, count(*) AS n, count(*) FILTER (WHERE "
        "has_error) AS errors, "
        "coalesce(sum(total_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS cost FROM events "
        "WHERE project_id = $1 AND started_at >= $2::bigint AND started_at < $4::bigint GROUP BY "
        "agent, sid, bucket) x "
        "LEFT JOIN sessions s ON x.sid IS NOT NULL AND s.project_id = $1 AND s.id = x.sid";
    if (agent) {
      ps.add(*agent);
      sql += " WHERE coalesce(x.agent COLLATE \"C\", s.agent) = $5";
    }
    sql += " GROUP BY 1, 2 ORDER BY 1 NULLS FIRST";
    auto r = c.exec(sql, ps);
    if (!r.is_ok()) return r.status();
    TimeSeries ts{from, step, buckets, {}};
    for (int i = 0; i < r->rows(); ++i) {
      const std::optional<std::string> a = r->opt_text(i, 0);
      if (ts.series.empty() || ts.series.back().agent != a) {
        model::AgentSeries& n = ts.series.emplace_back();
        n.agent = a;
        n.events.assign(static_cast<size_t>(buckets), 0);
        n.errors.assign(static_cast<size_t>(buckets), 0);
        n.total_tokens.assign(static_cast<size_t>(buckets), 0);
        n.cost_usd.assign(static_cast<size_t>(buckets), 0);
      }
      model::AgentSeries& cur = ts.series.back();
      const int64_t b = r->int64(i, 1);
      if (b < 0 || b >= buckets) continue;
      cur.events[static_cast<size_t>(b)] = r->int64(i, 2);
      cur.errors[static_cast<size_t>(b)] = r->int64(i, 3);
      cur.total_tokens[static_cast<size_t>(b)] = r->int64(i, 4);
      cur.cost_usd[static_cast<size_t>(b)] = r->real(i, 5);
    }
    return ts;
  });
}

// ---- projects and keys ---------------------------------------------------------------------

Result<Project> PostgresStore::create_project(const std::string& name, Micros now) {
  std::lock_guard lock(write_mu_);
  int64_t id = 0;
  const Status s = write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(name).add(now);
    auto r = c.exec("INSERT INTO projects (name, created_at) VALUES ($1, $2) RETURNING id", p);
    if (!r.is_ok()) return r.status();
    id = r->int64(0, 0);
    return Status::ok();
  });
  if (s.code() == Status::Code::kConflict)
    return Status::conflict(fmt::format("project '{}' already exists", name));
  if (!s.is_ok()) return s;
  return Project{id, name, now};
}

Result<std::vector<Project>> PostgresStore::list_projects() {
  return with_reader([](PgConn& c) -> Result<std::vector<Project>> {
    auto r = c.exec("SELECT id, name, created_at FROM projects ORDER BY id");
    if (!r.is_ok()) return r.status();
    std::vector<Project> out;
    for (int i = 0; i < r->rows(); ++i)
      out.push_back(Project{r->int64(i, 0), std::string(r->text(i, 1)), r->int64(i, 2)});
    return out;
  });
}

Result<Project> PostgresStore::find_project(const std::string& name) {
  return with_reader([&](PgConn& c) -> Result<Project> {
    Params p;
    p.add(name);
    auto r = c.exec("SELECT id, name, created_at FROM projects WHERE name = $1", p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found(fmt::format("project '{}' not found", name));
    return Project{r->int64(0, 0), std::string(r->text(0, 1)), r->int64(0, 2)};
  });
}

namespace {
constexpr std::string_view kKeyColumns =
    "k.id, k.project_id, p.name, k.name, k.prefix, k.hash, k.created_at, k.last_used_at, "
    "k.revoked_at";
ApiKey read_key(const PgResult& r, int i) {
  return ApiKey{r.int64(i, 0),
                r.int64(i, 1),
                std::string(r.text(i, 2)),
                std::string(r.text(i, 3)),
                std::string(r.text(i, 4)),
                std::string(r.text(i, 5)),
                r.int64(i, 6),
                r.opt_int64(i, 7),
                r.opt_int64(i, 8)};
}
}  // namespace

Result<ApiKey> PostgresStore::create_key(int64_t project_id, const std::string& name,
                                         const std::string& prefix, const std::string& hash,
                                         Micros now) {
  {
    std::lock_guard lock(write_mu_);
    const Status s = write_tx([&](PgConn& c) {
      Params p;
      p.add(project_id).add(name).add(prefix).add(hash).add(now);
      return c
          .exec(
              "INSERT INTO api_keys (project_id, name, prefix, hash, created_at) VALUES ($1, $2, "
              "$3, $4, $5)",
              p)
          .status();
    });
    if (s.code() == Status::Code::kConflict) return Status::conflict("key already exists");
    if (!s.is_ok()) return s;
  }
  return find_key_by_hash(hash);
}

Status PostgresStore::ensure_key(int64_t project_id, const std::string& name,
                                 const std::string& prefix, const std::string& hash, Micros now) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) {
    Params p;
    p.add(project_id).add(name).add(prefix).add(hash).add(now);
    return c
        .exec(
            "INSERT INTO api_keys (project_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, "
            "$4, $5) "
            "ON CONFLICT (hash) DO NOTHING",
            p)
        .status();
  });
}

Result<std::vector<ApiKey>> PostgresStore::list_keys(int64_t project_id) {
  return with_reader([&](PgConn& c) -> Result<std::vector<ApiKey>> {
    Params p;
    p.add(project_id);
    auto r = c.exec(fmt::format("SELECT {} FROM api_keys k JOIN projects p ON p.id = k.project_id "
                                "WHERE k.project_id = $1 ORDER BY k.id",
                                kKeyColumns),
                    p);
    if (!r.is_ok()) return r.status();
    std::vector<ApiKey> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_key(*r, i));
    return out;
  });
}

Status PostgresStore::revoke_key(int64_t project_id, int64_t key_id, Micros now) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(now).add(key_id).add(project_id);
    auto r = c.exec(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND project_id = "
        "$3",
        p);
    if (!r.is_ok()) return r.status();
    if (r->affected() == 0)
      return Status::not_found(fmt::format("key {} not found in this project", key_id));
    return Status::ok();
  });
}

Result<ApiKey> PostgresStore::find_key_by_hash(const std::string& hash) {
  return with_reader([&](PgConn& c) -> Result<ApiKey> {
    Params p;
    p.add(hash);
    auto r = c.exec(
        fmt::format(
            "SELECT {} FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.hash = $1",
            kKeyColumns),
        p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found("unknown key");
    return read_key(*r, 0);
  });
}

Status PostgresStore::touch_key(int64_t key_id, Micros now) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) {
    Params p;
    p.add(now).add(key_id);
    return c.exec("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", p).status();
  });
}

// ---- users and log-ins ---------------------------------------------------------------------

namespace {
constexpr std::string_view kUserColumns = "id, email, password_hash, role, created_at";
User read_user(const PgResult& r, int i, int at = 0) {
  return User{r.int64(i, at), std::string(r.text(i, at + 1)), std::string(r.text(i, at + 2)),
              model::parse_role(r.text(i, at + 3)).value_or(Role::kViewer), r.int64(i, at + 4)};
}
}  // namespace

Result<User> PostgresStore::create_user(const std::string& email, const std::string& password_hash,
                                        Role role, Micros now) {
  std::lock_guard lock(write_mu_);
  int64_t id = 0;
  const Status s = write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(email).add(password_hash).add(model::to_string(role)).add(now);
    auto r = c.exec(
        "INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) "
        "RETURNING id",
        p);
    if (!r.is_ok()) return r.status();
    id = r->int64(0, 0);
    return Status::ok();
  });
  if (s.code() == Status::Code::kConflict)
    return Status::conflict(fmt::format("user '{}' already exists", email));
  if (!s.is_ok()) return s;
  return User{id, email, password_hash, role, now};
}

Result<std::vector<User>> PostgresStore::list_users() {
  return with_reader([](PgConn& c) -> Result<std::vector<User>> {
    auto r = c.exec(fmt::format("SELECT {} FROM users ORDER BY id", kUserColumns));
    if (!r.is_ok()) return r.status();
    std::vector<User> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_user(*r, i));
    return out;
  });
}

Result<User> PostgresStore::find_user(const std::string& email) {
  return with_reader([&](PgConn& c) -> Result<User> {
    Params p;
    p.add(email);
    auto r = c.exec(fmt::format("SELECT {} FROM users WHERE email = $1", kUserColumns), p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found(fmt::format("user '{}' not found", email));
    return read_user(*r, 0);
  });
}

Status PostgresStore::delete_user(const std::string& email) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) -> Status {
    Params p;
    p.add(email);
    auto r =
        c.exec("DELETE FROM users WHERE email = $1", p);  // log-ins go with it (ON DELETE CASCADE)
    if (!r.is_ok()) return r.status();
    if (r->affected() == 0) return Status::not_found(fmt::format("user '{}' not found", email));
    return Status::ok();
  });
}

Status PostgresStore::create_login(const LoginSession& l) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) -> Status {
    // Expired log-ins are swept here: log-ins are rare, so the table stays small without a timer.
    Params sweep;
    sweep.add(l.created_at);
    if (auto r = c.exec("DELETE FROM login_sessions WHERE expires_at <= $1", sweep); !r.is_ok())
      return r.status();
    Params p;
    p.add(l.token_hash).add(l.user_id).add(l.csrf_token).add(l.created_at).add(l.expires_at);
    return c
        .exec(
            "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            p)
        .status();
  });
}

Result<std::pair<LoginSession, User>> PostgresStore::find_login(const std::string& token_hash,
                                                                Micros now) {
  return with_reader([&](PgConn& c) -> Result<std::pair<LoginSession, User>> {
    Params p;
    p.add(token_hash).add(now);
    auto r = c.exec(
        "SELECT l.token_hash, l.user_id, l.csrf_token, l.created_at, l.expires_at, u.id, u.email, "
        "u.password_hash, "
        "u.role, u.created_at FROM login_sessions l JOIN users u ON u.id = l.user_id "
        "WHERE l.token_hash = $1 AND l.expires_at > $2",
        p);
    if (!r.is_ok()) return r.status();
    if (r->rows() == 0) return Status::not_found("no such log-in");
    LoginSession l{std::string(r->text(0, 0)), r->int64(0, 1), std::string(r->text(0, 2)),
                   r->int64(0, 3), r->int64(0, 4)};
    return std::pair{std::move(l), read_user(*r, 0, 5)};
  });
}

Status PostgresStore::delete_login(const std::string& token_hash) {
  std::lock_guard lock(write_mu_);
  return write_tx([&](PgConn& c) {
    Params p;
    p.add(token_hash);
    return c.exec("DELETE FROM login_sessions WHERE token_hash = $1", p).status();
  });
}

int64_t PostgresStore::database_size_bytes() {
  auto r = with_reader([](PgConn& c) -> Result<int64_t> {
    auto q = c.exec("SELECT pg_database_size(current_database())");
    if (!q.is_ok()) return q.status();
    return q->int64(0, 0);
  });
  return r.is_ok() ? *r : 0;
}

}  // namespace agentlog::store::postgres
