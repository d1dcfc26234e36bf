-- The organisation model: organizations, tenants, folders, principals, roles, memberships.
-- Names that are unique case-insensitively keep a lower-cased copy (*_norm) made by the
-- store in Go, so both engines compare them the same way (Unicode-aware).
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE organizations (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,
  name_norm    TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);

CREATE TABLE tenants (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,
  key                     TEXT NOT NULL UNIQUE,
  org_id                  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name                    TEXT NOT NULL,
  name_norm               TEXT NOT NULL,
  display_name            TEXT NOT NULL,
  legacy_basic_auth       INTEGER NOT NULL DEFAULT 0,
  legacy_basic_auth_until INTEGER,
  created_at              INTEGER NOT NULL,
  UNIQUE (org_id, name_norm)
);

CREATE TABLE folders (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT NOT NULL UNIQUE,
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  parent_id    INTEGER REFERENCES folders(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  fqn          TEXT NOT NULL,
  fqn_norm     TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  depth        INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  UNIQUE (tenant_id, fqn_norm)
);
CREATE INDEX folders_parent ON folders(parent_id);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  key           TEXT NOT NULL UNIQUE,
  org_id        INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email         TEXT NOT NULL,
  email_norm    TEXT NOT NULL,
  name          TEXT NOT NULL,
  password_hash TEXT NOT NULL DEFAULT '',
  org_admin     INTEGER NOT NULL DEFAULT 0,
  basic_auth    INTEGER NOT NULL DEFAULT 0,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  UNIQUE (org_id, email_norm)
);

-- Apps with org_id NULL are the built-in first-party clients.
CREATE TABLE apps (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  key           TEXT NOT NULL UNIQUE,
  org_id        INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  name_norm     TEXT NOT NULL,
  client_id     TEXT NOT NULL UNIQUE,
  secret_hash   TEXT NOT NULL DEFAULT '',
  app_scopes    TEXT NOT NULL DEFAULT '[]',
  user_scopes   TEXT NOT NULL DEFAULT '[]',
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  first_party   INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  UNIQUE (org_id, name_norm)
);

CREATE TABLE machines (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  key         TEXT NOT NULL UNIQUE,
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  name_norm   TEXT NOT NULL,
  client_id   TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  slots       INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (tenant_id, name_norm)
);

-- Client ids are unique across apps and machines: the token endpoint finds the client, and
-- with it the organization, from the id alone.
CREATE TABLE client_ids (
  client_id  TEXT PRIMARY KEY,
  app_id     INTEGER UNIQUE REFERENCES apps(id) ON DELETE CASCADE,
  machine_id INTEGER UNIQUE REFERENCES machines(id) ON DELETE CASCADE,
  CHECK ((app_id IS NULL) <> (machine_id IS NULL))
);

-- Roles with tenant_id NULL are built in (DESIGN §4) and never edited.
CREATE TABLE roles (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  name_norm   TEXT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('Tenant', 'Folder')),
  permissions TEXT NOT NULL DEFAULT '[]',
  UNIQUE (tenant_id, name_norm)
);

