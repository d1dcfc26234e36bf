-- Identity service: token signing keys, the revocation log behind every node's deny-list,
-- and identity events for the audit log.

-- private_sealed is the private key sealed with the installation's secret key.
CREATE TABLE signing_keys (
  seq            INTEGER NOT NULL UNIQUE, -- creation order, whatever the nodes' clocks say
  kid            TEXT PRIMARY KEY,
  alg            TEXT NOT NULL,
  private_sealed BLOB NOT NULL,
  public_jwk     TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  retire_at      INTEGER NOT NULL, -- no longer signs after this
  expire_at      INTEGER NOT NULL  -- leaves the JWKS after this (retire_at + longest token life)
);

-- Each row denies the tokens matching (kind, value) issued at or before issued_before.
-- Nodes poll rows with id greater than the last they saw; rows past expire_at can go.
CREATE TABLE revocations (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  kind          TEXT NOT NULL CHECK (kind IN ('jti', 'subject', 'client', 'family')),
  value         TEXT NOT NULL,
  issued_before INTEGER NOT NULL,
  expire_at     INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
);

CREATE TABLE identity_events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id     INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  kind       TEXT NOT NULL,
  client_id  TEXT NOT NULL DEFAULT '',
  subject    TEXT NOT NULL DEFAULT '',
  ip         TEXT NOT NULL DEFAULT '',
  detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX identity_events_org_at ON identity_events(org_id, at);
