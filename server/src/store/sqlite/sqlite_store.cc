#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <unordered_map>

namespace agentlog::store::sqlite {

extern const std::pair<std::string_view, std::string_view> kMigrations[];
extern const std::size_t kMigrationsCount;

namespace {

using model::Event;
using model::EventStatus;
using model::EventType;
using model::SessionSort;

constexpr std::string_view kSessionColumns =
    "id, name, agent, user_id, tags, metadata, status, started_at, ended_at, last_event_at, event_count, "
    "error_count, llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd";

// What a write group adds to a session (Delta): ?A is its agent, ?A+1.. its totals.
std::string rollup_set(int a) {
  return fmt::format(
      "first_event_at = CASE WHEN ?{0} IS NULL THEN first_event_at WHEN first_event_at IS NULL THEN ?{0} "
      "  ELSE min(first_event_at, ?{0}) END, "
      "last_event_at = CASE WHEN ?{1} IS NULL THEN last_event_at WHEN last_event_at IS NULL THEN ?{1} "
      "  ELSE max(last_event_at, ?{1}) END, "
      "event_count = event_count + ?{2}, error_count = error_count + ?{3}, llm_count = llm_count + ?{4}, "
      "tool_count = tool_count + ?{5}, input_tokens = input_tokens + ?{6}, output_tokens = output_tokens + ?{7}, "
      "total_tokens = total_tokens + ?{8}, cost_usd = cost_usd + ?{9}",
      a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7, a + 8, a + 9, a + 10);
}
// A patch's fields but its agent, in ?3..?10, with presence flags in ?11..?18.
constexpr std::string_view kPatchSet =
    "name = CASE WHEN ?11 THEN excluded.name ELSE name END, "
    "user_id = CASE WHEN ?13 THEN excluded.user_id ELSE user_id END, "
    "tags = CASE WHEN ?14 THEN excluded.tags ELSE tags END, "
    "metadata = CASE WHEN ?15 THEN excluded.metadata ELSE metadata END, "
    "status = CASE WHEN ?16 THEN excluded.status ELSE status END, "
    "own_started_at = CASE WHEN ?17 THEN excluded.own_started_at ELSE own_started_at END, "
    "ended_at = CASE WHEN ?18 THEN excluded.ended_at ELSE ended_at END";
constexpr std::string_view kPatchValues =
    "?1, ?2, ?3, ?4, ?5, ifnull(?6, '[]'), ifnull(?7, '{}'), ifnull(?8, 'running'), ?9, ?10, ?19";

// Finds one session's events through events_session (0005_session_numbers.sql): `e` is
// the events table, ?1 the project, `id` the parameter holding the session id.
std::string session_num_of(std::string_view id) {
  return fmt::format("e.session_num = (SELECT num FROM sessions WHERE project_id = ?1 AND id = {})", id);
}

// What read_event reads, from `events e`. The attributes are the row's own part followed by
// its shared suffix, if any (0004_attribute_suffixes.sql).
constexpr std::string_view kEventColumns =
    "e.seq, e.id, e.session_id, e.parent_id, e.trace_id, e.span_id, e.type, e.name, e.agent, e.started_at, "
    "e.ended_at, e.status, e.input, e.output, e.has_error, e.error_type, e.error_message, e.error_stack, e.model, "
    "e.provider, e.input_tokens, e.output_tokens, e.total_tokens, e.cached_tokens, e.cost_usd, "
    "e.attributes || ifnull((SELECT x.text FROM attribute_suffixes x WHERE x.id = e.attributes_suffix), ''), e.tags";

// A shared attributes suffix shorter than this is stored inline: a copy elsewhere would not
// pay for its lookup.
constexpr size_t kMinSharedSuffix = 64;
// WAL pages between checkpoints (16 KiB pages: 64 MiB), and the WAL's bound.
constexpr int kCheckpointFrames = 4000;
constexpr int kMaxWalFrames = 4 * kCheckpointFrames;

// For maps keyed by std::string that are looked up by string_view without allocating.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

// Sessions sort on these expressions. A session without a start or an event yet sorts as
// the earliest (a key below year 1, exact in an int64 cursor), so keyset pagination never
// meets a NULL. The two times have indexes keyed by their second, `expr / 1000000`
// (0007_sessions_by_number.sql): orders and bounds on them are written on that expression
// too, so that those indexes serve them.
struct SortKey {
  std::string_view expr;
  bool by_second;
};
constexpr std::string_view kStartedKey = "ifnull(started_at, -999999999999999999)";

SortKey sort_key(SessionSort s) {
  switch (s) {
    case SessionSort::kStartedAt: return {kStartedKey, true};
    case SessionSort::kLastEventAt: return {"ifnull(last_event_at, -999999999999999999)", true};
    case SessionSort::kCostUsd: return {"cost_usd", false};
    case SessionSort::kTotalTokens: return {"total_tokens", false};
    case SessionSort::kEventCount: return {"event_count", false};
    case SessionSort::kErrorCount: return {"error_count", false};
  }
  return {kStartedKey, true};
}

// " AND <key> <op> <param>" (op: < <= > >=), with the same bound on the key's second when
// its index is keyed by that.
std::string key_bound(const SortKey& k, std::string_view op, std::string_view param) {
  std::string out = fmt::format(" AND {} {} {}", k.expr, op, param);
  if (k.by_second) out += fmt::format(" AND {} / 1000000 {}= {} / 1000000", k.expr, op.substr(0, 1), param);
  return out;
}

// Sessions started in [from, to), written on the indexed expression so that a window is a
// range of sessions_started (or sessions_agent); one not started yet is in no window with an end.
std::string started_window(const std::optional<Micros>& from, const std::optional<Micros>& to,
                           std::string_view from_param, std::string_view to_param) {
  const SortKey started = sort_key(SessionSort::kStartedAt);
  std::string out;
  if (from) out += key_bound(started, ">=", from_param);
  if (to) out += key_bound(started, "<", to_param) + " AND started_at IS NOT NULL";
  return out;
}

Session read_session(const Stmt& r) {
  Session s;
  s.id = r.text(0);
  s.name = r.opt_text(1);
  s.agent = r.opt_text(2);
  s.user_id = r.opt_text(3);
  s.tags_json = r.text(4);
  s.metadata_json = r.text(5);
  s.status = model::parse_session_status(r.text(6)).value_or(model::SessionStatus::kRunning);
  s.started_at = r.opt_int64(7);
  s.ended_at = r.opt_int64(8);
  s.last_event_at = r.opt_int64(9);
  s.event_count = r.int64(10);
  s.error_count = r.int64(11);
  s.llm_count = r.int64(12);
  s.tool_count = r.int64(13);
  s.input_tokens = r.int64(14);
  s.output_tokens = r.int64(15);
  s.total_tokens = r.int64(16);
  s.cost_usd = r.real(17);
  return s;
}

StoredEvent read_event(const Stmt& r) {
  StoredEvent se;
  se.seq = r.int64(0);
  Event& e = se.event;
  e.id = r.text(1);
  e.session_id = r.text(2);
  e.parent_id = r.opt_text(3);
  e.trace_id = r.opt_text(4);
  e.span_id = r.opt_text(5);
  e.type = model::parse_event_type(r.text(6)).value_or(EventType::kCustom);
  e.name = r.opt_text(7);
  e.agent = r.opt_text(8);
  e.started_at = r.int64(9);
  e.ended_at = r.opt_int64(10);
  e.status = model::parse_event_status(r.text(11)).value_or(EventStatus::kOk);
  e.input_json = r.opt_text(12);
  e.output_json = r.opt_text(13);
  if (r.int64(14) != 0) e.error = model::ErrorInfo{r.opt_text(15), r.opt_text(16), r.opt_text(17)};
  e.model = r.opt_text(18);
  e.provider = r.opt_text(19);
  if (!r.is_null(20)) e.usage = model::Usage{r.int64(20), r.int64(21), r.int64(22), r.int64(23)};
  if (!r.is_null(24)) e.cost_usd = r.real(24);
  e.attributes_json = r.text(25);
  e.tags_json = r.text(26);
  return se;
}

// A session's rollup change from one write group.
struct Delta {
  int64_t events = 0, errors = 0, llm = 0, tool = 0, in_tok = 0, out_tok = 0, tot_tok = 0;
  double cost = 0;
  std::optional<Micros> min_start, max_end;
  std::optional<std::string> agent;
  bool recompute_bounds = false;
  int64_t num = 0;  // sessions.num, once the rollup is written

