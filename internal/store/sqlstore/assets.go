package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/openorch/openorch/internal/odata"
	"github.com/openorch/openorch/internal/store"
)

// assetValueColumn is UiPath's Value, the asset's value as text: the username of a
// credential, nothing for a secret.
const assetValueColumn = `(CASE value_type WHEN 'Text' THEN string_value
	WHEN 'Bool' THEN (CASE WHEN bool_value THEN 'True' ELSE 'False' END)
	WHEN 'Integer' THEN CAST(int_value AS TEXT)
	WHEN 'Credential' THEN credential_username ELSE '' END)`

// assetEntity is the OData view of the Assets entity set. ValueType and ValueScope are
// numbered as UiPath numbers them. Sealed values are no property: they cannot be filtered
// or sorted by.
var assetEntity = odata.Entity{Set: "Assets", Props: []odata.Prop{
	{Name: "Id", Column: "id", Type: odata.Int},
	{Name: "Key", Column: "key", Type: odata.Guid},
	{Name: "Name", Column: "name_norm", Type: odata.String, Folded: true},
	{Name: "Description", Column: "description", Type: odata.String},
	{Name: "ValueScope", Column: "value_scope", Type: odata.Enum, Enum: []string{"Global", "PerRobot"}},
	{Name: "ValueType", Column: "value_type", Type: odata.Enum, Enum: []string{"DBConnectionString", "HttpConnectionString",
		"Text", "Bool", "Integer", "Credential", "WindowsCredential", "KeyValueList", "Secret"}},
	{Name: "Value", Column: assetValueColumn, Type: odata.String},
	{Name: "StringValue", Column: "string_value", Type: odata.String},
	{Name: "BoolValue", Column: "bool_value", Type: odata.Bool},
	{Name: "IntValue", Column: "int_value", Type: odata.Int},
	{Name: "CredentialUsername", Column: "credential_username", Type: odata.String},
	{Name: "CreationTime", Column: "created_at", Type: odata.Time},
	{Name: "LastModificationTime", Column: "updated_at", Type: odata.Time},
	{Name: "OrganizationUnitId", Column: "folder_id", Type: odata.Int},
}}

const assetColumns = `id, key, tenant_id, folder_id, name, description, value_scope, value_type, string_value, bool_value,
	int_value, credential_username, sealed_value, has_default_value, created_at, updated_at`

func scanAsset(r interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	err := r.Scan(&a.ID, &a.Key, &a.TenantID, &a.FolderID, &a.Name, &a.Description, &a.ValueScope, &a.ValueType,
		&a.StringValue, &a.BoolValue, &a.IntValue, &a.CredentialUsername, &a.SealedValue, &a.HasDefaultValue, dbTime{&a.CreatedAt},
		dbNullTime{&a.UpdatedAt})
	if len(a.SealedValue) == 0 {
		a.SealedValue = nil
	}
	return a, err
}

func assetConflict(name string) string {
	return fmt.Sprintf("an asset named %q already exists in this folder", name)
}

// sealed writes an absent sealed value as NULL.
func sealed(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// AssetCreate implements store.Store.
func (s *DB) AssetCreate(ctx context.Context, p store.AssetCreateParams) (store.Asset, error) {
	key := p.Key
	if key == "" {
		key = newKey()
	}
	var out store.Asset
	err := s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.FolderGet(ctx, p.TenantID, p.FolderID); err != nil {
			return err
		}
		var err error
		out, err = scanAsset(tx.w().QueryRowContext(ctx,
			`INSERT INTO assets (key, tenant_id, folder_id, name, name_norm, description, value_scope, value_type, string_value,
				bool_value, int_value, credential_username, sealed_value, has_default_value, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING `+assetColumns,
			key, p.TenantID, p.FolderID, p.Name, norm(p.Name), p.Description, string(p.ValueScope), string(p.ValueType), p.StringValue,
			p.BoolValue, p.IntValue, p.CredentialUsername, sealed(p.SealedValue), hasDefault(p.ValueScope, p.HasDefaultValue),
			tx.t(tx.timestamp())))
		if err = tx.classify(err, assetConflict(p.Name)); err != nil {
			return err
		}
		out.RobotValues, err = tx.assetRobotValuesSet(ctx, p.TenantID, out.ID, p.RobotValues)
		return err
	})
	return out, err
}

