package store

import (
	"context"
	"strconv"
	"time"
)

// AssetStore keeps assets: named values of a folder that processes read (odata/Assets).
// Names are unique in a folder, case-insensitively. The store never sees a credential's
// password or a secret's value in plaintext: it keeps them as the caller sealed them
// (Asset.SealedValue, AssetRobotValue.SealedValue).
//
// An asset of ValueScope PerRobot has a value per robot (Asset.RobotValues) beside its own,
// which is the default of the robots without one. Reads return an asset with its robot
// values; creates and updates write them with the asset, in one transaction.
type AssetStore interface {
	// AssetCreate adds an asset to a folder of the tenant, with its robot values; a name the
	// folder already has is ErrConflict, a folder of another tenant or a robot value for a
	// robot the tenant does not have ErrNotFound.
	AssetCreate(ctx context.Context, p AssetCreateParams) (Asset, error)
	AssetGet(ctx context.Context, tenantID, id int64) (Asset, error)
	// AssetGetByName matches the name case-insensitively within one folder.
	AssetGetByName(ctx context.Context, tenantID, folderID int64, name string) (Asset, error)
	// AssetSearch pages the tenant's assets (p.FolderID: one folder's) with an OData query.
	AssetSearch(ctx context.Context, p SearchParams) (page []Asset, total int, err error)
	// AssetUpdate may change everything but ID, Key, TenantID, FolderID and CreatedAt;
	// it sets UpdatedAt. The RobotValues fn returns replace the stored ones (their RobotKey
	// and RobotName are ignored); a robot the tenant does not have is ErrNotFound.
	AssetUpdate(ctx context.Context, tenantID, id int64, fn func(Asset) (Asset, error)) (Asset, error)
	// AssetDelete deletes the asset and its robot values.
	AssetDelete(ctx context.Context, tenantID, id int64) error
	// AssetRobotValueGet reads the value of one robot for an asset of the tenant;
	// ErrNotFound when the robot has none (it then reads the asset's default, if any).
	AssetRobotValueGet(ctx context.Context, tenantID, assetID, robotID int64) (AssetRobotValue, error)
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

// The value scopes: AssetGlobal is the scope of an asset with one value for every robot,
// AssetPerRobot of one with a value per robot (Asset.RobotValues) and its own value as the
// default of the others.
const (
	AssetGlobal   AssetValueScope = "Global"
	AssetPerRobot AssetValueScope = "PerRobot"
)

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
	// HasDefaultValue says whether the value fields above hold a value: always for a
	// Global asset (the store sets it); for a PerRobot asset, the value of the robots
	// without one of their own, which may be missing.
	HasDefaultValue bool
	// RobotValues are a PerRobot asset's values, in robot Id order (none for Global).
	RobotValues []AssetRobotValue
	CreatedAt   time.Time
	UpdatedAt   *time.Time // nil until the first change
}

// AssetRobotValue is the value of a PerRobot asset for one robot, in the field of the
// asset's ValueType as in Asset.
type AssetRobotValue struct {
	RobotID int64
	// RobotKey and RobotName are the robot's, filled when read.
	RobotKey           string
	RobotName          string
	StringValue        string
	BoolValue          bool
	IntValue           int64
	CredentialUsername string
	// SealedValue is sealed for AssetRobotSealAAD: it opens for this asset and robot only.
	SealedValue []byte
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
	// HasDefaultValue is whether a PerRobot asset has its own value (the fields above);
	// a Global asset always has one, whatever this says.
	HasDefaultValue bool
	RobotValues     []AssetRobotValue
}

// AssetSealAAD is the additional data an asset's sealed value is bound to: its tenant,
// its Key and its type. A sealed value copied to another asset, another tenant's row or
// an asset of another type does not open.
func AssetSealAAD(tenantID int64, assetKey string, t AssetValueType) []byte {
	return []byte("openorch asset value\x00tenant " + strconv.FormatInt(tenantID, 10) + "\x00asset " + assetKey + "\x00type " + string(t))
}

// AssetRobotSealAAD is the additional data a per-robot sealed value is bound to: its
// tenant, its asset's Key, its robot's Key and its type. A sealed value copied to another
// robot's value, another asset or the asset's own value does not open.
func AssetRobotSealAAD(tenantID int64, assetKey, robotKey string, t AssetValueType) []byte {
	return []byte("openorch asset robot value\x00tenant " + strconv.FormatInt(tenantID, 10) + "\x00asset " + assetKey +
		"\x00robot " + robotKey + "\x00type " + string(t))
}
