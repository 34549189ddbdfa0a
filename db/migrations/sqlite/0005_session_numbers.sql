-- Sessions get a number in order of first sight, and events find their session's events
-- by it. Session ids are client strings, often random (OpenTelemetry trace ids, UUIDv4):
-- an index keyed by them takes each commit's events at a random page per session, and
-- with random trace ids that cost ~2.3 KB of WAL and ~2.5 us of writer time per span
-- (bench/run.py's OTLP pass with random trace ids, 2026-12-02). New sessions get the
-- next numbers, so their events land at the end of events_session, as rows of the
-- events table do. Numbers are never reused (meta.next_session_num).
ALTER TABLE sessions ADD COLUMN num INTEGER;
UPDATE sessions SET num = n.num
  FROM (SELECT project_id, id,
               row_number() OVER (ORDER BY ifnull(started_at, 0), project_id, id) AS num
          FROM sessions) AS n
 WHERE sessions.project_id = n.project_id AND sessions.id = n.id;
INSERT INTO meta (key, value) VALUES ('next_session_num', (SELECT ifnull(max(num), 0) + 1 FROM sessions));

ALTER TABLE events ADD COLUMN session_num INTEGER;  -- sessions.num of (project_id, session_id)
UPDATE events SET session_num =
  (SELECT num FROM sessions s WHERE s.project_id = events.project_id AND s.id = events.session_id);
DROP INDEX events_session;
CREATE INDEX events_session ON events (session_num, started_at);

-- Most sessions have no user id; as index keys, NULLs sort by session id, which put every
-- new session on a random page of this index too.
DROP INDEX sessions_user;
CREATE INDEX sessions_user ON sessions (project_id, user_id) WHERE user_id IS NOT NULL;