// hasDefault is whether an asset has its own value: a Global asset always does.
func hasDefault(scope store.AssetValueScope, has bool) bool {
	return has || scope == store.AssetGlobal
}

const assetRobotValueColumns = `v.asset_id, v.robot_id, r.key, r.name, v.string_value, v.bool_value, v.int_value,
	v.credential_username, v.sealed_value`

func scanAssetRobotValue(r interface{ Scan(...any) error }) (int64, store.AssetRobotValue, error) {
	var assetID int64
	var v store.AssetRobotValue
	err := r.Scan(&assetID, &v.RobotID, &v.RobotKey, &v.RobotName, &v.StringValue, &v.BoolValue, &v.IntValue,
		&v.CredentialUsername, &v.SealedValue)
	if len(v.SealedValue) == 0 {
		v.SealedValue = nil
	}
	return assetID, v, err
}

// assetRobotValuesSet replaces the robot values of an asset and reads them back. Each
// robot must be one of the tenant's.
func (s *DB) assetRobotValuesSet(ctx context.Context, tenantID, assetID int64, values []store.AssetRobotValue) ([]store.AssetRobotValue, error) {
	if _, err := s.w().ExecContext(ctx, `DELETE FROM asset_robot_values WHERE asset_id = $1`, assetID); err != nil {
		return nil, err
	}
	for _, v := range values {
		var robot int64
		err := s.w().QueryRowContext(ctx, `SELECT id FROM robots WHERE tenant_id = $1 AND id = $2`, tenantID, v.RobotID).Scan(&robot)
		if err = s.notFound(err, "robot %d", v.RobotID); err != nil {
			return nil, err
		}
		_, err = s.w().ExecContext(ctx,
			`INSERT INTO asset_robot_values (asset_id, robot_id, string_value, bool_value, int_value, credential_username, sealed_value)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			assetID, v.RobotID, v.StringValue, v.BoolValue, v.IntValue, v.CredentialUsername, sealed(v.SealedValue))
		if err = s.classify(err, fmt.Sprintf("robot %d has two values for this asset", v.RobotID)); err != nil {
			return nil, err
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	m, err := s.assetRobotValues(ctx, []int64{assetID})
	return m[assetID], err
}

// assetRobotValues reads the robot values of assets, by asset id, each in robot Id order.
func (s *DB) assetRobotValues(ctx context.Context, assetIDs []int64) (map[int64][]store.AssetRobotValue, error) {
	if len(assetIDs) == 0 {
		return nil, nil
	}
	marks := make([]string, len(assetIDs))
	args := make([]any, len(assetIDs))
	for i, id := range assetIDs {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := s.r().QueryContext(ctx, `SELECT `+assetRobotValueColumns+`
		FROM asset_robot_values v JOIN robots r ON r.id = v.robot_id
		WHERE v.asset_id IN (`+strings.Join(marks, ", ")+`) ORDER BY v.asset_id, v.robot_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]store.AssetRobotValue{}
	for rows.Next() {
		assetID, v, err := scanAssetRobotValue(rows)
		if err != nil {
			return nil, err
		}
		out[assetID] = append(out[assetID], v)
	}
	return out, rows.Err()
}

// withRobotValues fills the RobotValues of assets read.
func (s *DB) withRobotValues(ctx context.Context, assets []store.Asset) error {
	ids := make([]int64, len(assets))
	for i, a := range assets {
		ids[i] = a.ID
	}
	m, err := s.assetRobotValues(ctx, ids)
	if err != nil {
		return err
	}
	for i := range assets {
		assets[i].RobotValues = m[assets[i].ID]
	}
	return nil
}

// AssetRobotValueGet implements store.Store.
func (s *DB) AssetRobotValueGet(ctx context.Context, tenantID, assetID, robotID int64) (store.AssetRobotValue, error) {
	_, v, err := scanAssetRobotValue(s.r().QueryRowContext(ctx, `SELECT `+assetRobotValueColumns+`
		FROM asset_robot_values v JOIN robots r ON r.id = v.robot_id JOIN assets a ON a.id = v.asset_id
		WHERE a.tenant_id = $1 AND v.asset_id = $2 AND v.robot_id = $3`, tenantID, assetID, robotID))
	return v, s.notFound(err, "a value of robot %d for asset %d", robotID, assetID)
}

// AssetGet implements store.Store.
func (s *DB) AssetGet(ctx context.Context, tenantID, id int64) (store.Asset, error) {
	a, err := scanAsset(s.r().QueryRowContext(ctx,
		`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return s.withRobotValuesOf(ctx, a, s.notFound(err, "asset %d", id))
}

// withRobotValuesOf fills the RobotValues of an asset read without error.
func (s *DB) withRobotValuesOf(ctx context.Context, a store.Asset, err error) (store.Asset, error) {
	if err != nil {
		return a, err
	}
	one := []store.Asset{a}
	err = s.withRobotValues(ctx, one)
	return one[0], err
}

// AssetGetByName implements store.Store.
func (s *DB) AssetGetByName(ctx context.Context, tenantID, folderID int64, name string) (store.Asset, error) {
	a, err := scanAsset(s.r().QueryRowContext(ctx,
		`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND folder_id = $2 AND name_norm = $3`,
		tenantID, folderID, norm(name)))
	return s.withRobotValuesOf(ctx, a, s.notFound(err, "asset %q", name))
}

// AssetSearch implements store.Store.
func (s *DB) AssetSearch(ctx context.Context, p store.SearchParams) ([]store.Asset, int, error) {
	page, total, err := search(ctx, s, "assets", assetColumns, "folder_id", assetEntity, p,
		func(r *sql.Rows) (store.Asset, error) { return scanAsset(r) })
	if err == nil {
		err = s.withRobotValues(ctx, page)
	}
	return page, total, err
}

// AssetUpdate implements store.Store. An asset stays in its folder and keeps its Key.
func (s *DB) AssetUpdate(ctx context.Context, tenantID, id int64, fn func(store.Asset) (store.Asset, error)) (store.Asset, error) {
	var out store.Asset
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanAsset(tx.w().QueryRowContext(ctx,
			`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, tenantID, id))
		if old, err = tx.withRobotValuesOf(ctx, old, tx.notFound(err, "asset %d", id)); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanAsset(tx.w().QueryRowContext(ctx,
			`UPDATE assets SET name = $2, name_norm = $3, description = $4, value_scope = $5, value_type = $6, string_value = $7,
				bool_value = $8, int_value = $9, credential_username = $10, sealed_value = $11, has_default_value = $12,
				updated_at = $13
			 WHERE id = $1 RETURNING `+assetColumns,
			id, nw.Name, norm(nw.Name), nw.Description, string(nw.ValueScope), string(nw.ValueType), nw.StringValue,
			nw.BoolValue, nw.IntValue, nw.CredentialUsername, sealed(nw.SealedValue), hasDefault(nw.ValueScope, nw.HasDefaultValue),
			tx.t(tx.timestamp())))
		if err = tx.classify(err, assetConflict(nw.Name)); err != nil {
			return err
		}
		out.RobotValues, err = tx.assetRobotValuesSet(ctx, tenantID, id, nw.RobotValues)
		return err
	})
	return out, err
}

// AssetDelete implements store.Store.
func (s *DB) AssetDelete(ctx context.Context, tenantID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM assets WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return s.affected(res, err, "asset %d", id)
}