  void add(const Event& e, int sign) {
    events += sign;
    errors += sign * (e.status == EventStatus::kError);
    llm += sign * (e.type == EventType::kLlm);
    tool += sign * (e.type == EventType::kTool);
    if (e.usage) {
      in_tok += sign * e.usage->input_tokens;
      out_tok += sign * e.usage->output_tokens;
      tot_tok += sign * e.usage->total_tokens;
    }
    if (e.cost_usd) cost += sign * *e.cost_usd;
    if (sign > 0) {
      const Micros end = e.ended_at.value_or(e.started_at);
      min_start = min_start ? std::min(*min_start, e.started_at) : e.started_at;
      max_end = max_end ? std::max(*max_end, end) : end;
      if (!agent && e.agent) agent = e.agent;
    }
  }
};

// The agents overview's accumulation, fed one session at a time by the SQL aggregate
// agentlog_agent_row (registered on every reader connection).
class AgentsScan {
 public:
  // Arguments: agent, status, event_count, error_count, llm_count, tool_count,
  // input_tokens, output_tokens, total_tokens, cost_usd, duration (us), last seen (us).
  void add(sqlite3_value** v) {
    Acc* acc;
    if (sqlite3_value_type(v[0]) == SQLITE_NULL) {
      acc = no_agent_ ? &*no_agent_ : &no_agent_.emplace();
    } else {
      const std::string_view agent = text(v[0]);
      auto it = by_agent_.find(agent);
      if (it == by_agent_.end()) it = by_agent_.emplace(std::string(agent), Acc{}).first;
      acc = &it->second;
    }
    AgentStats& g = acc->stats;
    const std::string_view status = text(v[1]);
    const int64_t errors = sqlite3_value_int64(v[3]);
    ++g.sessions;
    g.running_sessions += status == "running";
    g.failed_sessions += status == "failure" || errors > 0;
    g.events += sqlite3_value_int64(v[2]);
    g.errors += errors;
    g.llm_calls += sqlite3_value_int64(v[4]);
    g.tool_calls += sqlite3_value_int64(v[5]);
    g.input_tokens += sqlite3_value_int64(v[6]);
    g.output_tokens += sqlite3_value_int64(v[7]);
    g.total_tokens += sqlite3_value_int64(v[8]);
    g.cost_usd += sqlite3_value_double(v[9]);
    if (sqlite3_value_type(v[10]) != SQLITE_NULL) {
      acc->durations.push_back(static_cast<double>(sqlite3_value_int64(v[10])) / 1000.0);  // ms
    }
    if (sqlite3_value_type(v[11]) != SQLITE_NULL) {
      const Micros seen = sqlite3_value_int64(v[11]);
      if (!g.last_seen_at || seen > *g.last_seen_at) g.last_seen_at = seen;
    }
  }

  // Most sessions first, then by name (sessions without an agent first among equals).
  std::vector<AgentStats> finish() {
    std::vector<AgentStats> out;
    if (no_agent_) out.push_back(done(std::nullopt, *no_agent_));
    for (auto& [agent, a] : by_agent_) out.push_back(done(agent, a));
    std::sort(out.begin(), out.end(), [](const AgentStats& x, const AgentStats& y) {
      return x.sessions != y.sessions ? x.sessions > y.sessions : x.agent < y.agent;
    });
    return out;
  }

 private:
  struct Acc {
    AgentStats stats;
    std::vector<double> durations;
  };
  static std::string_view text(sqlite3_value* v) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(v))) : std::string_view();
  }
  // Linear interpolation between closest ranks (numpy's default); selection, not a sort.
  static double percentile(std::vector<double>& v, double p) {
    const double pos = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(lo), v.end());
    const double below = v[lo];
    const double above =
        lo + 1 < v.size() ? *std::min_element(v.begin() + static_cast<ptrdiff_t>(lo) + 1, v.end()) : below;
    return below + (above - below) * (pos - static_cast<double>(lo));
  }
  static AgentStats done(std::optional<std::string> agent, Acc& a) {
    a.stats.agent = std::move(agent);
    if (!a.durations.empty()) {
      a.stats.p50_duration_ms = percentile(a.durations, 0.5);
      a.stats.p95_duration_ms = percentile(a.durations, 0.95);
    }
    return std::move(a.stats);
  }

  StringMap<Acc> by_agent_;  // looked up by agent without allocating per row
  std::optional<Acc> no_agent_;
};

// xStep of agentlog_agent_row: the user data is the reader's AgentsScan slot, set only
// while SqliteStore::agents runs the query.
void agent_row_step(sqlite3_context* ctx, int, sqlite3_value** v) {
  AgentsScan* scan = *static_cast<AgentsScan**>(sqlite3_user_data(ctx));
  if (!scan) {
    sqlite3_result_error(ctx, "agentlog_agent_row is only for the agents overview", -1);
    return;
  }
  try {
    scan->add(v);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  }
}
void agent_row_final(sqlite3_context* ctx) { sqlite3_result_null(ctx); }

struct SessionKey {
  int64_t project_id;
  std::string id;
};
struct SessionKeyView {
  int64_t project_id;
  std::string_view id;
};
// Orders SessionKeys; finds them by SessionKeyView without copying the id.
struct SessionKeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    if (a.project_id != b.project_id) return a.project_id < b.project_id;
    return std::string_view(a.id) < std::string_view(b.id);
  }
};
using Deltas = std::map<SessionKey, Delta, SessionKeyLess>;

Delta& delta_of(Deltas& deltas, int64_t project_id, std::string_view session_id) {
  auto it = deltas.find(SessionKeyView{project_id, session_id});
  if (it == deltas.end()) it = deltas.emplace(SessionKey{project_id, std::string(session_id)}, Delta{}).first;
  return it->second;
}

// A patch in ?1..?10 and ?19 (its session's number), its presence flags in ?11..?18.
void bind_patch(Stmt& st, int64_t project_id, const SessionPatch& p, int64_t num) {
  // A patch field is optional<optional<T>>: absent, set to null, or set to a value.
  auto bind_field = [&st](int i, const auto& field) {
    if (field && *field) st.bind(i, **field);
    else st.bind_null(i);
  };
  st.bind(1, project_id).bind(2, p.id);
  bind_field(3, p.name);
  bind_field(4, p.agent);
  bind_field(5, p.user_id);
  st.bind(6, p.tags_json).bind(7, p.metadata_json);
  if (p.status) st.bind(8, model::to_string(*p.status));
  bind_field(9, p.started_at);
  bind_field(10, p.ended_at);
  st.bind(19, num);
  st.bind(11, p.name.has_value()).bind(12, p.agent.has_value()).bind(13, p.user_id.has_value());
  st.bind(14, p.tags_json.has_value()).bind(15, p.metadata_json.has_value()).bind(16, p.status.has_value());
  st.bind(17, p.started_at.has_value()).bind(18, p.ended_at.has_value());
}

// A write group's rollup change in ?a (agent) and ?a+1..?a+10 (see rollup_set).
void bind_delta(Stmt& st, int a, const Delta& d) {
  st.bind(a, d.agent).bind(a + 1, d.min_start).bind(a + 2, d.max_end).bind(a + 3, d.events);
  st.bind(a + 4, d.errors).bind(a + 5, d.llm).bind(a + 6, d.tool).bind(a + 7, d.in_tok);
  st.bind(a + 8, d.out_tok).bind(a + 9, d.tot_tok).bind(a + 10, d.cost);
}

}  // namespace

// ---- connections -------------------------------------------------------------------------

struct SqliteStore::Writer {
  explicit Writer(Connection c) : conn(std::move(c)) {}
  Connection conn;
  Stmt insert_event, find_event, delete_event, upsert_rollup, upsert_session, recompute_bounds, upsert_patch,
      insert_patch,
      find_session_num, set_next_seq, set_next_session_num, find_suffix, insert_suffix;
  int64_t next_seq = 1;
  // sessions.num for the next new session, and its value in meta as last committed. A
  // transaction claims numbers from the first; only its commit saves them.
  int64_t next_session_num = 1, saved_session_num = 1;

