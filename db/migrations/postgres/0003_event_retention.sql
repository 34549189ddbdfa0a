-- Retention: events that started before a cutoff go, a whole monthly partition at a time
-- (DROP TABLE: no row-by-row delete, no bloat); the default partition, which holds what
-- fell outside the monthly ones (old imports), loses its rows before the cutoff. A monthly
-- partition goes only when it ends at or before the cutoff, so no event that started at
-- or after the cutoff is ever removed.
--
-- What refers to those events goes in the same transaction: their idempotency keys, their
-- share of the session rollups (subtracted; first and last event times recomputed from the
-- events left), and the sessions left without events whose own times and last event all
-- lie before the cutoff.
--
-- Serialized with partition creation (the same advisory lock). The partitions concerned
-- are locked against writes first (writers to other months carry on); the ACCESS EXCLUSIVE
-- lock DETACH needs on `events` is taken last, just before COMMIT. Returns how many events
-- it removed.
CREATE FUNCTION agentlog_drop_events_before(before_us bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  doomed regclass[];
  doomed_or_default regclass[];
  dflt regclass;
  rel regclass;
  src text;
  excluded text;
  removed bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7654001);
  SELECT array_agg(c.oid::regclass) FILTER (
           WHERE (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(-?[0-9]+)''?\)'))[1]::bigint
                 <= before_us),
         (array_agg(c.oid::regclass) FILTER (WHERE pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'))[1]
  INTO doomed, dflt
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'events'::regclass;
  doomed := coalesce(doomed, '{}');

  -- The doomed events (read from the partitions themselves), and the condition that
  -- leaves them out of `events`.
  src := 'SELECT * FROM events WHERE false';
  excluded := format('e.tableoid = ANY (%L::regclass[])', doomed);
  FOREACH rel IN ARRAY doomed LOOP
    src := src || format(' UNION ALL SELECT * FROM %s', rel);
  END LOOP;
  IF dflt IS NOT NULL THEN
    src := src || format(' UNION ALL SELECT * FROM %s WHERE started_at < %s', dflt, before_us);
    excluded := excluded || format(' OR (e.tableoid = %L::regclass AND e.started_at < %s)', dflt, before_us);
    doomed_or_default := doomed || dflt;
  ELSE
    doomed_or_default := doomed;
  END IF;
  FOREACH rel IN ARRAY doomed_or_default LOOP
    -- Writers that would add to or replace events of this partition wait until COMMIT.
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', rel);
  END LOOP;

  CREATE TEMP TABLE retention_gone ON COMMIT DROP AS
  SELECT NULL::bigint AS project_id, NULL::text COLLATE "C" AS id, 0::bigint AS n, 0::bigint AS errors,
         0::bigint AS llm, 0::bigint AS tool, 0::bigint AS in_tok, 0::bigint AS out_tok,
         0::bigint AS tot_tok, 0::float8 AS cost, NULL::bigint AS last_event_at
  WITH NO DATA;
  EXECUTE format(
    'INSERT INTO retention_gone '
    'SELECT g.*, s.last_event_at FROM ('
    '  SELECT project_id, session_id, count(*), count(*) FILTER (WHERE status = ''error''), '
    '         count(*) FILTER (WHERE type = ''llm''), count(*) FILTER (WHERE type = ''tool''), '
    '         coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), '
    '         coalesce(sum(total_tokens), 0), coalesce(sum(cost_usd), 0) '
    '  FROM (%s) d GROUP BY 1, 2) g '
    'LEFT JOIN sessions s ON s.project_id = g.project_id AND s.id = g.session_id', src);
  SELECT coalesce(sum(n), 0) INTO removed FROM retention_gone;

  EXECUTE format(
    'DELETE FROM event_keys k USING (%s) d WHERE k.project_id = d.project_id AND k.id = d.id '
    'AND k.started_at = d.started_at', src);
  EXECUTE format(
    'UPDATE sessions s SET '
    '  event_count = s.event_count - g.n, error_count = s.error_count - g.errors, '
    '  llm_count = s.llm_count - g.llm, tool_count = s.tool_count - g.tool, '
    '  input_tokens = s.input_tokens - g.in_tok, output_tokens = s.output_tokens - g.out_tok, '
    '  total_tokens = s.total_tokens - g.tot_tok, cost_usd = s.cost_usd - g.cost, '
    '  first_event_at = (SELECT min(e.started_at) FROM events e WHERE e.project_id = s.project_id '
    '    AND e.session_id = s.id AND NOT (%1$s)), '
    '  last_event_at = (SELECT max(coalesce(e.ended_at, e.started_at)) FROM events e '
    '    WHERE e.project_id = s.project_id AND e.session_id = s.id AND NOT (%1$s)) '
    'FROM retention_gone g WHERE s.project_id = g.project_id AND s.id = g.id', excluded);
  -- A session left without events goes when nothing of it reaches the cutoff.
  DELETE FROM sessions s USING retention_gone g
  WHERE s.project_id = g.project_id AND s.id = g.id AND s.event_count = 0
    AND coalesce(GREATEST(s.own_started_at, s.ended_at, g.last_event_at), before_us - 1) < before_us;
  IF dflt IS NOT NULL THEN
    EXECUTE format('DELETE FROM %s WHERE started_at < %s', dflt, before_us);
  END IF;
  FOREACH rel IN ARRAY doomed LOOP
    EXECUTE format('ALTER TABLE events DETACH PARTITION %s', rel);
    EXECUTE format('DROP TABLE %s', rel);
  END LOOP;
  DROP TABLE retention_gone;
  RETURN removed;
END $$;
