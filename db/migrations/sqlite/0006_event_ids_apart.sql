-- Event ids are looked up in ids.db, written by its own thread (store/sqlite/id_index.h):
-- ids that do not grow with time, such as OpenTelemetry's <trace_id>-<span_id>, put every
-- trace on a random page of an id index, and inside this file that index cost the writer
-- ~4 us per span, a third of its OTLP throughput with random trace ids (bench/run.py,
-- 2026-12-02). The server keeps (project_id, id) unique; the first start after this
-- migration fills ids.db from the events table.
DROP INDEX events_id;