  Status begin(Transaction& tx) {
    next_session_num = saved_session_num;  // a transaction that did not commit gave its numbers back
    return tx.begin_immediate();
  }
  // The number of a stored session, or a new one claimed for a session about to be
  // stored. (Looked up rather than RETURNed by the upsert: RETURNING runs as a trigger,
  // which cost the writer ~0.6 us per OTLP span.)
  struct SessionNum {
    int64_t num;
    bool stored;
  };
  Result<SessionNum> session_num(int64_t project_id, std::string_view id) {
    find_session_num.bind(1, project_id).bind(2, id);
    const int rc = find_session_num.step();
    const SessionNum n = rc == SQLITE_ROW ? SessionNum{find_session_num.int64(0), true} : SessionNum{next_session_num, false};
    find_session_num.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return conn.error("find session");
    if (!n.stored) ++next_session_num;
    return n;
  }
  Status commit(Transaction& tx) {
    if (next_session_num != saved_session_num) {
      set_next_session_num.bind(1, next_session_num);
      const int rc = set_next_session_num.step();
      set_next_session_num.reset();
      if (rc != SQLITE_DONE) return conn.error("advance next_session_num");
    }
    if (auto s = tx.commit(); !s.is_ok()) return s;
    saved_session_num = next_session_num;
    return Status::ok();
  }
  // attribute_suffixes ids by project and text; bounded, and cleared when a transaction fails
  // (its new rows are gone). Looked up by string_view: a hit allocates nothing.
  std::unordered_map<int64_t, StringMap<int64_t>> suffix_ids;
  size_t suffix_count = 0;
  void forget_suffixes() {
    suffix_ids.clear();
    suffix_count = 0;
  }
};

struct SqliteStore::Reader {
  Connection conn;
  std::unordered_map<std::string, Stmt> cache;
  AgentsScan* agents_scan = nullptr;  // agentlog_agent_row's target while agents() runs

  Result<Stmt*> stmt(const std::string& sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      if (cache.size() > 128 && used.empty()) cache.clear();  // bounded; filter combinations are finite anyway
      auto s = conn.prepare(sql);
      if (!s.is_ok()) return s.status();
      it = cache.emplace(sql, std::move(*s)).first;
    }
    it->second.reset();
    used.push_back(&it->second);
    return &it->second;
  }
  // A statement left mid-result holds its read transaction (and a stale snapshot) open;
  // every statement is reset when the connection goes back to the pool.
  void release() {
    for (Stmt* s : used) s->reset();
    used.clear();
  }
  std::vector<Stmt*> used;
};

class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore& store, std::unique_ptr<Reader> r) : store_(store), r_(std::move(r)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!r_) return;
    r_->release();
    {
      std::lock_guard lock(store_.readers_mu_);
      store_.idle_readers_.push_back(std::move(r_));
    }
    store_.readers_cv_.notify_one();
  }
  Reader* operator->() { return r_.get(); }
  Reader& operator*() { return *r_; }
  explicit operator bool() const { return r_ != nullptr; }

 private:
  SqliteStore& store_;
  std::unique_ptr<Reader> r_;
};

SqliteStore::SqliteStore(SqliteOptions options)
    : options_(std::move(options)),
      db_path_((std::filesystem::path(options_.data_dir) / "agentlog.db").string()),
      search_path_((std::filesystem::path(options_.data_dir) / "search.db").string()),
      ids_path_((std::filesystem::path(options_.data_dir) / "ids.db").string()) {}

SqliteStore::~SqliteStore() {
  if (indexer_) indexer_->stop();
  std::lock_guard lock(write_mu_);
  if (checkpointer_) checkpointer_->stop();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
  // Before SQLite initializes: no global memory statistics (a mutex on every
  // allocation) and no per-connection mutexes (each connection is used by one thread
  // at a time).
  static std::once_flag configured;
  std::call_once(configured, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
  });
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Status::unavailable(fmt::format("cannot create data directory {}: {}", options.data_dir, ec.message()));
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  auto conn = Connection::open(store->db_path_, false);
  if (!conn.is_ok()) return conn.status();
  store->writer_ = std::make_unique<Writer>(std::move(*conn));
  Connection& c = store->writer_->conn;
  // 16 KiB pages (set before the database switches to WAL; existing databases keep
  // theirs) and a large cache: measured with bench/sqlite_ceiling.c, they take the raw
  // insert rate of event rows from ~68k to ~119k rows/s on 2 cores. The cache holds 40 MiB
  // of pages, which take ~50 MiB of memory: jemalloc serves each 16 KiB page plus SQLite's
  // header from its 20 KiB size class. (A 32 MiB cache inserted as fast as a 64 MiB one;
  // 40 rather than 50 since ids.db's connections took ~15 MiB more.)
  // Checkpoints run every kCheckpointFrames pages (64 MiB of WAL): inline after commits
  // until the server's Checkpointer takes them over. A WAL file that starts over keeps up
  // to its bound (kMaxWalFrames pages): trimmed to 64 MiB after every cycle and
  // grown again, it cost the writer ~6 % more CPU per event.
  auto s = c.exec(fmt::format(
      "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous={}; PRAGMA cache_size=-40960;"
      "PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint={};"
      "PRAGMA journal_size_limit={}",
      options.full_durability ? "FULL" : "NORMAL", kCheckpointFrames, int64_t{kMaxWalFrames} * 16384));
  if (!s.is_ok()) return s;
  return store;
}

