/*
 * sqlite_ceiling.c — the raw SQLite insert ceiling for event-shaped rows.
 *
 * `make bench` compares the server's ingest rate with this number: how fast the
 * SQLite C API alone can store rows shaped like the events the load generator
 * sends, on the same machine, in the same run. The server cannot beat it (it
 * also parses JSON, keeps session rollups and a search index), so the ratio
 * server / ceiling says how much of the storage engine's speed the server keeps.
 *
 * Set-up, chosen to match what a well-tuned writer does:
 *   - WAL journal, synchronous=NORMAL (the server's default durability);
 *   - a rowid table, a UNIQUE (project_id, id) constraint (idempotent ingest
 *     needs it) and one secondary index (project_id, session_id, started_at)
 *     for timelines;
 *   - one prepared INSERT reused for every row, 10,000 rows per transaction;
 *   - rows of ~300–500 bytes with ids, names and JSON input/output text like
 *     bench/run.py's load generator.
 *
 * Build: cc -O2 bench/sqlite_ceiling.c -lsqlite3 -o build/bench/sqlite_ceiling
 * Usage: sqlite_ceiling [--rows N] [--batch N] [--db PATH] [--cache-mib N]
 * Prints one JSON object on stdout: {"rows_per_sec": ..., ...}.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const kSchema =
    "CREATE TABLE events ("
    "  rowid INTEGER PRIMARY KEY,"
    "  project_id INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  parent_id TEXT,"
    "  type TEXT NOT NULL,"
    "  name TEXT,"
    "  agent TEXT,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  status TEXT NOT NULL,"
    "  input TEXT,"
    "  output TEXT,"
    "  model TEXT,"
    "  input_tokens INTEGER,"
    "  output_tokens INTEGER,"
    "  total_tokens INTEGER,"
    "  cost_usd REAL,"
    "  UNIQUE (project_id, id)"
    ");"
    "CREATE INDEX events_session_time ON events (project_id, session_id, started_at);";

static const char *const kInsert =
    "INSERT INTO events (project_id, id, session_id, parent_id, type, name, agent,"
    " started_at, ended_at, status, input, output, model, input_tokens,"
    " output_tokens, total_tokens, cost_usd)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

static const char *const kWords[] = {
    "invoice", "refund",   "customer", "order",    "shipping", "account",  "password",
    "weather", "forecast", "flight",   "booking",  "hotel",    "summary",  "report",
    "search",  "database", "query",    "result",   "error",    "timeout",  "retry",
    "policy",  "document", "contract", "schedule", "meeting",  "calendar", "email",
    "draft",   "review",   "approve",  "budget",   "quarter",  "revenue",  "forecast",
    "ticket",  "priority", "escalate", "resolve",  "status",   "update",   "deploy",
    "release", "version",  "branch",   "commit",   "test",     "failure",  "latency",
    "memory",  "planner",  "research", "answer",   "question", "context",  "source",
};
enum { kWordCount = sizeof(kWords) / sizeof(kWords[0]) };

static const char *const kAgents[] = {"planner", "researcher", "coder", "support-bot",
                                      "triage", "writer", "reviewer", "scheduler"};
static const char *const kModels[] = {"gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet",
                                      "claude-3-5-haiku", "llama-3.1-70b"};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {  // xorshift64*: fast, good enough for test data
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

// Appends `n` random words separated by spaces to buf at *len (bounded by cap).
static void append_words(char *buf, size_t *len, size_t cap, int n) {
  for (int i = 0; i < n; i++) {
    const char *w = kWords[next_rand() % kWordCount];
    int wrote = snprintf(buf + *len, cap - *len, "%s%s", i ? " " : "", w);
    if (wrote > 0 && (size_t)wrote < cap - *len) *len += (size_t)wrote;
  }
}

// Writes "<tag><8 hex a>-<8 hex b>-<4 hex c>" to out (NUL-terminated) and
// returns its length; a hand-rolled formatter keeps id building out of the profile.
static size_t format_id(char *out, const char *tag, uint32_t a, uint32_t b, uint32_t c) {
  static const char kHex[] = "0123456789abcdef";
  size_t n = 0;
  while (*tag) out[n++] = *tag++;
  for (int s = 28; s >= 0; s -= 4) out[n++] = kHex[(a >> s) & 15];
  out[n++] = '-';
  for (int s = 28; s >= 0; s -= 4) out[n++] = kHex[(b >> s) & 15];
  out[n++] = '-';
  for (int s = 12; s >= 0; s -= 4) out[n++] = kHex[(c >> s) & 15];
  out[n] = 0;
  return n;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check(int rc, sqlite3 *db, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
  return rc;
}

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

int main(int argc, char **argv) {
  long rows = 1000000;
  long batch = 10000;
  long cache_mib = 0;        // 0 = SQLite's default page cache
  long page_size = 0;        // 0 = SQLite's default (4096)
  long autocheckpoint = -1;  // -1 = SQLite's default (1000 pages)
  const char *path = "build/bench/sqlite_ceiling.db";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
      rows = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
      path = argv[++i];
    } else if (!strcmp(argv[i], "--cache-mib") && i + 1 < argc) {
      cache_mib = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--page-size") && i + 1 < argc) {
      page_size = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--wal-autocheckpoint") && i + 1 < argc) {
      autocheckpoint = atol(argv[++i]);
    } else if (i == 1 && argv[i][0] != '-') {
      rows = atol(argv[i]);  // positional N, for convenience
    } else {
      fprintf(stderr,
              "usage: %s [--rows N] [--batch N] [--db PATH] [--cache-mib N]"
              " [--page-size N] [--wal-autocheckpoint PAGES]\n",
              argv[0]);
      return 2;
    }
  }
  if (rows <= 0 || batch <= 0) {
    fprintf(stderr, "sqlite_ceiling: --rows and --batch must be positive\n");
    return 2;
  }

  char wal[4096], shm[4096];
  snprintf(wal, sizeof wal, "%s-wal", path);
  snprintf(shm, sizeof shm, "%s-shm", path);
  unlink(path);
  unlink(wal);
  unlink(shm);

  sqlite3 *db = NULL;
  check(sqlite3_open(path, &db), db, "open");
  char pragma[96];
  if (page_size > 0) {  // must precede the switch to WAL
    snprintf(pragma, sizeof pragma, "PRAGMA page_size=%ld", page_size);
    exec(db, pragma);
  }
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  if (autocheckpoint >= 0) {
    snprintf(pragma, sizeof pragma, "PRAGMA wal_autocheckpoint=%ld", autocheckpoint);
    exec(db, pragma);
  }
  if (cache_mib > 0) {
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size=-%ld", cache_mib * 1024);
    exec(db, pragma);
  }
  exec(db, kSchema);

  sqlite3_stmt *ins = NULL;
  check(sqlite3_prepare_v3(db, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL), db,
        "prepare");

  // Text fields come from pools built before the clock starts, so the timed
  // loop measures SQLite, not snprintf. Ids look like the load generator's: a
  // per-request prefix plus a sequence number; sessions of 10 events whose ids
  // are scattered (like UUIDs), parents pointing at earlier events.
  enum { kPool = 1024 };
  static char inputs[kPool][512], outputs[kPool][512], names[kPool][64];
  static int input_len[kPool], output_len[kPool];
  for (int p = 0; p < kPool; p++) {
    size_t il = (size_t)snprintf(inputs[p], sizeof inputs[p],
                                 "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
                                 "helpful %s agent.\"},{\"role\":\"user\",\"content\":\"",
                                 kAgents[p % 8]);
    append_words(inputs[p], &il, sizeof inputs[p], 12 + (int)(next_rand() % 10));
    il += (size_t)snprintf(inputs[p] + il, sizeof inputs[p] - il, "\"}]}");
    size_t ol = (size_t)snprintf(outputs[p], sizeof outputs[p],
                                 "{\"role\":\"assistant\",\"content\":\"");
    append_words(outputs[p], &ol, sizeof outputs[p], 10 + (int)(next_rand() % 12));
    ol += (size_t)snprintf(outputs[p] + ol, sizeof outputs[p] - ol, "\"}");
    input_len[p] = (int)il;
    output_len[p] = (int)ol;
    snprintf(names[p], sizeof names[p], "%s", kWords[next_rand() % kWordCount]);
  }

  const int64_t base_us = (int64_t)time(NULL) * 1000000;
  char id[64], session[64], parent[64], name[96];
  long long total_bytes = 0;

  double t0 = now_seconds();
  exec(db, "BEGIN");
  for (long r = 0; r < rows; r++) {
    long request = r / 1000, index = r % 1000, sess = r / 10;
    int pos = (int)(r % 10);
    uint32_t req_hash = (uint32_t)request * 2654435761u;
    size_t id_len = format_id(id, "r", (uint32_t)request, req_hash, (uint32_t)index);
    size_t session_len =
        format_id(session, "s", (uint32_t)sess * 2246822519u, (uint32_t)sess, 0);
    size_t parent_len = 0;
    if (pos != 0)
      parent_len = format_id(parent, "r", (uint32_t)request, req_hash,
                             (uint32_t)(index - 1 - (long)(next_rand() % (uint32_t)pos)));

    const char *type;
    const char *model = NULL;
    switch (pos) {
      case 0: type = "agent"; break;
      case 1: case 5: type = "step"; break;
      case 2: case 4: case 7: case 9: type = "llm"; model = kModels[next_rand() % 5]; break;
      default: type = "tool"; break;
    }
    uint32_t pick = next_rand();
    const char *word = names[pick % kPool];
    size_t type_len = strlen(type), word_len = strlen(word);
    memcpy(name, type, type_len);
    name[type_len] = '.';
    memcpy(name + type_len + 1, word, word_len + 1);
    size_t name_len = type_len + 1 + word_len;
    int ip = (int)((pick >> 10) % kPool), op = (int)((pick >> 20) % kPool);

    int64_t started = base_us + r * 1000;
    int64_t ended = started + 200 + (int64_t)(next_rand() % 3000000);
    int status_error = (next_rand() % 50) == 0;
    int in_tok = 50 + (int)(next_rand() % 2000), out_tok = 10 + (int)(next_rand() % 800);
    const char *agent = kAgents[sess % 8];

    sqlite3_bind_int64(ins, 1, 1);
    sqlite3_bind_text(ins, 2, id, (int)id_len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, session, (int)session_len, SQLITE_STATIC);
    if (pos != 0)
      sqlite3_bind_text(ins, 4, parent, (int)parent_len, SQLITE_STATIC);
    else
      sqlite3_bind_null(ins, 4);
    sqlite3_bind_text(ins, 5, type, (int)type_len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, name, (int)name_len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 8, started);
    sqlite3_bind_int64(ins, 9, ended);
    sqlite3_bind_text(ins, 10, status_error ? "error" : "ok", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 11, inputs[ip], input_len[ip], SQLITE_STATIC);
    sqlite3_bind_text(ins, 12, outputs[op], output_len[op], SQLITE_STATIC);
    if (model) {
      sqlite3_bind_text(ins, 13, model, -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 14, in_tok);
      sqlite3_bind_int64(ins, 15, out_tok);
      sqlite3_bind_int64(ins, 16, in_tok + out_tok);
      sqlite3_bind_double(ins, 17, (in_tok * 0.15 + out_tok * 0.6) / 1e6);
    } else {
      for (int c = 13; c <= 17; c++) sqlite3_bind_null(ins, c);
    }
    total_bytes += (long long)(id_len + session_len + parent_len + type_len + name_len +
                               strlen(agent) + 16 + 5 + (size_t)input_len[ip] +
                               (size_t)output_len[op] + (model ? strlen(model) + 32 : 0));

    check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
    if ((r + 1) % batch == 0) {
      exec(db, "COMMIT");
      exec(db, "BEGIN");
    }
  }
  exec(db, "COMMIT");
  double elapsed = now_seconds() - t0;

  sqlite3_finalize(ins);
  int actual_page_size = 0;
  sqlite3_stmt *ps = NULL;
  check(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &ps, NULL), db, "page_size");
  if (sqlite3_step(ps) == SQLITE_ROW) actual_page_size = sqlite3_column_int(ps, 0);
  sqlite3_finalize(ps);
  sqlite3_close(db);

  printf("{\"rows\":%ld,\"batch\":%ld,\"seconds\":%.3f,\"rows_per_sec\":%.0f,"
         "\"avg_row_bytes\":%.0f,\"sqlite_version\":\"%s\",\"journal_mode\":\"wal\","
         "\"synchronous\":\"normal\",\"cache_mib\":%ld,\"page_size\":%d,"
         "\"wal_autocheckpoint\":%ld}\n",
         rows, batch, elapsed, (double)rows / elapsed, (double)total_bytes / (double)rows,
         sqlite3_libversion(), cache_mib, actual_page_size,
         autocheckpoint < 0 ? 1000 : autocheckpoint);

  unlink(path);
  unlink(wal);
  unlink(shm);
  return 0;
}
