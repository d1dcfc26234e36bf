package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

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
	int_value, credential_username, sealed_value, created_at, updated_at`

func scanAsset(r interface{ Scan(...any) error }) (store.Asset, error) {
	var a store.Asset
	err := r.Scan(&a.ID, &a.Key, &a.TenantID, &a.FolderID, &a.Name, &a.Description, &a.ValueScope, &a.ValueType,
		&a.StringValue, &a.BoolValue, &a.IntValue, &a.CredentialUsername, &a.SealedValue, dbTime{&a.CreatedAt},
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
				bool_value, int_value, credential_username, sealed_value, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING `+assetColumns,
			key, p.TenantID, p.FolderID, p.Name, norm(p.Name), p.Description, string(p.ValueScope), string(p.ValueType), p.StringValue,
			p.BoolValue, p.IntValue, p.CredentialUsername, sealed(p.SealedValue), tx.t(tx.timestamp())))
		return tx.classify(err, assetConflict(p.Name))
	})
	return out, err
}

// AssetGet implements store.Store.
func (s *DB) AssetGet(ctx context.Context, tenantID, id int64) (store.Asset, error) {
	a, err := scanAsset(s.r().QueryRowContext(ctx,
		`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return a, s.notFound(err, "asset %d", id)
}

// AssetGetByName implements store.Store.
func (s *DB) AssetGetByName(ctx context.Context, tenantID, folderID int64, name string) (store.Asset, error) {
	a, err := scanAsset(s.r().QueryRowContext(ctx,
		`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND folder_id = $2 AND name_norm = $3`,
		tenantID, folderID, norm(name)))
	return a, s.notFound(err, "asset %q", name)
}

// AssetSearch implements store.Store.
func (s *DB) AssetSearch(ctx context.Context, p store.SearchParams) ([]store.Asset, int, error) {
	return search(ctx, s, "assets", assetColumns, "folder_id", assetEntity, p,
		func(r *sql.Rows) (store.Asset, error) { return scanAsset(r) })
}

// AssetUpdate implements store.Store. An asset stays in its folder and keeps its Key.
func (s *DB) AssetUpdate(ctx context.Context, tenantID, id int64, fn func(store.Asset) (store.Asset, error)) (store.Asset, error) {
	var out store.Asset
	err := s.inTx(ctx, func(tx *DB) error {
		old, err := scanAsset(tx.w().QueryRowContext(ctx,
			`SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND id = $2`+tx.d.ForUpdate, tenantID, id))
		if err = tx.notFound(err, "asset %d", id); err != nil {
			return err
		}
		nw, err := fn(old)
		if err != nil {
			return err
		}
		out, err = scanAsset(tx.w().QueryRowContext(ctx,
			`UPDATE assets SET name = $2, name_norm = $3, description = $4, value_scope = $5, value_type = $6, string_value = $7,
				bool_value = $8, int_value = $9, credential_username = $10, sealed_value = $11, updated_at = $12
			 WHERE id = $1 RETURNING `+assetColumns,
			id, nw.Name, norm(nw.Name), nw.Description, string(nw.ValueScope), string(nw.ValueType), nw.StringValue,
			nw.BoolValue, nw.IntValue, nw.CredentialUsername, sealed(nw.SealedValue), tx.t(tx.timestamp())))
		return tx.classify(err, assetConflict(nw.Name))
	})
	return out, err
}

// AssetDelete implements store.Store.
func (s *DB) AssetDelete(ctx context.Context, tenantID, id int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM assets WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return s.affected(res, err, "asset %d", id)
}