Status SqliteStore::migrate() {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  if (auto s = c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                      "applied_at INTEGER NOT NULL)");
      !s.is_ok()) {
    return s;
  }
  std::map<int64_t, std::pair<std::string_view, std::string_view>> known;
  for (size_t i = 0; i < kMigrationsCount; ++i) {
    known[std::stoll(std::string(kMigrations[i].first.substr(0, 4)))] = kMigrations[i];
  }
  const int64_t latest = known.empty() ? 0 : known.rbegin()->first;
  Transaction tx(c);
  if (auto s = tx.begin_immediate(); !s.is_ok()) return s;  // re-check under the lock: the CLI may race us
  auto cur = c.prepare("SELECT ifnull(max(version), 0) FROM schema_migrations");
  if (!cur.is_ok()) return cur.status();
  const int64_t current = cur->step() == SQLITE_ROW ? cur->int64(0) : 0;
  cur = Result<Stmt>(Stmt());
  if (current > latest) {
    return Status::unavailable(fmt::format(
        "database schema version {} is newer than this binary supports ({}); upgrade agentlog", current, latest));
  }
  for (const auto& [version, m] : known) {
    if (version <= current) continue;
    if (auto s = c.exec(m.second); !s.is_ok()) return Status::internal(fmt::format("migration {}: {}", m.first, s.message()));
    auto rec = c.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, "
                         "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))");
    if (!rec.is_ok()) return rec.status();
    rec->bind(1, version).bind(2, m.first);
    if (rec->step() != SQLITE_DONE) return c.error("record migration");
    spdlog::info("applied migration {}", m.first);
  }
  if (auto s = tx.commit(); !s.is_ok()) return s;

  // Statements of the write path, prepared once.
  Writer& w = *writer_;
  auto prep = [&](Stmt& st, std::string_view sql) -> Status {
    auto r = c.prepare(sql);
    if (!r.is_ok()) return r.status();
    st = std::move(*r);
    return Status::ok();
  };
  Status s;
  if (!(s = prep(w.insert_event,
                 "INSERT INTO events (seq, project_id, id, session_id, parent_id, trace_id, span_id, type, name, agent, "
                 "started_at, ended_at, status, input, output, has_error, error_type, error_message, error_stack, model, "
                 "provider, input_tokens, output_tokens, total_tokens, cached_tokens, cost_usd, attributes, tags, "
                 "attributes_suffix, session_num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                 "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)"))
           .is_ok() ||
      !(s = prep(w.find_event,
                 fmt::format("SELECT {} FROM events e WHERE seq = ? AND project_id = ? AND id = ?", kEventColumns)))
           .is_ok() ||
      !(s = prep(w.find_suffix,
                 "SELECT id FROM attribute_suffixes WHERE project_id = ?1 AND hash = ?2 AND text = ?3 LIMIT 1"))
           .is_ok() ||
      !(s = prep(w.insert_suffix, "INSERT INTO attribute_suffixes (project_id, hash, text) VALUES (?1, ?2, ?3)"))
           .is_ok() ||
      !(s = prep(w.delete_event, "DELETE FROM events WHERE seq = ?")).is_ok() ||
      !(s = prep(w.upsert_rollup,
                 fmt::format("INSERT INTO sessions (project_id, id, agent, first_event_at, last_event_at, event_count, "
                             "error_count, llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd, "
                             "num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                             "ON CONFLICT (project_id, id) DO UPDATE SET agent = ifnull(agent, ?3), {}",
                             rollup_set(3))))
           .is_ok() ||
      // A new session's patch and rollup in one statement: the patch's agent (?4) wins
      // over the events' (?20), as when the patch is applied first.
      !(s = prep(w.upsert_session,
                 fmt::format("INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, "
                             "own_started_at, ended_at, num, first_event_at, last_event_at, event_count, error_count, "
                             "llm_count, tool_count, input_tokens, output_tokens, total_tokens, cost_usd) "
                             "VALUES (?1, ?2, ?3, ifnull(?4, ?20), ?5, ifnull(?6, '[]'), ifnull(?7, '{{}}'), "
                             "ifnull(?8, 'running'), ?9, ?10, ?19, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30) "
                             "ON CONFLICT (project_id, id) DO UPDATE SET {}, "
                             "agent = CASE WHEN ?12 THEN excluded.agent ELSE ifnull(agent, ?20) END, {}",
                             kPatchSet, rollup_set(20))))
           .is_ok() ||
      !(s = prep(w.recompute_bounds,
                 "UPDATE sessions SET "
                 "first_event_at = (SELECT min(started_at) FROM events WHERE session_num = sessions.num), "
                 "last_event_at = (SELECT max(ifnull(ended_at, started_at)) FROM events "
                 "  WHERE session_num = sessions.num) WHERE project_id = ?1 AND id = ?2"))
           .is_ok() ||
      // Presence flags (?11..?18) select which fields a patch overwrites.
      !(s = prep(w.upsert_patch,
                 fmt::format("INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, "
                             "own_started_at, ended_at, num) VALUES ({}) ON CONFLICT (project_id, id) DO UPDATE SET "
                             "{}, agent = CASE WHEN ?12 THEN excluded.agent ELSE agent END",
                             kPatchValues, kPatchSet)))
           .is_ok() ||
      !(s = prep(w.insert_patch,
                 fmt::format("INSERT INTO sessions (project_id, id, name, agent, user_id, tags, metadata, status, "
                             "own_started_at, ended_at, num) VALUES ({})",
                             kPatchValues)))
           .is_ok() ||
      !(s = prep(w.find_session_num, "SELECT num FROM sessions WHERE project_id = ? AND id = ?")).is_ok() ||
      !(s = prep(w.set_next_seq, "UPDATE meta SET value = ? WHERE key = 'next_seq'")).is_ok() ||
      !(s = prep(w.set_next_session_num, "UPDATE meta SET value = ? WHERE key = 'next_session_num'")).is_ok()) {
    return s;
  }
  auto counters = c.prepare("SELECT key, value FROM meta WHERE key IN ('next_seq', 'next_session_num')");
  if (!counters.is_ok()) return counters.status();
  int found = 0;
  for (int rc; (rc = counters->step()) == SQLITE_ROW; ++found) {
    (counters->text(0) == "next_seq" ? w.next_seq : w.saved_session_num) = counters->int64(1);
  }
  if (found != 2) return c.error("read next_seq and next_session_num");
  w.next_session_num = w.saved_session_num;

  if (auto ps = prepare_search_db(search_path_, w.next_seq - 1); !ps.is_ok()) return ps;
  if (!ids_) {
    auto ids = IdIndex::open(ids_path_, db_path_, options_.full_durability);
    if (!ids.is_ok()) return ids.status();
    ids_ = std::move(*ids);
  }
  {
    std::lock_guard rl(readers_mu_);
    if (!migrated_) {
      for (int i = 0; i < std::max(1, options_.readers); ++i) {
        auto rc = Connection::open(db_path_, true);
        if (!rc.is_ok()) return rc.status();
        auto r = std::make_unique<Reader>(Reader{std::move(*rc), {}, nullptr, {}});
        if (sqlite3_create_function_v2(r->conn.get(), "agentlog_agent_row", 12, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                       &r->agents_scan, nullptr, agent_row_step, agent_row_final,
                                       nullptr) != SQLITE_OK) {
          return r->conn.error("register agentlog_agent_row");
        }
        auto quoted = [](std::string path) {
          for (size_t k = 0; (k = path.find('\'', k)) != std::string::npos; k += 2) path.insert(k, 1, '\'');
          return path;
        };
        if (auto as = r->conn.exec(fmt::format("PRAGMA cache_size=-16000; PRAGMA temp_store=MEMORY; "
                                               "ATTACH DATABASE '{}' AS search; ATTACH DATABASE '{}' AS ids; "
                                               "CREATE VIRTUAL TABLE temp.events_vocab USING "
                                               "fts5vocab(search, events_fts, row)",
                                               quoted(search_path_), quoted(ids_path_)));
            !as.is_ok()) {
          return as;
        }
        idle_readers_.push_back(std::move(r));
      }
      migrated_ = true;
    }
  }
  if (options_.background && !indexer_) {
    indexer_ = std::make_unique<SearchIndexer>(db_path_, search_path_);
    indexer_->start();
    auto cp = std::make_unique<Checkpointer>(db_path_, kCheckpointFrames, kMaxWalFrames);
    if (auto cs = cp->start(writer_->conn.get()); !cs.is_ok()) return cs;
    checkpointer_ = std::move(cp);
  }
  return Status::ok();
}

bool SqliteStore::ready() {
  auto r = reader();
  if (!r) return false;
  auto st = r->stmt("SELECT count(*) FROM schema_migrations");
  return st.is_ok() && (*st)->step() == SQLITE_ROW;
}

SqliteStore::ReaderLease SqliteStore::reader() {
  std::unique_lock lock(readers_mu_);
  if (!migrated_) return ReaderLease(*this, nullptr);
  readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
  auto r = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return ReaderLease(*this, std::move(r));
}

// ---- writes ------------------------------------------------------------------------------

Status SqliteStore::write(std::span<const WriteBatch* const> batches, std::vector<int64_t>* seqs) {
  Status s;
  int64_t first_seq = 0;
  {
    std::lock_guard lock(write_mu_);
    first_seq = writer_->next_seq;
    s = write_locked(batches);
  }
  if (s.is_ok() && seqs) {
    // Sequence numbers are handed out consecutively in batch order.
    seqs->clear();
    for (const WriteBatch* b : batches) {
      for (size_t i = 0; i < b->events.size(); ++i) seqs->push_back(first_seq + static_cast<int64_t>(seqs->size()));
    }
  }
  if (s.is_ok() && indexer_) indexer_->notify();
  return s;
}

