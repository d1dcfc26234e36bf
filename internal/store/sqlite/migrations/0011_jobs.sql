-- Jobs: runs of a release. A job copies what it runs when it starts (the package version,
-- its entry point, the resolved input values), so that later changes of the release do
-- not touch it; it outlives its release and package version, which are then NULL.
-- release_name_norm is the lower-cased release name, kept current while the release
-- exists: lists filter by it (Release/Name, ReleaseName).
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE jobs (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  key                  TEXT NOT NULL UNIQUE,
  tenant_id            INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id            INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  release_id           INTEGER REFERENCES releases(id) ON DELETE SET NULL,
  release_name         TEXT NOT NULL,
  release_name_norm    TEXT NOT NULL,
  package_id           INTEGER REFERENCES packages(id) ON DELETE SET NULL,
  package_name         TEXT NOT NULL,
  package_version      TEXT NOT NULL,
  entry_point          TEXT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('Pending', 'Running', 'Stopping', 'Terminating', 'Faulted',
                         'Successful', 'Stopped', 'Suspended', 'Resumed')),
  priority             TEXT NOT NULL CHECK (priority IN ('Low', 'Normal', 'High')),
  input_arguments      TEXT NOT NULL DEFAULT '',
  output_arguments     TEXT NOT NULL DEFAULT '',
  info                 TEXT NOT NULL DEFAULT '',
  source               TEXT NOT NULL DEFAULT 'Manual',
  reference            TEXT NOT NULL DEFAULT '',
  batch_key            TEXT NOT NULL,
  stop_strategy        TEXT NOT NULL DEFAULT '' CHECK (stop_strategy IN ('', 'SoftStop', 'Kill')),
  max_run_time_seconds INTEGER NOT NULL DEFAULT 0,
  host_machine_name    TEXT NOT NULL DEFAULT '',
  error_code           TEXT NOT NULL DEFAULT '',
  error_title          TEXT NOT NULL DEFAULT '',
  error_detail         TEXT NOT NULL DEFAULT '',
  error_at             INTEGER,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  start_time           INTEGER,
  end_time             INTEGER
);
-- Lists of a folder in id order, and the usual filter of a jobs list: a state and a
-- process, newest first.
CREATE INDEX jobs_folder ON jobs(tenant_id, folder_id, id);
CREATE INDEX jobs_list ON jobs(tenant_id, folder_id, state, release_name_norm, created_at);
-- The jobs of a release or package version, for the foreign keys to update when they go;
-- and those that have not ended, which block deleting them.
CREATE INDEX jobs_release ON jobs(release_id);
CREATE INDEX jobs_package ON jobs(package_id);
CREATE INDEX jobs_release_unfinished ON jobs(release_id, id) WHERE state NOT IN ('Successful', 'Faulted', 'Stopped');
CREATE INDEX jobs_package_unfinished ON jobs(package_id, id) WHERE state NOT IN ('Successful', 'Faulted', 'Stopped');
