-- One copy of the attribute text that many events end with. An OTLP span's attributes
-- end with its instrumentation scope and resource (`otel.scope`, `otel.resource`, ~300
-- bytes), the same for every span a process sends: stored once here, they no longer take
-- ~30 % of each OTLP event row. events.attributes holds the rest; readers append the
-- suffix (attributes || text), so every reader sees the attributes as they were sent.
-- Rows are never updated; their ids are what events refer to.
CREATE TABLE attribute_suffixes (
  id         INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL,
  hash       INTEGER NOT NULL,            -- of text, to find an existing copy
  text       TEXT NOT NULL
);
CREATE INDEX attribute_suffixes_hash ON attribute_suffixes (project_id, hash);
ALTER TABLE events ADD COLUMN attributes_suffix INTEGER;  -- attribute_suffixes.id; NULL: none
