-- The time index keys events by the second they started in, not the exact microsecond.
-- Live agents report events a few seconds to minutes after they start, so new events
-- land all over the last minutes of an exact-time index: every commit rewrote most of
-- that region's pages (3-4 us of writer time per event at 60k events/s, measured with
-- bench/run.py on 2026-12-01). Keyed by second, rows of one second follow in rowid
-- order and new rows append at a few places. Queries order by (second, started_at, seq),
-- which is the same order: SQLite walks the index by second and sorts within it.
DROP INDEX events_time;
CREATE INDEX events_time ON events (project_id, started_at / 1000000);
