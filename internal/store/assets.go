package store

import (
	"context"
	"strconv"
	"time"
)

// AssetStore keeps assets: named values of a folder that processes read (odata/Assets).
// Names are unique in a folder, case-insensitively. The store never sees a credential's
// password or a secret's value in plaintext: it keeps them as the caller sealed them
// (Asset.SealedValue).
type AssetStore interface {
	// AssetCreate adds an asset to a folder of the tenant; a name the folder already has is
	// ErrConflict, a folder of another tenant ErrNotFound.
	AssetCreate(ctx context.Context, p AssetCreateParams) (Asset, error)
	AssetGet(ctx context.Context, tenantID, id int64) (Asset, error)
	// AssetGetByName matches the name case-insensitively within one folder.
	AssetGetByName(ctx context.Context, tenantID, folderID int64, name string) (Asset, error)
	// AssetSearch pages the tenant's assets (p.FolderID: one folder's) with an OData query.
	AssetSearch(ctx context.Context, p SearchParams) (page []Asset, total int, err error)
	// AssetUpdate may change everything but ID, Key, TenantID, FolderID and CreatedAt;
	// it sets UpdatedAt.
	AssetUpdate(ctx context.Context, tenantID, id int64, fn func(Asset) (Asset, error)) (Asset, error)
	AssetDelete(ctx context.Context, tenantID, id int64) error
}

// AssetValueType is UiPath's asset ValueType, by name.
type AssetValueType string

// The value types OpenOrch keeps.
const (
	AssetText       AssetValueType = "Text"
	AssetBool       AssetValueType = "Bool"
	AssetInteger    AssetValueType = "Integer"
	AssetCredential AssetValueType = "Credential"
	AssetSecret     AssetValueType = "Secret"
)

// AssetValueScope is UiPath's asset ValueScope, by name.
type AssetValueScope string

// AssetGlobal is the scope of an asset with one value for every robot.
const AssetGlobal AssetValueScope = "Global"

// Asset is one asset. Exactly the field of its ValueType holds its value: StringValue
// (Text), BoolValue (Bool), IntValue (Integer), CredentialUsername and SealedValue
// (Credential: the password), SealedValue (Secret: the value).
type Asset struct {
	ID                 int64
	Key                string
	TenantID           int64
	FolderID           int64
	Name               string
	Description        string
	ValueScope         AssetValueScope
	ValueType          AssetValueType
	StringValue        string
	BoolValue          bool
	IntValue           int64
	CredentialUsername string
	// SealedValue is a Credential's password or a Secret's value, sealed with the
	// installation's secret key for AssetSealAAD (nil for the other types).
	SealedValue []byte
	CreatedAt   time.Time
	UpdatedAt   *time.Time // nil until the first change
}

// AssetCreateParams create an asset. Key is the caller's when set: a sealed value is bound
// to its asset's Key (AssetSealAAD), so a caller sealing one makes the Key first.
type AssetCreateParams struct {
	TenantID           int64
	FolderID           int64
	Key                string // "" for a new GUID
	Name               string
	Description        string
	ValueScope         AssetValueScope
	ValueType          AssetValueType
	StringValue        string
	BoolValue          bool
	IntValue           int64
	CredentialUsername string
	SealedValue        []byte
}

// AssetSealAAD is the additional data an asset's sealed value is bound to: its tenant,
// its Key and its type. A sealed value copied to another asset, another tenant's row or
// an asset of another type does not open.
func AssetSealAAD(tenantID int64, assetKey string, t AssetValueType) []byte {
	return []byte("openorch asset value\x00tenant " + strconv.FormatInt(tenantID, 10) + "\x00asset " + assetKey + "\x00type " + string(t))
}
