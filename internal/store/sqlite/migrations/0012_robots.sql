-- Robots: one per (machine, host name), created by the first connect of `orch robot` on
-- that host. state is its session's (Available, Busy, Disconnected); a robot that has not
-- called since reporting_time for longer than the unresponsive setting is Unresponsive,
-- which is worked out when read, not stored.
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE robots (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  key            TEXT NOT NULL UNIQUE,
  tenant_id      INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  machine_id     INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  host_name      TEXT NOT NULL,
  host_name_norm TEXT NOT NULL,
  name           TEXT NOT NULL,
  name_norm      TEXT NOT NULL,
  slots          INTEGER NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('Available', 'Busy', 'Disconnected')),
  version        TEXT NOT NULL DEFAULT '',
  reporting_time INTEGER NOT NULL,
  connected_at   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  UNIQUE (machine_id, host_name_norm)
);
CREATE INDEX robots_tenant ON robots(tenant_id, id);
-- The sweeper looks for connected robots that stopped calling.
CREATE INDEX robots_reporting ON robots(reporting_time) WHERE state <> 'Disconnected';

-- A job's robot, once one took it; robot_ids lists the robots that may take it when it was
-- started with the Specific strategy (",3,7,"; '' for any robot of the folder's machines).
ALTER TABLE jobs ADD COLUMN robot_id INTEGER REFERENCES robots(id) ON DELETE SET NULL;
ALTER TABLE jobs ADD COLUMN robot_ids TEXT NOT NULL DEFAULT '';
-- Dispatch takes the Pending jobs of a folder by priority (High, Normal, Low), then oldest
-- first: the expression is the one JobDispatch orders by.
CREATE INDEX jobs_dispatch ON jobs(tenant_id, folder_id,
  (CASE priority WHEN 'High' THEN 0 WHEN 'Normal' THEN 1 ELSE 2 END), created_at, id) WHERE state = 'Pending';
-- The jobs running on a robot, and those with a maximum run time, for the sweeper.
CREATE INDEX jobs_robot ON jobs(robot_id, id) WHERE state IN ('Running', 'Stopping', 'Terminating');
CREATE INDEX jobs_running_limited ON jobs(start_time) WHERE state IN ('Running', 'Stopping', 'Terminating')
  AND max_run_time_seconds > 0;

-- What the processes of jobs wrote (stdout at Info, stderr at Error), as robots send it.
-- The names are copied so that the log outlives its robot; rows older than the retention
-- are deleted by the sweeper.
CREATE TABLE robot_logs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id         INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id         INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  job_id            INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
  job_key           TEXT NOT NULL,
  robot_id          INTEGER REFERENCES robots(id) ON DELETE SET NULL,
  robot_name        TEXT NOT NULL,
  process_name      TEXT NOT NULL,
  host_machine_name TEXT NOT NULL,
  level             TEXT NOT NULL CHECK (level IN ('Trace', 'Info', 'Warn', 'Error', 'Fatal')),
  time              INTEGER NOT NULL,
  message           TEXT NOT NULL
);
CREATE INDEX robot_logs_job ON robot_logs(tenant_id, job_key, id);
CREATE INDEX robot_logs_folder ON robot_logs(tenant_id, folder_id, id);
CREATE INDEX robot_logs_time ON robot_logs(time);
CREATE INDEX robot_logs_job_id ON robot_logs(job_id);
