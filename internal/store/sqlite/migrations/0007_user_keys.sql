-- User keys ("API access"): a user's secret that the seed-era /oauth/token exchanges for
-- 24-hour access tokens, as often as wanted, until the key is revoked. Like the other
-- grants, a key is stored only as the hex SHA-256 of the value the user holds; revoked keys
-- stay listed. Timestamps are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE user_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT NOT NULL UNIQUE,
  org_id       INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
-- Lists are per user; the second index serves the cascade when a user is deleted.
CREATE INDEX user_keys_org_user ON user_keys(org_id, user_id);
CREATE INDEX user_keys_user ON user_keys(user_id);
