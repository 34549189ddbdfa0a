-- Dashboard users and their browser log-ins (v0.1 dashboard).

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,    -- lower-cased
  password_hash TEXT NOT NULL,           -- argon2id, PHC string
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
  created_at    INTEGER NOT NULL
);

CREATE TABLE login_sessions (
  token_hash TEXT PRIMARY KEY,           -- SHA-256 hex of the cookie's token; the token is never stored
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_sessions_user ON login_sessions (user_id);