Status SqliteStore::write_locked(std::span<const WriteBatch* const> batches) {
  Writer& w = *writer_;
  Connection& c = w.conn;
  Transaction tx(c);
  if (auto s = w.begin(tx); !s.is_ok()) return s;
  const int64_t first_seq = w.next_seq;
  int64_t seq = first_seq;
  auto give_up = [&](Status s) {
    w.next_seq = first_seq;
    w.forget_suffixes();
    for (Stmt* st : {&w.insert_event, &w.find_event, &w.delete_event, &w.upsert_rollup, &w.upsert_session,
                     &w.recompute_bounds, &w.find_suffix, &w.insert_suffix}) {
      st->reset();
    }
    return s;
  };
  auto fail = [&](std::string_view what) { return give_up(c.error(what)); };

  // The group's events in seq order, each with its session's rollup change. The id index
  // looks up and records their ids on its thread meanwhile (IdIndex).
  struct Pending {
    int64_t project_id;
    const Event* e;
    const Delta* d;
  };
  std::vector<Pending> events;
  std::vector<IdIndex::Item> ids;
  Deltas deltas;
  for (const WriteBatch* b : batches) {
    for (const Event& e : b->events) {
      Delta& d = delta_of(deltas, b->project_id, e.session_id);
      d.add(e, +1);
      events.push_back({b->project_id, &e, &d});
      ids.push_back({b->project_id, e.id});
    }
  }
  ids_->begin(first_seq, std::move(ids));
  struct IdsJob {
    IdIndex& ids;
    bool finished = false;
    ~IdsJob() {
      if (!finished) ids.finish(false);
    }
  } ids_job{*ids_};
  // The id of the one stored copy of a shared attributes suffix, stored now if it is new.
  auto suffix_id = [&](int64_t project_id, std::string_view text) -> std::optional<int64_t> {
    StringMap<int64_t>& known = w.suffix_ids[project_id];
    if (auto it = known.find(text); it != known.end()) return it->second;
    // std::hash may differ between builds; a different hash only costs a second copy.
    const auto hash = static_cast<int64_t>(StringViewHash{}(text));
    int64_t id;
    w.find_suffix.bind(1, project_id).bind(2, hash).bind(3, text);
    const int rc = w.find_suffix.step();
    if (rc == SQLITE_ROW) {
      id = w.find_suffix.int64(0);
    } else if (rc != SQLITE_DONE) {
      return std::nullopt;
    } else {
      w.insert_suffix.bind(1, project_id).bind(2, hash).bind(3, text);
      if (w.insert_suffix.step() != SQLITE_DONE) return std::nullopt;
      w.insert_suffix.reset();
      id = sqlite3_last_insert_rowid(c.get());
    }
    w.find_suffix.reset();
    if (w.suffix_count >= 4096) w.forget_suffixes();  // bounded: a few distinct resources are typical
    w.suffix_ids[project_id].emplace(text, id);
    ++w.suffix_count;
    return id;
  };
  // Adds a group's rollup change to its session, with the group's one patch of it if any,
  // creating the session if it is new; sets d.num to the session's number.
  auto write_rollup = [&](const SessionKey& key, Delta& d, const SessionPatch* patch) -> bool {
    auto num = w.session_num(key.project_id, key.id);
    if (!num.is_ok()) return false;
    d.num = num->num;
    Stmt& u = patch ? w.upsert_session : w.upsert_rollup;
    if (patch) {
      bind_patch(u, key.project_id, *patch, d.num);
      bind_delta(u, 20, d);
    } else {
      u.bind(1, key.project_id).bind(2, key.id).bind(14, d.num);
      bind_delta(u, 3, d);
    }
    if (u.step() != SQLITE_DONE) return false;
    u.reset();
    return true;
  };

  // The sessions go first: they give each session its number, which its events carry.
  // A session with events and one patch in the group takes both in one statement (a new
  // session's row is written once: ~10 % of the writer's time with random trace ids). Other
  // patches are applied first, in order, as patches before rollups always were.
  std::map<SessionKey, std::pair<const SessionPatch*, int>, SessionKeyLess> patches;
  for (const WriteBatch* b : batches) {
    for (const SessionPatch& p : b->sessions) {
      ++patches.try_emplace(SessionKey{b->project_id, p.id}, &p, 0).first->second.second;
    }
  }
  auto single_patch = [&](SessionKeyView key) -> const SessionPatch* {
    auto it = patches.find(key);
    return it != patches.end() && it->second.second == 1 ? it->second.first : nullptr;
  };
  for (const WriteBatch* b : batches) {
    for (const SessionPatch& p : b->sessions) {
      const SessionKeyView key{b->project_id, p.id};
      if (deltas.count(key) && single_patch(key)) continue;
      if (auto s = apply_patch(b->project_id, p, PatchMode::kUpsert); !s.is_ok()) return give_up(s);
    }
  }
  for (auto& [key, d] : deltas) {
    if (!write_rollup(key, d, single_patch({key.project_id, key.id}))) return fail("update session rollups");
  }

  for (const auto& [project_id, ev, d] : events) {
    const Event& e = *ev;
    Stmt& ins = w.insert_event;
    ins.bind(1, seq).bind(2, project_id).bind(3, e.id).bind(4, e.session_id);
    ins.bind(5, e.parent_id).bind(6, e.trace_id).bind(7, e.span_id).bind(8, model::to_string(e.type));
    ins.bind(9, e.name).bind(10, e.agent).bind(11, e.started_at).bind(12, e.ended_at);
    ins.bind(13, model::to_string(e.status)).bind(14, e.input_json).bind(15, e.output_json);
    ins.bind(16, e.error ? 1 : 0);
    if (e.error) ins.bind(17, e.error->type).bind(18, e.error->message).bind(19, e.error->stack);
    ins.bind(20, e.model).bind(21, e.provider);
    if (e.usage) {
      ins.bind(22, e.usage->input_tokens).bind(23, e.usage->output_tokens);
      ins.bind(24, e.usage->total_tokens).bind(25, e.usage->cached_tokens);
    }
    ins.bind(26, e.cost_usd).bind(28, e.tags_json).bind(30, d->num);
    std::string_view attributes = e.attributes_json;
    if (e.attributes_shared_suffix >= kMinSharedSuffix && e.attributes_shared_suffix <= attributes.size()) {
      const size_t own = attributes.size() - e.attributes_shared_suffix;
      const auto id = suffix_id(project_id, attributes.substr(own));
      if (!id) return fail("store shared attributes");
      ins.bind(29, *id);
      attributes = attributes.substr(0, own);
    }
    ins.bind(27, attributes);
    if (ins.step() != SQLITE_DONE) return fail("insert event");
    ins.reset();
    ++seq;
  }

  // A re-sent event replaces the stored version: take that one out of its session's rollups.
  Deltas replaced;
  auto found = ids_->lookups();
  if (!found.is_ok()) return give_up(found.status());
  for (const IdIndex::Replaced& r : *found) {
    const auto& [project_id, e, d] = events[r.item];
    Stmt& f = w.find_event;
    f.bind(1, r.old_seq).bind(2, project_id).bind(3, e->id);
    const int rc = f.step();
    if (rc == SQLITE_DONE) {  // gone with its session: the id was left behind
      f.reset();
      continue;
    }
    if (rc != SQLITE_ROW) return fail("find replaced event");
    if (!e->client_id) {  // a server-made id promises that no earlier version exists
      return give_up(Status::internal(fmt::format("generated event id '{}' is already stored", e->id)));
    }
    const StoredEvent old = read_event(f);
    f.reset();
    Delta& od = delta_of(replaced, project_id, old.event.session_id);
    od.add(old.event, -1);
    const Micros old_end = old.event.ended_at.value_or(old.event.started_at);
    if (old.event.session_id != e->session_id || e->started_at > old.event.started_at ||
        e->ended_at.value_or(e->started_at) < old_end) {
      od.recompute_bounds = true;  // the old version may have defined the session's bounds
    }
    w.delete_event.bind(1, old.seq);
    if (w.delete_event.step() != SQLITE_DONE) return fail("delete replaced event");
    w.delete_event.reset();
  }

  for (auto& [key, d] : replaced) {
    if (!write_rollup(key, d, nullptr)) return fail("update session rollups");
    if (d.recompute_bounds) {
      w.recompute_bounds.bind(1, key.project_id).bind(2, key.id);
      if (w.recompute_bounds.step() != SQLITE_DONE) return fail("recompute session bounds");
      w.recompute_bounds.reset();
    }
  }
  if (seq != first_seq) {
    w.set_next_seq.bind(1, seq);
    if (w.set_next_seq.step() != SQLITE_DONE) return fail("advance next_seq");
    w.set_next_seq.reset();
  }
  w.next_seq = seq;
  if (auto s = w.commit(tx); !s.is_ok()) return give_up(s);
  ids_job.finished = true;
  ids_->finish(true);
  return Status::ok();
}

Status SqliteStore::apply_patch(int64_t project_id, const SessionPatch& p, PatchMode mode) {
  Writer& w = *writer_;
  auto num = w.session_num(project_id, p.id);
  if (!num.is_ok()) return num.status();
  if (mode == PatchMode::kUpdate && !num->stored) {
    --w.next_session_num;  // not taken
    return Status::not_found(fmt::format("session '{}' not found", p.id));
  }
  if (mode == PatchMode::kCreate && num->stored) {
    return Status::conflict(fmt::format("session '{}' already exists", p.id));
  }
  Stmt& st = mode == PatchMode::kCreate ? w.insert_patch : w.upsert_patch;
  bind_patch(st, project_id, p, num->num);
  const int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return w.conn.error("write session");
  return Status::ok();
}

Result<Session> SqliteStore::create_session(int64_t project_id, const SessionPatch& s, Micros now) {
  SessionPatch p = s;
  if (!p.started_at || !*p.started_at) p.started_at = std::optional<Micros>(now);
  {
    std::lock_guard lock(write_mu_);
    Transaction tx(writer_->conn);
    if (auto st = writer_->begin(tx); !st.is_ok()) return st;
    if (auto st = apply_patch(project_id, p, PatchMode::kCreate); !st.is_ok()) return st;
    if (auto st = writer_->commit(tx); !st.is_ok()) return st;
  }
  return get_session(project_id, p.id);
}

Result<Session> SqliteStore::patch_session(int64_t project_id, const SessionPatch& s) {
  {
    std::lock_guard lock(write_mu_);
    Transaction tx(writer_->conn);
    if (auto st = writer_->begin(tx); !st.is_ok()) return st;
    if (auto st = apply_patch(project_id, s, PatchMode::kUpdate); !st.is_ok()) return st;
    if (auto st = writer_->commit(tx); !st.is_ok()) return st;
  }
  return get_session(project_id, s.id);
}

