-- Grants of the identity service: browser sessions of the identity pages, authorization
-- codes, refresh tokens, device authorizations and personal access tokens. Secrets are
-- never stored: each is kept as the hex SHA-256 of the value the client holds.
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC; booleans are 0 or 1.

-- The user_id indexes serve the cascade when a user is deleted; those on expires_at, the
-- removal of expired rows.
CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,
  org_id     INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Single use: used_at is set by the one redemption that wins; a second one is a replay.
CREATE TABLE auth_codes (
  code_hash             TEXT PRIMARY KEY,
  org_id                INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id               INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id             TEXT NOT NULL,
  redirect_uri          TEXT NOT NULL DEFAULT '', -- as sent to /authorize, '' when none was
  scope                 TEXT NOT NULL DEFAULT '', -- granted, space-separated
  code_challenge        TEXT NOT NULL DEFAULT '',
  code_challenge_method TEXT NOT NULL DEFAULT '', -- 'S256' or '' (no PKCE)
  nonce                 TEXT NOT NULL DEFAULT '',
  family                TEXT NOT NULL,            -- the refresh token family it starts
  issuer                TEXT NOT NULL,
  created_at            INTEGER NOT NULL,
  expires_at            INTEGER NOT NULL,
  used_at               INTEGER
);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

-- Tokens of one grant share a family, revoked together on a replay. Rotating tokens are
-- single use (used_at); the others (seed-era tokens, user keys) live until revoked.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  family     TEXT NOT NULL,
  org_id     INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id  TEXT NOT NULL,
  scope      TEXT NOT NULL DEFAULT '',
  issuer     TEXT NOT NULL,
  rotates    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER, -- NULL: never expires
  used_at    INTEGER, -- rotated at
  revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

-- Device authorizations (RFC 8628). user_code is stored normalised (upper case, no '-'),
-- as the store compares it; org_id and user_id are set when a user approves.
CREATE TABLE device_codes (
  device_hash  TEXT PRIMARY KEY,
  user_code    TEXT NOT NULL UNIQUE,
  client_id    TEXT NOT NULL,
  scope        TEXT NOT NULL DEFAULT '',
  issuer       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
  org_id       INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
  user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_poll_at INTEGER
);
CREATE INDEX device_codes_expires ON device_codes(expires_at);

-- Personal access tokens; scopes is a JSON array of strings. Revoked tokens stay listed.
CREATE TABLE pats (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT NOT NULL UNIQUE,
  org_id       INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL DEFAULT '[]',
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
CREATE INDEX pats_org_user ON pats(org_id, user_id);
