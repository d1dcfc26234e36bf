-- Assets (odata/Assets): named values of a folder that processes read. Exactly the column
-- of the asset's value_type holds its value. A credential's password and a secret's value
-- are never stored in plaintext: sealed_value holds them encrypted and authenticated with
-- the installation's secret key, bound to the tenant, the asset's key and its type.
-- Names are unique in a folder case-insensitively (name_norm, lower-cased by the store).
-- Timestamps are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE assets (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  key                 TEXT NOT NULL UNIQUE,
  tenant_id           INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  folder_id           INTEGER NOT NULL REFERENCES folders(id),
  name                TEXT NOT NULL,
  name_norm           TEXT NOT NULL,
  description         TEXT NOT NULL DEFAULT '',
  value_scope         TEXT NOT NULL,
  value_type          TEXT NOT NULL,
  string_value        TEXT NOT NULL DEFAULT '',
  bool_value          INTEGER NOT NULL DEFAULT 0,
  int_value           INTEGER NOT NULL DEFAULT 0,
  credential_username TEXT NOT NULL DEFAULT '',
  sealed_value        BLOB,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER,
  UNIQUE (folder_id, name_norm)
);
CREATE INDEX assets_tenant ON assets(tenant_id);