-- One row per role a principal holds in a tenant (folder_id NULL) or a folder.
CREATE TABLE memberships (
  tenant_id      INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id      INTEGER REFERENCES folders(id) ON DELETE CASCADE,
  principal_kind TEXT NOT NULL CHECK (principal_kind IN ('user', 'app', 'machine')),
  principal_id   INTEGER NOT NULL,
  role_id        INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memberships_unique ON memberships(tenant_id, COALESCE(folder_id, 0), principal_kind, principal_id, role_id);
CREATE INDEX memberships_principal ON memberships(principal_kind, principal_id);
CREATE INDEX memberships_folder ON memberships(folder_id);

CREATE TABLE queue_definitions (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  key                TEXT NOT NULL UNIQUE,
  tenant_id          INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id          INTEGER NOT NULL REFERENCES folders(id),
  name               TEXT NOT NULL,
  name_norm          TEXT NOT NULL,
  description        TEXT NOT NULL DEFAULT '',
  max_retries        INTEGER NOT NULL DEFAULT 0,
  unique_reference   INTEGER NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL,
  UNIQUE (folder_id, name_norm)
);
CREATE INDEX queue_definitions_tenant ON queue_definitions(tenant_id);

INSERT INTO roles (id, name, name_norm, type, permissions) VALUES
  (1, 'Administrator', 'administrator', 'Tenant', '["Assets.Create","Assets.Delete","Assets.Edit","Assets.View","Audit.Create","Audit.Delete","Audit.Edit","Audit.View","Folders.Create","Folders.Delete","Folders.Edit","Folders.View","Jobs.Create","Jobs.Delete","Jobs.Edit","Jobs.View","License.Create","License.Delete","License.Edit","License.View","Logs.Create","Logs.Delete","Logs.Edit","Logs.View","Machines.Create","Machines.Delete","Machines.Edit","Machines.View","Packages.Create","Packages.Delete","Packages.Edit","Packages.View","Processes.Create","Processes.Delete","Processes.Edit","Processes.View","Queues.Create","Queues.Delete","Queues.Edit","Queues.View","Robots.Create","Robots.Delete","Robots.Edit","Robots.View","Roles.Create","Roles.Delete","Roles.Edit","Roles.View","Settings.Create","Settings.Delete","Settings.Edit","Settings.View","Transactions.Create","Transactions.Delete","Transactions.Edit","Transactions.View","Users.Create","Users.Delete","Users.Edit","Users.View"]'),
  (2, 'Folder Administrator', 'folder administrator', 'Folder', '["Assets.Create","Assets.Delete","Assets.Edit","Assets.View","Folders.Create","Folders.Delete","Folders.Edit","Folders.View","Jobs.Create","Jobs.Delete","Jobs.Edit","Jobs.View","Logs.Create","Logs.Delete","Logs.Edit","Logs.View","Packages.Create","Packages.Delete","Packages.Edit","Packages.View","Processes.Create","Processes.Delete","Processes.Edit","Processes.View","Queues.Create","Queues.Delete","Queues.Edit","Queues.View","Robots.Create","Robots.Delete","Robots.Edit","Robots.View","Transactions.Create","Transactions.Delete","Transactions.Edit","Transactions.View"]'),
  (3, 'Automation Developer', 'automation developer', 'Folder', '["Assets.Create","Assets.Delete","Assets.Edit","Assets.View","Folders.View","Jobs.Create","Jobs.Delete","Jobs.Edit","Jobs.View","Logs.Create","Logs.View","Packages.View","Processes.Create","Processes.Delete","Processes.Edit","Processes.View","Queues.Create","Queues.Delete","Queues.Edit","Queues.View","Robots.View","Transactions.Create","Transactions.Delete","Transactions.Edit","Transactions.View"]'),
  (4, 'Automation User', 'automation user', 'Folder', '["Assets.View","Folders.View","Jobs.Create","Jobs.Edit","Jobs.View","Logs.Create","Logs.View","Packages.View","Processes.View","Queues.View","Robots.View","Transactions.Create","Transactions.Edit","Transactions.View"]'),
  (5, 'Robot', 'robot', 'Folder', '["Assets.View","Jobs.Edit","Jobs.View","Logs.Create","Packages.View","Processes.View","Queues.View","Transactions.Create","Transactions.Edit","Transactions.View"]');

-- The built-in first-party public clients (DESIGN §4): seed-era clients and the CLI.
INSERT INTO apps (key, name, name_norm, client_id, user_scopes, redirect_uris, first_party, created_at) VALUES
  ('6f1d2a5e-0b61-4c43-9a8e-2c7b8f1e0a01', 'UiPath PKCE (seed era)', 'uipath pkce (seed era)', '5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN', '["openid","profile","email","offline_access","OrchestratorApiUserAccess"]', '[]', 1, 0),
  ('6f1d2a5e-0b61-4c43-9a8e-2c7b8f1e0a02', 'UiPath API access (user keys)', 'uipath api access (user keys)', '8DEv1AMNXczW3y4U15LL3jYf62jK93n5', '["openid","profile","email","offline_access","OrchestratorApiUserAccess"]', '[]', 1, 0),
  ('6f1d2a5e-0b61-4c43-9a8e-2c7b8f1e0a03', 'UiPath PowerShell (seed era)', 'uipath powershell (seed era)', 'qccWcbcRgHGP0Nivlm7T9B7lven0AnTW', '["openid","profile","email","offline_access","OrchestratorApiUserAccess"]', '[]', 1, 0),
  ('6f1d2a5e-0b61-4c43-9a8e-2c7b8f1e0a04', 'orch CLI', 'orch cli', 'orch-cli', '["openid","profile","email","offline_access","OrchestratorApiUserAccess"]', '[]', 1, 0);
INSERT INTO client_ids (client_id, app_id) SELECT client_id, id FROM apps WHERE org_id IS NULL;
