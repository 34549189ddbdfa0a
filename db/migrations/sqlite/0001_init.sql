-- AgentLog schema v1 (SQLite). Times are microseconds since the Unix epoch (UTC).

CREATE TABLE projects (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO projects (name, created_at)
VALUES ('default', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY,
  project_id   INTEGER NOT NULL REFERENCES projects (id),
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,          -- first characters of the secret, shown in listings
  hash         TEXT NOT NULL UNIQUE,   -- SHA-256 hex of the secret; the secret is never stored
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX api_keys_project ON api_keys (project_id);

-- Allocation state that must survive restarts (e.g. next_seq: event sequence numbers are
-- never reused, so the search index can refer to them without ambiguity).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('next_seq', 1);

CREATE TABLE sessions (
  project_id     INTEGER NOT NULL,
  id             TEXT NOT NULL,
  name           TEXT,
  agent          TEXT,
  user_id        TEXT,
  tags           TEXT NOT NULL DEFAULT '[]',
  metadata       TEXT NOT NULL DEFAULT '{}',
  status         TEXT NOT NULL DEFAULT 'running',
  own_started_at INTEGER,               -- as set by the client
  first_event_at INTEGER,               -- min(events.started_at)
  ended_at       INTEGER,
  last_event_at  INTEGER,               -- max(coalesce(events.ended_at, events.started_at))
  event_count    INTEGER NOT NULL DEFAULT 0,
  error_count    INTEGER NOT NULL DEFAULT 0,
  llm_count      INTEGER NOT NULL DEFAULT 0,
  tool_count     INTEGER NOT NULL DEFAULT 0,
  input_tokens   INTEGER NOT NULL DEFAULT 0,
  output_tokens  INTEGER NOT NULL DEFAULT 0,
  total_tokens   INTEGER NOT NULL DEFAULT 0,
  cost_usd       REAL NOT NULL DEFAULT 0,
  started_at     INTEGER GENERATED ALWAYS AS (
    CASE WHEN own_started_at IS NULL THEN first_event_at
         WHEN first_event_at IS NULL THEN own_started_at
         ELSE min(own_started_at, first_event_at) END) VIRTUAL,
  PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
-- One index per sort key keeps every list page a bounded index walk.
CREATE INDEX sessions_started ON sessions (project_id, ifnull(started_at, -999999999999999999));
CREATE INDEX sessions_last_event ON sessions (project_id, ifnull(last_event_at, -999999999999999999));
-- No indexes for the cost/tokens/event/error sorts: every commit rewrites the rollups of
-- the sessions it touches, and four more indexes cost ~20% of the writer's time
-- (measured, docs/performance.md); those sorts scan the project's sessions instead.
CREATE INDEX sessions_agent ON sessions (project_id, agent, ifnull(started_at, -999999999999999999));
CREATE INDEX sessions_user ON sessions (project_id, user_id);

CREATE TABLE events (
  seq           INTEGER PRIMARY KEY,    -- arrival order, never reused (see meta.next_seq)
  project_id    INTEGER NOT NULL,
  id            TEXT NOT NULL,
  session_id    TEXT NOT NULL,
  parent_id     TEXT,
  trace_id      TEXT,
  span_id       TEXT,
  type          TEXT NOT NULL,
  name          TEXT,
  agent         TEXT,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  status        TEXT NOT NULL,
  input         TEXT,                   -- canonical JSON
  output        TEXT,                   -- canonical JSON
  has_error     INTEGER NOT NULL DEFAULT 0,
  error_type    TEXT,
  error_message TEXT,
  error_stack   TEXT,
  model         TEXT,
  provider      TEXT,
  input_tokens  INTEGER,                -- NULL: no usage reported
  output_tokens INTEGER,
  total_tokens  INTEGER,
  cached_tokens INTEGER,
  cost_usd      REAL,
  attributes    TEXT NOT NULL DEFAULT '{}',
  tags          TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX events_id ON events (project_id, id);
CREATE INDEX events_session ON events (project_id, session_id, started_at);
CREATE INDEX events_time ON events (project_id, started_at);
