-- Process packages and releases ("processes" in UiPath's UI). A package's .nupkg is kept in
-- the database, once per tenant and SHA-256: several server nodes share a database but no
-- disk, and every node must serve every package. Versions are stored normalized (1.0 is
-- 1.0.0); *_norm columns hold the lower-cased copy names and versions match by.
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE package_contents (
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  sha256     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  content    BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, sha256)
);

-- One row per package version. is_latest marks the highest version of each package; the
-- store keeps it current under a per-package lock.
CREATE TABLE packages (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  name_norm     TEXT NOT NULL,
  version       TEXT NOT NULL,
  version_norm  TEXT NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  description   TEXT NOT NULL DEFAULT '',
  authors       TEXT NOT NULL DEFAULT '',
  release_notes TEXT NOT NULL DEFAULT '',
  entry_point   TEXT NOT NULL,
  arguments     TEXT NOT NULL DEFAULT '',
  sha256        TEXT NOT NULL,
  size          INTEGER NOT NULL,
  is_latest     INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  UNIQUE (tenant_id, name_norm, version_norm),
  FOREIGN KEY (tenant_id, sha256) REFERENCES package_contents(tenant_id, sha256)
);
CREATE INDEX packages_latest ON packages(tenant_id, is_latest);
CREATE INDEX packages_content ON packages(tenant_id, sha256);

-- A release runs one package version (a version in use cannot be deleted) in one folder.
CREATE TABLE releases (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  key                  TEXT NOT NULL UNIQUE,
  tenant_id            INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id            INTEGER NOT NULL REFERENCES folders(id),
  name                 TEXT NOT NULL,
  name_norm            TEXT NOT NULL,
  description          TEXT NOT NULL DEFAULT '',
  package_id           INTEGER NOT NULL REFERENCES packages(id),
  input_arguments      TEXT NOT NULL DEFAULT '',
  job_priority         TEXT NOT NULL DEFAULT 'Normal' CHECK (job_priority IN ('Low', 'Normal', 'High')),
  max_run_time_seconds INTEGER NOT NULL DEFAULT 0 CHECK (max_run_time_seconds >= 0),
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  UNIQUE (folder_id, name_norm)
);
CREATE INDEX releases_tenant ON releases(tenant_id);
CREATE INDEX releases_package ON releases(package_id);

-- The versions a release ran, in order; the last is its current one. A rollback removes
-- the last.
CREATE TABLE release_versions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  version    TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX release_versions_release ON release_versions(release_id, id);
