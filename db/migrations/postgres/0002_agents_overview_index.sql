-- The agents overview reads every session of a project, or of a time window: per agent,
-- counts and sums of the rollups and the exact p50/p95 of session duration. Two covering
-- indexes let it read only index pages, never a heap page per session in random order
-- (100k sessions, p50: 80-150 -> 37 ms for the whole project, 3 ms for a day):
--   sessions_agents_overview, in (agent, duration) order: the whole project in one scan
--     whose rows arrive grouped by agent and sorted for the percentiles (the duration is
--     the expression agents() computes);
--   sessions_started, now with the same columns included: a time window is a range of it.
-- Session rollups change on every ingest, so both are updated either way (a rollup update
-- already changes last_event_at, which sessions_last_event indexes).
CREATE INDEX sessions_agents_overview ON sessions
  (project_id, agent, (coalesce(ended_at, last_event_at) - started_at))
  INCLUDE (status, error_count, event_count, llm_count, tool_count, input_tokens, output_tokens,
           total_tokens, cost_usd, started_at, ended_at, last_event_at);
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions (project_id, (coalesce(started_at, -999999999999999999)), id)
  INCLUDE (agent, status, error_count, event_count, llm_count, tool_count, input_tokens, output_tokens,
           total_tokens, cost_usd, started_at, ended_at, last_event_at);
