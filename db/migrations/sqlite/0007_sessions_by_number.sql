-- Sessions are stored in order of (project, number), so a new session's row is appended to
-- its project's last pages; the session id, often random (OpenTelemetry trace ids, UUIDv4),
-- is the key of a narrow unique index instead of the table's. Keyed by (project_id, id), a
-- commit of ~4,000 spans from ~450 new traces rewrote ~400 of the table's 16 KiB pages
-- at random, 6.4 MB of a 15 MB WAL commit (bench/run.py's OTLP pass with random trace
-- ids, 2026-12-02).
CREATE TABLE sessions_by_num (
  project_id     INTEGER NOT NULL,
  id             TEXT NOT NULL,
  name           TEXT,
  agent          TEXT,
  user_id        TEXT,
  tags           TEXT NOT NULL DEFAULT '[]',
  metadata       TEXT NOT NULL DEFAULT '{}',
  status         TEXT NOT NULL DEFAULT 'running',
  own_started_at INTEGER,
  first_event_at INTEGER,
  ended_at       INTEGER,
  last_event_at  INTEGER,
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
  num            INTEGER NOT NULL,  -- meta.next_session_num, never reused
  PRIMARY KEY (project_id, num)
) WITHOUT ROWID;
INSERT INTO sessions_by_num (project_id, id, name, agent, user_id, tags, metadata, status, own_started_at,
                             first_event_at, ended_at, last_event_at, event_count, error_count, llm_count,
                             tool_count, input_tokens, output_tokens, total_tokens, cost_usd, num)
  SELECT project_id, id, name, agent, user_id, tags, metadata, status, own_started_at, first_event_at,
         ended_at, last_event_at, event_count, error_count, llm_count, tool_count, input_tokens,
         output_tokens, total_tokens, cost_usd, num
    FROM sessions ORDER BY project_id, num;
DROP TABLE sessions;
ALTER TABLE sessions_by_num RENAME TO sessions;
CREATE UNIQUE INDEX sessions_id ON sessions (project_id, id);
-- The time indexes are keyed by the second, not the microsecond (as events_time is since
-- 0003): within a second, entries follow the table's key, so a new session's entry goes to
-- the end of its second instead of a random place among the last seconds' entries. Spans
-- arrive up to seconds after they start (exporters send them in batches every ~5 s), and
-- keyed by the microsecond these indexes took ~260 of the same commit's pages (4.2 MB).
-- Lists order by the second, then the exact time and the id: SQLite walks the index and
-- sorts one second's sessions at a time.
CREATE INDEX sessions_started ON sessions (project_id, ifnull(started_at, -999999999999999999) / 1000000);
CREATE INDEX sessions_last_event ON sessions (project_id, ifnull(last_event_at, -999999999999999999) / 1000000);
CREATE INDEX sessions_agent ON sessions (project_id, agent, ifnull(started_at, -999999999999999999) / 1000000);
CREATE INDEX sessions_user ON sessions (project_id, user_id) WHERE user_id IS NOT NULL;
