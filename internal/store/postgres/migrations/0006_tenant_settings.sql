-- Tenant settings (GET/PUT odata/Settings): named string values, the API validates them.
-- A setting without a row has its default.
CREATE TABLE tenant_settings (
  tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name       text NOT NULL,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
