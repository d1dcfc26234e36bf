-- The audit log: every change made through the API, by whom and through which client.
-- Rows with tenant_id NULL are organization-wide and show in every tenant's log.
CREATE TABLE audit_logs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  tenant_id   INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
  at          INTEGER NOT NULL,
  action      TEXT NOT NULL,
  component   TEXT NOT NULL,
  entity_id   INTEGER,
  entity_name TEXT NOT NULL DEFAULT '',
  principal   TEXT NOT NULL DEFAULT '',
  client_id   TEXT NOT NULL DEFAULT '',
  details     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_logs_tenant_at ON audit_logs(tenant_id, at);
CREATE INDEX audit_logs_org_at ON audit_logs(org_id, at);