Status SqliteStore::delete_session(int64_t project_id, const std::string& id) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  Transaction tx(c);
  if (auto st = tx.begin_immediate(); !st.is_ok()) return st;
  auto del = c.prepare("DELETE FROM sessions WHERE project_id = ? AND id = ? RETURNING num");
  if (!del.is_ok()) return del.status();
  del->bind(1, project_id).bind(2, id);
  const int rc = del->step();
  if (rc == SQLITE_DONE) return Status::not_found(fmt::format("session '{}' not found", id));
  if (rc != SQLITE_ROW) return c.error("delete session");
  const int64_t num = del->int64(0);
  del->reset();
  auto ev = c.prepare("DELETE FROM events WHERE session_num = ? RETURNING id, seq");
  if (!ev.is_ok()) return ev.status();
  ev->bind(1, num);
  std::vector<IdIndex::Deleted> deleted;
  int erc;
  while ((erc = ev->step()) == SQLITE_ROW) deleted.push_back({project_id, std::string(ev->text(0)), ev->int64(1)});
  if (erc != SQLITE_DONE) return c.error("delete session events");
  ev->reset();
  if (auto st = tx.commit(); !st.is_ok()) return st;
  ids_->forget(std::move(deleted));
  return Status::ok();
}

Result<bool> SqliteStore::delete_session_if_empty(int64_t project_id, const std::string& id) {
  std::lock_guard lock(write_mu_);  // the pipeline writer holds it for each commit
  Connection& c = writer_->conn;
  auto del = c.prepare("DELETE FROM sessions WHERE project_id = ? AND id = ? AND event_count = 0");
  if (!del.is_ok()) return del.status();
  del->bind(1, project_id).bind(2, id);
  if (del->step() != SQLITE_DONE) return c.error("delete empty session");
  return sqlite3_changes(c.get()) > 0;
}

// ---- queries -----------------------------------------------------------------------------

Result<Session> SqliteStore::get_session(int64_t project_id, const std::string& id) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(fmt::format("SELECT {} FROM sessions WHERE project_id = ? AND id = ?", kSessionColumns));
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, project_id).bind(2, std::string_view(id));
  const int rc = s.step();
  if (rc == SQLITE_ROW) return read_session(s);
  if (rc == SQLITE_DONE) return Status::not_found(fmt::format("session '{}' not found", id));
  return r->conn.error("get session");
}

Result<Page<Session, SessionCursor>> SqliteStore::list_sessions(const SessionQuery& q) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  const SortKey key = sort_key(q.sort);
  const bool real_key = q.sort == SessionSort::kCostUsd;
  std::string sql = fmt::format("SELECT {}, {} FROM sessions WHERE project_id = ?1", kSessionColumns, key.expr);
  if (q.agent) sql += " AND agent = ?2";
  if (q.status) sql += " AND status = ?3";
  if (q.user_id) sql += " AND user_id = ?4";
  if (q.tag) sql += " AND EXISTS (SELECT 1 FROM json_each(sessions.tags) WHERE value = ?5)";
  if (q.q) sql += " AND (id LIKE ?6 ESCAPE '\\' OR name LIKE ?6 ESCAPE '\\' OR agent LIKE ?6 ESCAPE '\\' "
                  "OR user_id LIKE ?6 ESCAPE '\\')";
  sql += started_window(q.from, q.to, "?7", "?8");
  const char* cmp = q.descending ? "<" : ">";
  if (q.after) {  // the bound walks the index; the rest breaks ties by id
    sql += key_bound(key, q.descending ? "<=" : ">=", "?9");
    sql += fmt::format(" AND ({0} {1} ?9 OR ({0} = ?9 AND id {1} ?10))", key.expr, cmp);
  }
  const char* dir = q.descending ? "DESC" : "ASC";
  sql += " ORDER BY ";
  if (key.by_second) sql += fmt::format("{} / 1000000 {}, ", key.expr, dir);
  sql += fmt::format("{0} {1}, id {1} LIMIT ?11", key.expr, dir);

  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, q.project_id);
  if (q.agent) s.bind(2, *q.agent);
  if (q.status) s.bind(3, model::to_string(*q.status));
  if (q.user_id) s.bind(4, *q.user_id);
  if (q.tag) s.bind(5, *q.tag);
  std::string like;
  if (q.q) {
    like = "%";
    for (char ch : *q.q) {
      if (ch == '%' || ch == '_' || ch == '\\') like.push_back('\\');
      like.push_back(ch);
    }
    like.push_back('%');
    s.bind(6, std::string_view(like));
  }
  if (q.from) s.bind(7, *q.from);
  if (q.to) s.bind(8, *q.to);
  if (q.after) {
    if (real_key) s.bind(9, q.after->real_value);
    else s.bind(9, q.after->int_value);
    s.bind(10, std::string_view(q.after->id));
  }
  s.bind(11, q.limit + 1);
  Page<Session, SessionCursor> page;
  int rc;
  std::optional<SessionCursor> last;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      page.next = last;
      break;
    }
    page.items.push_back(read_session(s));
    last = real_key ? SessionCursor{0, s.real(18), page.items.back().id}
                    : SessionCursor{s.int64(18), 0, page.items.back().id};
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return r->conn.error("list sessions");
  return page;
}

Result<Page<StoredEvent, EventCursor>> SqliteStore::session_events(int64_t project_id, const std::string& session_id,
                                                                   int limit, std::optional<EventCursor> after) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  std::string sql = fmt::format("SELECT {} FROM events e WHERE {}", kEventColumns, session_num_of("?2"));
  if (after) sql += " AND (started_at > ?3 OR (started_at = ?3 AND seq > ?4))";
  sql += " ORDER BY started_at, seq LIMIT ?5";
  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, project_id).bind(2, std::string_view(session_id)).bind(5, limit + 1);
  if (after) s.bind(3, after->started_at).bind(4, after->seq);
  Page<StoredEvent, EventCursor> page;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == limit) {
      const StoredEvent& l = page.items.back();
      page.next = EventCursor{l.event.started_at, l.seq};
      break;
    }
    page.items.push_back(read_event(s));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return r->conn.error("session events");
  return page;
}

Result<StoredEvent> SqliteStore::get_event(int64_t project_id, const std::string& id) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  // Through ids.db (IdIndex), or its last commit while ids.db takes it; the row must still
  // be that event (see IdIndex).
  const std::optional<int64_t> pending = ids_->pending_seq(project_id, id);
  auto st = r->stmt(fmt::format("SELECT {} FROM events e WHERE e.seq = ifnull(?3, (SELECT seq FROM ids.event_ids "
                                "WHERE project_id = ?1 AND id = ?2)) AND e.project_id = ?1 AND e.id = ?2",
                                kEventColumns));
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, project_id).bind(2, std::string_view(id)).bind(3, pending);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return read_event(s);
  if (rc == SQLITE_DONE) return Status::not_found(fmt::format("event '{}' not found", id));
  return r->conn.error("get event");
}

// The FTS5 expression for a search, "" when nothing can match. The last word is a
// prefix: when it is an ASCII token with few completions in the index vocabulary, they
// are OR-ed (walked lazily, newest first, stopped by the LIMIT) instead of using an FTS5
// prefix query, which first merges every posting of the prefix.
Result<std::string> SqliteStore::fts_expression(Reader& r, const FtsQuery& query) {
  constexpr int kMaxCompletions = 32;
  if (query.empty()) return std::string();
  const std::string token = query.ascii_token();
  if (token.empty()) return query.prefix_query();
  std::string upper = token;
  ++upper.back();  // a letter or digit: the next byte is still ASCII
  auto st = r.stmt("SELECT term FROM temp.events_vocab WHERE term >= ?1 AND term < ?2 LIMIT ?3");
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, std::string_view(token)).bind(2, std::string_view(upper)).bind(3, kMaxCompletions + 1);
  std::vector<std::string> completions;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) completions.emplace_back(s.text(0));
  if (rc != SQLITE_DONE) return r.conn.error("search vocabulary");
  if (completions.empty()) return std::string();
  if (completions.size() > kMaxCompletions) return query.prefix_query();
  return query.with_completions(completions);
}

