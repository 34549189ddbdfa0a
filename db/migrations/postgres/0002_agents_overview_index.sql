-- The agents overview reads every session of a project, or of a time window: per agent,
-- counts and sums of the rollups and the exact p50/p95 of session duration. Covering
-- indexes let it read index pages only, instead of one heap page per session in random
-- order (100k sessions: 110 -> ~45-60 ms for the whole project, 3-6 ms for a day):
--   sessions_agent, in agent order: the whole project in one index-only scan whose rows
--     arrive grouped by agent (its key is unchanged, so agent filters on the session list
--     still use it);
--   sessions_started: a time window is a range of it.
-- Session rollups change on every ingest, so these indexes were updated on every rollup
-- anyway (a rollup update changes last_event_at, which sessions_last_event indexes); they
-- are only wider now.
DROP INDEX sessions_agent;
CREATE INDEX sessions_agent ON sessions (project_id, agent, (coalesce(started_at, -999999999999999999)))
  INCLUDE (status, error_count, event_count, llm_count, tool_count, input_tokens, output_tokens,
           total_tokens, cost_usd, started_at, ended_at, last_event_at);
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions (project_id, (coalesce(started_at, -999999999999999999)), id)
  INCLUDE (agent, status, error_count, event_count, llm_count, tool_count, input_tokens, output_tokens,
           total_tokens, cost_usd, started_at, ended_at, last_event_at);
