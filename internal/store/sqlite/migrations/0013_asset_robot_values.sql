-- Per-robot values of assets (ValueScope PerRobot): one row per asset and robot. The
-- columns are the asset's: exactly the one of the asset's value_type holds the value, and a
-- credential's password or a secret's value is sealed with the installation's secret key,
-- bound to the tenant, the asset's key, the robot's key and the type, so that a sealed value
-- copied to another robot's or another asset's row does not open. A row goes with its asset
-- and with its robot (and so with the robot's machine).
CREATE TABLE asset_robot_values (
  asset_id            INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
  robot_id            INTEGER NOT NULL REFERENCES robots(id) ON DELETE CASCADE,
  string_value        TEXT NOT NULL DEFAULT '',
  bool_value          INTEGER NOT NULL DEFAULT 0,
  int_value           INTEGER NOT NULL DEFAULT 0,
  credential_username TEXT NOT NULL DEFAULT '',
  sealed_value        BLOB,
  PRIMARY KEY (asset_id, robot_id)
);
CREATE INDEX asset_robot_values_robot ON asset_robot_values(robot_id);

-- Whether the asset's own value is set: always for a Global asset; for a PerRobot asset it
-- is the default of the robots without a value of their own, and may be missing.
ALTER TABLE assets ADD COLUMN has_default_value INTEGER NOT NULL DEFAULT 1;