Result<Page<StoredEvent, EventCursor>> SqliteStore::search_events(const EventQuery& q) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  std::string fts;
  if (q.q) {
    auto expr = fts_expression(*r, to_fts_query(*q.q));
    if (!expr.is_ok()) return expr.status();
    fts = std::move(*expr);
    if (fts.empty()) return Page<StoredEvent, EventCursor>{};
  }
  std::string sql = q.q ? fmt::format("SELECT {} FROM search.events_fts f JOIN events e ON e.seq = f.rowid "
                                      "WHERE f.events_fts MATCH ?12 AND e.project_id = ?1",
                                      kEventColumns)
                        : fmt::format("SELECT {} FROM events e WHERE e.project_id = ?1", kEventColumns);
  if (q.type) sql += " AND e.type = ?2";
  if (q.name) sql += " AND e.name = ?3";
  if (q.status) sql += " AND e.status = ?4";
  if (q.model) sql += " AND e.model = ?5";
  if (q.session_id) sql += fmt::format(" AND {}", session_num_of("?6"));
  if (q.agent) sql += " AND e.agent = ?7";
  // Each time bound also bounds the second (events_time indexes started_at / 1000000;
  // integer division is monotonic, so the extra terms never exclude a matching row).
  if (q.from) sql += " AND e.started_at >= ?8 AND e.started_at / 1000000 >= ?8 / 1000000";
  if (q.to) sql += " AND e.started_at < ?9 AND e.started_at / 1000000 <= ?9 / 1000000";
  if (q.q) {
    // Full-text matches come newest-ingested first: the FTS index is walked in rowid order.
    if (q.after) sql += " AND f.rowid < ?11";
    sql += " ORDER BY f.rowid DESC LIMIT ?13";
  } else {
    // Newest first. One session's events are walked in events_session order; otherwise
    // by second (events_time) and sorted within each second: the same order either way.
    if (q.after) sql += " AND (e.started_at < ?10 OR (e.started_at = ?10 AND e.seq < ?11))";
    if (q.session_id) {
      sql += " ORDER BY e.started_at DESC, e.seq DESC LIMIT ?13";
    } else {
      if (q.after) sql += " AND e.started_at / 1000000 <= ?10 / 1000000";
      sql += " ORDER BY e.started_at / 1000000 DESC, e.started_at DESC, e.seq DESC LIMIT ?13";
    }
  }
  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, q.project_id);
  if (q.type) s.bind(2, model::to_string(*q.type));
  if (q.name) s.bind(3, *q.name);
  if (q.status) s.bind(4, model::to_string(*q.status));
  if (q.model) s.bind(5, *q.model);
  if (q.session_id) s.bind(6, *q.session_id);
  if (q.agent) s.bind(7, *q.agent);
  if (q.from) s.bind(8, *q.from);
  if (q.to) s.bind(9, *q.to);
  if (q.after) s.bind(10, q.after->started_at).bind(11, q.after->seq);
  if (q.q) s.bind(12, std::string_view(fts));
  s.bind(13, q.limit + 1);
  Page<StoredEvent, EventCursor> page;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      const StoredEvent& l = page.items.back();
      page.next = EventCursor{l.event.started_at, l.seq};
      break;
    }
    page.items.push_back(read_event(s));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    // FTS5 refuses a word that its tokenizer splits at non-ASCII punctuation (a phrase).
    if (q.q && (rc & 0xFF) == SQLITE_ERROR) {
      return Status::invalid_argument(fmt::format("q: cannot search for this text ({})", sqlite3_errmsg(r->conn.get())));
    }
    return r->conn.error("search events");
  }
  return page;
}

Result<std::vector<StoredEvent>> SqliteStore::events_after(const EventQuery& q, int64_t after_seq) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  std::string sql = fmt::format("SELECT {} FROM events e WHERE seq > ?1 AND project_id = ?2", kEventColumns);
  if (q.type) sql += " AND type = ?3";
  if (q.name) sql += " AND name = ?4";
  if (q.status) sql += " AND status = ?5";
  if (q.model) sql += " AND model = ?6";
  if (q.session_id) sql += " AND session_id = ?7";
  if (q.agent) sql += " AND agent = ?8";
  sql += " ORDER BY seq LIMIT ?9";
  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, after_seq).bind(2, q.project_id);
  if (q.type) s.bind(3, model::to_string(*q.type));
  if (q.name) s.bind(4, *q.name);
  if (q.status) s.bind(5, model::to_string(*q.status));
  if (q.model) s.bind(6, *q.model);
  if (q.session_id) s.bind(7, *q.session_id);
  if (q.agent) s.bind(8, *q.agent);
  s.bind(9, q.limit);
  std::vector<StoredEvent> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_event(s));
  if (rc != SQLITE_DONE) return r->conn.error("events after");
  return out;
}

Result<TimeSeries> SqliteStore::timeseries(int64_t project_id, Micros from, Micros step, int buckets,
                                           const std::optional<std::string>& agent) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  // An event without an agent counts for its session's agent, as in the agents overview:
  // such events are first grouped per session, so the session is looked up once.
  std::string sql =
      "SELECT coalesce(x.agent, s.agent) AS a, x.bucket, sum(x.n), sum(x.errors), sum(x.tokens), sum(x.cost) FROM "
      "(SELECT agent, CASE WHEN agent IS NULL THEN session_id END AS sid, (started_at - ?2) / ?3 AS bucket, "
      "count(*) AS n, sum(has_error) AS errors, ifnull(sum(total_tokens), 0) AS tokens, "
      "ifnull(sum(cost_usd), 0) AS cost FROM events "
      "WHERE project_id = ?1 AND started_at >= ?2 AND started_at < ?4 AND started_at / 1000000 BETWEEN ?2 / 1000000 "
      "AND ?4 / 1000000 GROUP BY agent, sid, bucket) x "
      "LEFT JOIN sessions s ON x.sid IS NOT NULL AND s.project_id = ?1 AND s.id = x.sid";
  if (agent) sql += " WHERE a = ?5";
  sql += " GROUP BY a, x.bucket ORDER BY a NULLS FIRST";
  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, project_id).bind(2, from).bind(3, step).bind(4, from + step * buckets);
  if (agent) s.bind(5, *agent);
  TimeSeries ts{from, step, buckets, {}};
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::optional<std::string> a = s.is_null(0) ? std::nullopt : std::optional<std::string>(s.text(0));
    if (ts.series.empty() || ts.series.back().agent != a) {
      model::AgentSeries& n = ts.series.emplace_back();
      n.agent = a;
      n.events.assign(buckets, 0);
      n.errors.assign(buckets, 0);
      n.total_tokens.assign(buckets, 0);
      n.cost_usd.assign(buckets, 0);
    }
    model::AgentSeries& cur = ts.series.back();
    const int64_t b = s.int64(1);
    if (b < 0 || b >= buckets) continue;
    cur.events[b] = s.int64(2);
    cur.errors[b] = s.int64(3);
    cur.total_tokens[b] = s.int64(4);
    cur.cost_usd[b] = s.real(5);
  }
  if (rc != SQLITE_DONE) return r->conn.error("timeseries");
  return ts;
}

Result<std::vector<AgentStats>> SqliteStore::agents(int64_t project_id, std::optional<Micros> from,
                                                    std::optional<Micros> to) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  // One call of the agentlog_agent_row aggregate per session (see AgentsScan): the rows
  // never come back through sqlite3_step and sqlite3_column_*, which cost as much as the
  // scan itself.
  std::string sql =
      "SELECT agentlog_agent_row(agent, status, event_count, error_count, llm_count, tool_count, input_tokens, "
      "output_tokens, total_tokens, cost_usd, ifnull(ended_at, last_event_at) - started_at, "
      "ifnull(last_event_at, started_at)) FROM sessions WHERE project_id = ?1";
  sql += started_window(from, to, "?2", "?3");
  auto st = r->stmt(sql);
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, project_id);
  if (from) s.bind(2, *from);
  if (to) s.bind(3, *to);
  AgentsScan scan;
  r->agents_scan = &scan;
  const int rc = s.step();
  r->agents_scan = nullptr;
  if (rc != SQLITE_ROW) return r->conn.error("agents");
  return scan.finish();
}

// ---- projects and keys ---------------------------------------------------------------------

Result<Project> SqliteStore::create_project(const std::string& name, Micros now) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare("INSERT INTO projects (name, created_at) VALUES (?, ?)");
  if (!st.is_ok()) return st.status();
  st->bind(1, name).bind(2, now);
  const int rc = st->step();
  if (rc == SQLITE_CONSTRAINT_UNIQUE) return Status::conflict(fmt::format("project '{}' already exists", name));
  if (rc != SQLITE_DONE) return c.error("create project");
  return Project{sqlite3_last_insert_rowid(c.get()), name, now};
}

Result<std::vector<Project>> SqliteStore::list_projects() {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt("SELECT id, name, created_at FROM projects ORDER BY id");
  if (!st.is_ok()) return st.status();
  std::vector<Project> out;
  while ((*st)->step() == SQLITE_ROW) out.push_back(Project{(*st)->int64(0), std::string((*st)->text(1)), (*st)->int64(2)});
  return out;
}

