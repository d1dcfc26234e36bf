-- Tenant settings (GET/PUT odata/Settings): named string values, the API validates them.
-- A setting without a row has its default.
CREATE TABLE tenant_settings (
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