Result<Project> SqliteStore::find_project(const std::string& name) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt("SELECT id, name, created_at FROM projects WHERE name = ?");
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, std::string_view(name));
  if ((*st)->step() != SQLITE_ROW) return Status::not_found(fmt::format("project '{}' not found", name));
  return Project{(*st)->int64(0), std::string((*st)->text(1)), (*st)->int64(2)};
}

namespace {
constexpr std::string_view kKeyColumns =
    "k.id, k.project_id, p.name, k.name, k.prefix, k.hash, k.created_at, k.last_used_at, k.revoked_at";
ApiKey read_key(const Stmt& s) {
  return ApiKey{s.int64(0), s.int64(1), std::string(s.text(2)), std::string(s.text(3)), std::string(s.text(4)),
                std::string(s.text(5)), s.int64(6), s.opt_int64(7), s.opt_int64(8)};
}
}  // namespace

Result<ApiKey> SqliteStore::create_key(int64_t project_id, const std::string& name, const std::string& prefix,
                                       const std::string& hash, Micros now) {
  {
    std::lock_guard lock(write_mu_);
    Connection& c = writer_->conn;
    auto st = c.prepare("INSERT INTO api_keys (project_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)");
    if (!st.is_ok()) return st.status();
    st->bind(1, project_id).bind(2, name).bind(3, prefix).bind(4, hash).bind(5, now);
    const int rc = st->step();
    if (rc == SQLITE_CONSTRAINT_UNIQUE) return Status::conflict("key already exists");
    if (rc != SQLITE_DONE) return c.error("create key");
  }
  return find_key_by_hash(hash);
}

Status SqliteStore::ensure_key(int64_t project_id, const std::string& name, const std::string& prefix,
                               const std::string& hash, Micros now) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare(
      "INSERT INTO api_keys (project_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (hash) DO NOTHING");
  if (!st.is_ok()) return st.status();
  st->bind(1, project_id).bind(2, name).bind(3, prefix).bind(4, hash).bind(5, now);
  if (st->step() != SQLITE_DONE) return c.error("ensure key");
  return Status::ok();
}

Result<std::vector<ApiKey>> SqliteStore::list_keys(int64_t project_id) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(fmt::format(
      "SELECT {} FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.project_id = ? ORDER BY k.id",
      kKeyColumns));
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, project_id);
  std::vector<ApiKey> out;
  while ((*st)->step() == SQLITE_ROW) out.push_back(read_key(**st));
  return out;
}

Status SqliteStore::revoke_key(int64_t project_id, int64_t key_id, Micros now) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare(
      "UPDATE api_keys SET revoked_at = ifnull(revoked_at, ?) WHERE id = ? AND project_id = ?");
  if (!st.is_ok()) return st.status();
  st->bind(1, now).bind(2, key_id).bind(3, project_id);
  if (st->step() != SQLITE_DONE) return c.error("revoke key");
  if (sqlite3_changes(c.get()) == 0) return Status::not_found(fmt::format("key {} not found in this project", key_id));
  return Status::ok();
}

Result<ApiKey> SqliteStore::find_key_by_hash(const std::string& hash) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(fmt::format("SELECT {} FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.hash = ?",
                                kKeyColumns));
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, std::string_view(hash));
  if ((*st)->step() != SQLITE_ROW) return Status::not_found("unknown key");
  return read_key(**st);
}

Status SqliteStore::touch_key(int64_t key_id, Micros now) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?");
  if (!st.is_ok()) return st.status();
  st->bind(1, now).bind(2, key_id);
  if (st->step() != SQLITE_DONE) return c.error("touch key");
  return Status::ok();
}

// ---- users and log-ins ---------------------------------------------------------------------

namespace {
constexpr std::string_view kUserColumns = "id, email, password_hash, role, created_at";
User read_user(const Stmt& s, int at = 0) {
  return User{s.int64(at), std::string(s.text(at + 1)), std::string(s.text(at + 2)),
              model::parse_role(s.text(at + 3)).value_or(Role::kViewer), s.int64(at + 4)};
}
}  // namespace

Result<User> SqliteStore::create_user(const std::string& email, const std::string& password_hash, Role role,
                                      Micros now) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, ?, ?, ?)");
  if (!st.is_ok()) return st.status();
  st->bind(1, email).bind(2, password_hash).bind(3, model::to_string(role)).bind(4, now);
  const int rc = st->step();
  if (rc == SQLITE_CONSTRAINT_UNIQUE) return Status::conflict(fmt::format("user '{}' already exists", email));
  if (rc != SQLITE_DONE) return c.error("create user");
  return User{sqlite3_last_insert_rowid(c.get()), email, password_hash, role, now};
}

Result<std::vector<User>> SqliteStore::list_users() {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(fmt::format("SELECT {} FROM users ORDER BY id", kUserColumns));
  if (!st.is_ok()) return st.status();
  std::vector<User> out;
  int rc;
  while ((rc = (*st)->step()) == SQLITE_ROW) out.push_back(read_user(**st));
  if (rc != SQLITE_DONE) return r->conn.error("list users");
  return out;
}

Result<User> SqliteStore::find_user(const std::string& email) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(fmt::format("SELECT {} FROM users WHERE email = ?", kUserColumns));
  if (!st.is_ok()) return st.status();
  (*st)->bind(1, std::string_view(email));
  const int rc = (*st)->step();
  if (rc == SQLITE_ROW) return read_user(**st);
  if (rc == SQLITE_DONE) return Status::not_found(fmt::format("user '{}' not found", email));
  return r->conn.error("find user");
}

Status SqliteStore::delete_user(const std::string& email) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare("DELETE FROM users WHERE email = ?");
  if (!st.is_ok()) return st.status();
  st->bind(1, email);
  if (st->step() != SQLITE_DONE) return c.error("delete user");
  if (sqlite3_changes(c.get()) == 0) return Status::not_found(fmt::format("user '{}' not found", email));
  return Status::ok();
}

Status SqliteStore::create_login(const LoginSession& l) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  // Expired log-ins are swept here: log-ins are rare, so the table stays small without a timer.
  auto sweep = c.prepare("DELETE FROM login_sessions WHERE expires_at <= ?");
  if (!sweep.is_ok()) return sweep.status();
  sweep->bind(1, l.created_at);
  if (sweep->step() != SQLITE_DONE) return c.error("sweep log-ins");
  auto st = c.prepare(
      "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
  if (!st.is_ok()) return st.status();
  st->bind(1, l.token_hash).bind(2, l.user_id).bind(3, l.csrf_token).bind(4, l.created_at).bind(5, l.expires_at);
  if (st->step() != SQLITE_DONE) return c.error("create log-in");
  return Status::ok();
}

Result<std::pair<LoginSession, User>> SqliteStore::find_login(const std::string& token_hash, Micros now) {
  auto r = reader();
  if (!r) return Status::unavailable("database not migrated");
  auto st = r->stmt(
      "SELECT l.token_hash, l.user_id, l.csrf_token, l.created_at, l.expires_at, u.id, u.email, u.password_hash, "
      "u.role, u.created_at FROM login_sessions l JOIN users u ON u.id = l.user_id "
      "WHERE l.token_hash = ? AND l.expires_at > ?");
  if (!st.is_ok()) return st.status();
  Stmt& s = **st;
  s.bind(1, std::string_view(token_hash)).bind(2, now);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return Status::not_found("no such log-in");
  if (rc != SQLITE_ROW) return r->conn.error("find log-in");
  LoginSession l{std::string(s.text(0)), s.int64(1), std::string(s.text(2)), s.int64(3), s.int64(4)};
  return std::pair{std::move(l), read_user(s, 5)};
}

Status SqliteStore::delete_login(const std::string& token_hash) {
  std::lock_guard lock(write_mu_);
  Connection& c = writer_->conn;
  auto st = c.prepare("DELETE FROM login_sessions WHERE token_hash = ?");
  if (!st.is_ok()) return st.status();
  st->bind(1, token_hash);
  if (st->step() != SQLITE_DONE) return c.error("delete log-in");
  return Status::ok();
}

int64_t SqliteStore::database_size_bytes() {
  int64_t total = 0;
  for (const auto& suffix : {"", "-wal"}) {
    std::error_code ec;
    for (const std::string& base : {db_path_, search_path_, ids_path_}) {
      const auto n = std::filesystem::file_size(base + suffix, ec);
      if (!ec) total += static_cast<int64_t>(n);
    }
  }
  return total;
}

}  // namespace agentlog::store::sqlite
