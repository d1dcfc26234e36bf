package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/store"
)

// Assets: named values of a folder that processes read. Text, Bool and Integer values are
// stored as they are; a Credential's password and a Secret's value are sealed with the
// installation's secret key before they reach the store, and no answer of the API ever
// carries them but the robot's own (GetRobotAssetByNameForRobotKey, through
// assetSecretValue and assetRobotSecretValue).
//
// An asset of ValueScope PerRobot has a value per robot (RobotValues), each for a robot of
// a machine serving the asset's folder, beside its own value, which is optional and the
// default of the robots without one.

// assetRoutes are the routes of the Assets entity set.
func (a *API) assetRoutes() []route {
	const writable = "Name (at most 256 characters, unique in the folder whatever its case), ValueScope (Global, the default: one value " +
		"for every robot; or PerRobot), ValueType (Text, Bool, Integer, Credential or Secret) and its value: StringValue, BoolValue, " +
		"IntValue (32 bits), CredentialUsername with CredentialPassword, or SecretValue (optional for PerRobot: the default of the " +
		"robots without a value of their own); RobotValues (PerRobot only): [{RobotId, and the value in the same fields}] for robots " +
		"of the machines serving the folder; Description (at most 250 characters)"
	return []route{
		{Method: "GET", Set: "Assets", Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: listAssets,
			Summary: "The assets of the folder. Value is the value as text: the username of a credential, nothing for a secret; CredentialPassword and SecretValue are always null, in RobotValues too."},
		{Method: "GET", Set: "Assets", Action: "GetFiltered", Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: listAssets,
			Summary: "The assets of the folder, with the same OData options as GET /odata/Assets."},
		{Method: "GET", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: getAsset,
			Summary: "One asset of the folder by Id, without its password or secret value."},
		{Method: "POST", Set: "Assets", Scope: "OR.Assets", Perm: "Assets.Create", Folder: folderRequired, Handle: createAsset,
			Summary: "Create an asset in the folder: " + writable + ". Passwords and secret values are stored encrypted and never shown again."},
		{Method: "PUT", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.Edit", Folder: folderRequired, Handle: updateAsset,
			Summary: "Change an asset: Name is required, the other fields of the create may be sent (its ValueType cannot change). A CredentialPassword or SecretValue left out, null or empty keeps the stored one (a robot's too). RobotValues, when sent, replace the robot values; HasDefaultValue false removes a PerRobot asset's own value."},
		{Method: "PATCH", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.Edit", Folder: folderRequired, Handle: updateAsset,
			Summary: "Change some of an asset's Name, Description, ValueScope, value and RobotValues; a CredentialPassword or SecretValue left out, null or empty keeps the stored one."},
		{Method: "DELETE", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.Delete", Folder: folderRequired, Handle: deleteAsset,
			Summary: "Delete an asset of the folder."},
	}
}

// Limits of an asset's fields, as UiPath's.
const (
	assetNameMax        = 256
	assetDescriptionMax = 250
	assetValueMax       = 1_000_000
)

// assetTypes are the value types OpenOrch keeps, in UiPath's order.
var assetTypes = []store.AssetValueType{store.AssetText, store.AssetBool, store.AssetInteger, store.AssetCredential, store.AssetSecret}

// uipathOnlyAssetTypes are UiPath's other value types, which OpenOrch refuses by name.
var uipathOnlyAssetTypes = []string{"DBConnectionString", "HttpConnectionString", "WindowsCredential", "KeyValueList"}

func supportedAssetTypes() string {
	names := make([]string, len(assetTypes))
	for i, t := range assetTypes {
		names[i] = string(t)
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// assetDTO is UiPath's AssetDto. CredentialPassword and SecretValue are always null: the
// API never shows them. HasDefaultValue is false for a PerRobot asset without a value of
// its own (its value fields are then empty).
type assetDTO struct {
	ID                   int64                `json:"Id"`
	Key                  string               `json:"Key"`
	Name                 string               `json:"Name"`
	CanBeDeleted         bool                 `json:"CanBeDeleted"`
	ValueScope           string               `json:"ValueScope"`
	ValueType            string               `json:"ValueType"`
	Value                string               `json:"Value"`
	StringValue          string               `json:"StringValue"`
	BoolValue            bool                 `json:"BoolValue"`
	IntValue             int32                `json:"IntValue"`
	CredentialUsername   string               `json:"CredentialUsername"`
	CredentialPassword   *string              `json:"CredentialPassword"`
	SecretValue          *string              `json:"SecretValue"`
	HasDefaultValue      bool                 `json:"HasDefaultValue"`
	RobotValues          []assetRobotValueDTO `json:"RobotValues"`
	Description          string               `json:"Description"`
	FoldersCount         int                  `json:"FoldersCount"`
	CreationTime         time.Time            `json:"CreationTime"`
	LastModificationTime *time.Time           `json:"LastModificationTime"`
	OrganizationUnitID   int64                `json:"OrganizationUnitId"`
}

// assetRobotValueDTO is UiPath's AssetRobotValueDto: a PerRobot asset's value for one
// robot. CredentialPassword and SecretValue are always null, as in assetDTO.
type assetRobotValueDTO struct {
	RobotID            int64   `json:"RobotId"`
	RobotName          string  `json:"RobotName"`
	ValueType          string  `json:"ValueType"`
	Value              string  `json:"Value"`
	StringValue        string  `json:"StringValue"`
	BoolValue          bool    `json:"BoolValue"`
	IntValue           int32   `json:"IntValue"`
	CredentialUsername string  `json:"CredentialUsername"`
	CredentialPassword *string `json:"CredentialPassword"`
	SecretValue        *string `json:"SecretValue"`
}

// assetDisplay is UiPath's Value: the value as text, the username of a credential and
// nothing of a secret.
func assetDisplay(t store.AssetValueType, stringValue string, boolValue bool, intValue int64, username string) string {
	switch t {
	case store.AssetText:
		return stringValue
	case store.AssetBool:
		if boolValue {
			return "True"
		}
		return "False"
	case store.AssetInteger:
		return strconv.FormatInt(intValue, 10)
	case store.AssetCredential:
		return username
	}
	return ""
}

func toAssetDTO(as store.Asset) assetDTO {
	out := assetDTO{ID: as.ID, Key: as.Key, Name: as.Name, CanBeDeleted: true, ValueScope: string(as.ValueScope),
		ValueType: string(as.ValueType), StringValue: as.StringValue, BoolValue: as.BoolValue,
		IntValue: int32(as.IntValue), CredentialUsername: as.CredentialUsername, HasDefaultValue: as.HasDefaultValue,
		RobotValues: make([]assetRobotValueDTO, 0, len(as.RobotValues)), Description: as.Description, FoldersCount: 1,
		CreationTime: as.CreatedAt, LastModificationTime: as.UpdatedAt, OrganizationUnitID: as.FolderID}
	if as.HasDefaultValue {
		out.Value = assetDisplay(as.ValueType, as.StringValue, as.BoolValue, as.IntValue, as.CredentialUsername)
	}
	for _, v := range as.RobotValues {
		out.RobotValues = append(out.RobotValues, assetRobotValueDTO{RobotID: v.RobotID, RobotName: v.RobotName,
			ValueType: string(as.ValueType), Value: assetDisplay(as.ValueType, v.StringValue, v.BoolValue, v.IntValue, v.CredentialUsername),
			StringValue: v.StringValue, BoolValue: v.BoolValue, IntValue: int32(v.IntValue), CredentialUsername: v.CredentialUsername})
	}
	return out
}

// assetInput is what POST and PUT/PATCH /odata/Assets take (AssetDto's writable fields).
// Value, Id, Key and the other AssetDto fields are ignored, so a DTO read with GET may be
// sent back.
type assetInput struct {
	Name               *string `json:"Name"`
	ValueScope         *string `json:"ValueScope"`
	ValueType          *string `json:"ValueType"`
	StringValue        *string `json:"StringValue"`
	BoolValue          *bool   `json:"BoolValue"`
	IntValue           *int64  `json:"IntValue"`
	CredentialUsername *string `json:"CredentialUsername"`
	CredentialPassword *string `json:"CredentialPassword"`
	SecretValue        *string `json:"SecretValue"`
	Description        *string `json:"Description"`
	// HasDefaultValue false removes a PerRobot asset's own value (PUT and PATCH) or creates
	// it without one; true or absent lets the value fields decide.
	HasDefaultValue *bool `json:"HasDefaultValue"`
	// RobotValues, when sent (even empty), are all the robot values of a PerRobot asset.
	RobotValues *[]robotValueInput `json:"RobotValues"`
}

// robotValueInput is one of RobotValues (AssetRobotValueDto's writable fields): the robot
// and its value in the field of the asset's ValueType. RobotName, Value and the other
// fields are ignored, so that RobotValues read with GET may be sent back.
type robotValueInput struct {
	RobotID            *int64  `json:"RobotId"`
	ValueType          *string `json:"ValueType"`
	StringValue        *string `json:"StringValue"`
	BoolValue          *bool   `json:"BoolValue"`
	IntValue           *int64  `json:"IntValue"`
	CredentialUsername *string `json:"CredentialUsername"`
	CredentialPassword *string `json:"CredentialPassword"`
	SecretValue        *string `json:"SecretValue"`
}

// values is the robot value as the fields of an asset input, to share their checks.
func (v robotValueInput) values() assetInput {
	return assetInput{StringValue: v.StringValue, BoolValue: v.BoolValue, IntValue: v.IntValue,
		CredentialUsername: v.CredentialUsername, CredentialPassword: v.CredentialPassword, SecretValue: v.SecretValue}
}

// check validates what does not depend on the asset's type.
func (in assetInput) check() *apiError {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return invalid("Name cannot be empty")
		}
		if e := checkLen("Name", name, assetNameMax); e != nil {
			return e
		}
	}
	if in.Description != nil {
		if e := checkLen("Description", *in.Description, assetDescriptionMax); e != nil {
			return e
		}
	}
	if in.ValueScope != nil {
		if _, e := parseAssetScope(*in.ValueScope); e != nil {
			return e
		}
	}
	if e := in.checkValues(""); e != nil {
		return e
	}
	if in.RobotValues != nil {
		for i, v := range *in.RobotValues {
			where := fmt.Sprintf("RobotValues[%d].", i)
			if v.RobotID == nil {
				return invalid("%sRobotId is required: the Id of a robot of a machine serving the folder", where)
			}
			if e := v.values().checkValues(where); e != nil {
				return e
			}
		}
	}
	return nil
}

// checkValues checks the lengths and ranges of the value fields; where prefixes the names.
func (in assetInput) checkValues(where string) *apiError {
	for _, f := range []struct {
		name string
		v    *string
	}{{"StringValue", in.StringValue}, {"CredentialUsername", in.CredentialUsername},
		{"CredentialPassword", in.CredentialPassword}, {"SecretValue", in.SecretValue}} {
		if f.v != nil {
			if e := checkLen(where+f.name, *f.v, assetValueMax); e != nil {
				return e
			}
		}
	}
	if in.IntValue != nil && (*in.IntValue < math.MinInt32 || *in.IntValue > math.MaxInt32) {
		return invalid("%sIntValue %d is out of range: an Integer asset holds a 32-bit number, from %d to %d", where, *in.IntValue, math.MinInt32, math.MaxInt32)
	}
	return nil
}

func parseAssetScope(s string) (store.AssetValueScope, *apiError) {
	switch {
	case strings.EqualFold(strings.TrimSpace(s), string(store.AssetGlobal)):
		return store.AssetGlobal, nil
	case strings.EqualFold(strings.TrimSpace(s), string(store.AssetPerRobot)):
		return store.AssetPerRobot, nil
	}
	return "", invalid("ValueScope %q is not a value scope; send Global (one value for every robot) or PerRobot (a value per robot in RobotValues)", s)
}

func parseAssetType(s string) (store.AssetValueType, *apiError) {
	s = strings.TrimSpace(s)
	for _, t := range assetTypes {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	for _, name := range uipathOnlyAssetTypes {
		if strings.EqualFold(s, name) {
			return "", invalid("ValueType %s is not supported by OpenOrch; the supported value types are %s", name, supportedAssetTypes())
		}
	}
	return "", invalid("ValueType %q is not a value type; the supported value types are %s", s, supportedAssetTypes())
}

// valueField names the field that holds the value of an asset of type t.
func valueField(t store.AssetValueType) string {
	switch t {
	case store.AssetText:
		return "StringValue"
	case store.AssetBool:
		return "BoolValue"
	case store.AssetInteger:
		return "IntValue"
	case store.AssetCredential:
		return "CredentialUsername and CredentialPassword"
	}
	return "SecretValue"
}

// foreignValue refuses a value sent in a field that assets of type t do not use. The
// empty values an AssetDto carries for those fields are accepted, so that a DTO read
// with GET may be sent back.
func (in assetInput) foreignValue(t store.AssetValueType) *apiError { return in.foreignValueAt("", t) }

// foreignValueAt is foreignValue with the field names prefixed by where.
func (in assetInput) foreignValueAt(where string, t store.AssetValueType) *apiError {
	for _, f := range []struct {
		name  string
		owner store.AssetValueType
		set   bool
	}{
		{"StringValue", store.AssetText, in.StringValue != nil && *in.StringValue != ""},
		{"BoolValue", store.AssetBool, in.BoolValue != nil && *in.BoolValue},
		{"IntValue", store.AssetInteger, in.IntValue != nil && *in.IntValue != 0},
		{"CredentialUsername", store.AssetCredential, in.CredentialUsername != nil && *in.CredentialUsername != ""},
		{"CredentialPassword", store.AssetCredential, in.CredentialPassword != nil && *in.CredentialPassword != ""},
		{"SecretValue", store.AssetSecret, in.SecretValue != nil && *in.SecretValue != ""},
	} {
		if f.set && f.owner != t {
			return invalid("%s%s is for %s assets; the value of a %s asset goes in %s", where, f.name, f.owner, t, valueField(t))
		}
	}
	return nil
}

// sealAssetValue seals a Credential's password or a Secret's value for its asset: the
// database only ever holds the result, which opens only for that tenant, asset Key and type.
func (a *API) sealAssetValue(tenantID int64, assetKey string, t store.AssetValueType, plaintext string) ([]byte, error) {
	if a.key == nil {
		return nil, errors.New("api: no secret key to seal asset values with (Options.SecretKey is not set)")
	}
	return a.key.Seal([]byte(plaintext), store.AssetSealAAD(tenantID, assetKey, t)), nil
}

// sealRobotValue seals a Credential's password or a Secret's value of one robot: it opens
// only for that tenant, asset Key, robot Key and type.
func (a *API) sealRobotValue(tenantID int64, assetKey, robotKey string, t store.AssetValueType, plaintext string) ([]byte, error) {
	if a.key == nil {
		return nil, errors.New("api: no secret key to seal asset values with (Options.SecretKey is not set)")
	}
	return a.key.Seal([]byte(plaintext), store.AssetRobotSealAAD(tenantID, assetKey, robotKey, t)), nil
}

// assetSecretValue opens a Credential's password or a Secret's value. Only robots may read
// them (GetRobotAssetByNameForRobotKey); no answer of the API carries them.
func (a *API) assetSecretValue(as store.Asset) (string, error) {
	return a.openAssetValue(as, as.SealedValue, store.AssetSealAAD(as.TenantID, as.Key, as.ValueType), "")
}

// assetRobotSecretValue opens the password or secret value of one robot's value.
func (a *API) assetRobotSecretValue(as store.Asset, v store.AssetRobotValue) (string, error) {
	return a.openAssetValue(as, v.SealedValue, store.AssetRobotSealAAD(as.TenantID, as.Key, v.RobotKey, as.ValueType),
		fmt.Sprintf(" (value of robot %d)", v.RobotID))
}

func (a *API) openAssetValue(as store.Asset, sealed, aad []byte, what string) (string, error) {
	if as.ValueType != store.AssetCredential && as.ValueType != store.AssetSecret {
		return "", fmt.Errorf("asset %d is a %s asset, which has no sealed value", as.ID, as.ValueType)
	}
	if a.key == nil {
		return "", errors.New("api: no secret key to open asset values with (Options.SecretKey is not set)")
	}
	if len(sealed) == 0 {
		return "", fmt.Errorf("asset %d%s has no sealed value", as.ID, what)
	}
	b, err := a.key.Open(sealed, aad)
	if err != nil {
		return "", fmt.Errorf("asset %d%s: %w", as.ID, what, err)
	}
	return string(b), nil
}

// assetInFolder reads an asset of the call's folder; one of another folder is not found,
// as one of another tenant is.
func assetInFolder(c *call, tx store.Store, id int64) (store.Asset, error) {
	as, err := tx.AssetGet(c.ctx(), c.tenant.ID, id)
	if err == nil && as.FolderID != c.folder.ID {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Asset{}, fmt.Errorf("asset %d does not exist in folder %s: %w", id, c.folder.FullyQualifiedName, store.ErrNotFound)
	}
	return as, err
}

// assetNameFree refuses a name another asset of the folder has (case-insensitively).
func assetNameFree(c *call, tx store.Store, name string, exceptID int64) error {
	as, err := tx.AssetGetByName(c.ctx(), c.tenant.ID, c.folder.ID, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && as.ID == exceptID {
		return nil
	} else if err != nil {
		return err
	}
	return fmt.Errorf("an asset named %q already exists in folder %s (Id %d); asset names are unique in a folder whatever their case: %w",
		as.Name, c.folder.FullyQualifiedName, as.ID, store.ErrConflict)
}

// assetError answers an error of a write: a refusal made inside the transaction, or a
// store error.
func assetError(c *call, err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	return storeError(c, err)
}

func assetKey(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("Assets(%s): the key must be an asset Id (an integer)", c.path.Key)
	}
	return id, nil
}

// listAssets serves GET /odata/Assets and …/Assets/…GetFiltered in the folder of the headers.
func listAssets(a *API, c *call) *apiError {
	q, e := listQuery(c, 1000)
	if e != nil {
		return e
	}
	page, total, err := a.st.AssetSearch(c.ctx(), store.SearchParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Query: q})
	if err != nil {
		return searchError(c, err)
	}
	out := make([]assetDTO, 0, len(page))
	for _, as := range page {
		out = append(out, toAssetDTO(as))
	}
	return writeList(a, c, "Assets", out, total)
}

// getAsset serves GET /odata/Assets(id).
func getAsset(a *API, c *call) *apiError {
	id, e := assetKey(c)
	if e != nil {
		return e
	}
	as, err := assetInFolder(c, a.st, id)
	if err != nil {
		return storeError(c, err)
	}
	return writeEntity(a, c, "Assets", toAssetDTO(as))
}

// ownValueSent says whether the request sends an asset's own value of type t: the field
// of a Text, Bool or Integer value, a Credential's username or password, a Secret's value.
func (in assetInput) ownValueSent(t store.AssetValueType) bool {
	switch t {
	case store.AssetText:
		return in.StringValue != nil
	case store.AssetBool:
		return in.BoolValue != nil
	case store.AssetInteger:
		return in.IntValue != nil
	case store.AssetCredential:
		return in.CredentialUsername != nil && *in.CredentialUsername != "" || in.CredentialPassword != nil && *in.CredentialPassword != ""
	}
	return in.SecretValue != nil && *in.SecretValue != ""
}

// noDefault says whether the request asks for no own value (HasDefaultValue false).
func (in assetInput) noDefault() bool { return in.HasDefaultValue != nil && !*in.HasDefaultValue }

// robotsOf checks the robots of RobotValues: each is a robot of the tenant, of a machine
// serving the folder (a member of it or of a folder above it), and comes once. It returns
// them by Id.
func robotsOf(c *call, tx store.Store, values []robotValueInput) (map[int64]store.Robot, error) {
	out := map[int64]store.Robot{}
	if len(values) == 0 {
		return out, nil
	}
	serving, _, err := tx.RobotsOfFolder(c.ctx(), c.tenant.ID, c.folder.ID)
	if err != nil {
		return nil, err
	}
	inFolder := map[int64]bool{}
	for _, r := range serving {
		inFolder[r.ID] = true
	}
	for i, v := range values {
		id := *v.RobotID
		if r, dup := out[id]; dup {
			return nil, invalid("RobotValues[%d]: robot %s (Id %d) is listed twice; send one value per robot", i, r.Name, id)
		}
		r, err := tx.RobotGet(c.ctx(), c.tenant.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("RobotValues[%d]: robot %d does not exist in tenant %s; GET odata/Robots lists the robots", i, id, c.tenant.Name)
		} else if err != nil {
			return nil, err
		}
		if !inFolder[id] {
			return nil, invalid("RobotValues[%d]: robot %s (Id %d) is not a robot of folder %s: its machine %s is not a member of the folder "+
				"or of a folder above it; add the machine to folder %s (Folders/AssignMachines), then give the robot its value",
				i, r.Name, id, c.folder.FullyQualifiedName, r.MachineName, c.folder.FullyQualifiedName)
		}
		out[id] = r
	}
	return out, nil
}

// robotValues makes the store's robot values of the RobotValues sent for asset as (its
// tenant, Key, type and current robot values), sealing passwords and secret values for
// their robot. A robot that has a value already keeps its sealed one when none is sent.
func (a *API) robotValues(in []robotValueInput, robots map[int64]store.Robot, as store.Asset) ([]store.AssetRobotValue, error) {
	old := map[int64]store.AssetRobotValue{}
	for _, v := range as.RobotValues {
		old[v.RobotID] = v
	}
	out := make([]store.AssetRobotValue, 0, len(in))
	for i, v := range in {
		where := fmt.Sprintf("RobotValues[%d].", i)
		r := robots[*v.RobotID]
		if v.ValueType != nil && strings.TrimSpace(*v.ValueType) != "" && !strings.EqualFold(strings.TrimSpace(*v.ValueType), string(as.ValueType)) {
			return nil, invalid("%sValueType is %s, but asset %s is a %s asset: a robot's value has the asset's type", where, *v.ValueType, as.Name, as.ValueType)
		}
		if e := v.values().foreignValueAt(where, as.ValueType); e != nil {
			return nil, e
		}
		rv := store.AssetRobotValue{RobotID: r.ID}
		prev, had := old[r.ID]
		var plaintext string
		switch as.ValueType {
		case store.AssetText:
			if v.StringValue == nil {
				return nil, invalid("%sStringValue is required: the value of robot %s", where, r.Name)
			}
			rv.StringValue = *v.StringValue
		case store.AssetBool:
			if v.BoolValue == nil {
				return nil, invalid("%sBoolValue is required: the value of robot %s (true or false)", where, r.Name)
			}
			rv.BoolValue = *v.BoolValue
		case store.AssetInteger:
			if v.IntValue == nil {
				return nil, invalid("%sIntValue is required: the value of robot %s", where, r.Name)
			}
			rv.IntValue = *v.IntValue
		case store.AssetCredential:
			if v.CredentialUsername == nil || *v.CredentialUsername == "" {
				return nil, invalid("%sCredentialUsername is required: the username of robot %s", where, r.Name)
			}
			rv.CredentialUsername = *v.CredentialUsername
			switch {
			case v.CredentialPassword != nil && *v.CredentialPassword != "":
				plaintext = *v.CredentialPassword
			case had:
				rv.SealedValue = prev.SealedValue
			default:
				return nil, invalid("%sCredentialPassword is required: robot %s has no password for asset %s yet", where, r.Name, as.Name)
			}
		case store.AssetSecret:
			switch {
			case v.SecretValue != nil && *v.SecretValue != "":
				plaintext = *v.SecretValue
			case had:
				rv.SealedValue = prev.SealedValue
			default:
				return nil, invalid("%sSecretValue is required: robot %s has no value for asset %s yet", where, r.Name, as.Name)
			}
		}
		if plaintext != "" {
			sealed, err := a.sealRobotValue(as.TenantID, as.Key, r.Key, as.ValueType, plaintext)
			if err != nil {
				return nil, err
			}
			rv.SealedValue = sealed
		}
		out = append(out, rv)
	}
	return out, nil
}

// robotNames lists the names of robots by Id, for audit entries.
func robotNames(values []store.AssetRobotValue, robots map[int64]store.Robot) string {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = v.RobotName
		if r, ok := robots[v.RobotID]; ok {
			names[i] = r.Name
		}
	}
	return strings.Join(names, ", ")
}

// createAsset serves POST /odata/Assets.
func createAsset(a *API, c *call) *apiError {
	var in assetInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return invalid("Name is required")
	}
	if e := in.check(); e != nil {
		return e
	}
	if in.ValueType == nil || strings.TrimSpace(*in.ValueType) == "" {
		return invalid("ValueType is required: one of %s", supportedAssetTypes())
	}
	t, e := parseAssetType(*in.ValueType)
	if e != nil {
		return e
	}
	if e := in.foreignValue(t); e != nil {
		return e
	}
	scope := store.AssetGlobal
	if in.ValueScope != nil && strings.TrimSpace(*in.ValueScope) != "" {
		scope, _ = parseAssetScope(*in.ValueScope) // checked by in.check
	}
	var robotIn []robotValueInput
	if in.RobotValues != nil {
		robotIn = *in.RobotValues
	}
	name := strings.TrimSpace(*in.Name)
	if scope == store.AssetGlobal && len(robotIn) > 0 {
		return invalid("RobotValues are for assets of ValueScope PerRobot; asset %s is Global (one value for every robot): send ValueScope PerRobot", name)
	}
	p := store.AssetCreateParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Key: uuid.NewString(),
		Name: name, ValueScope: scope, ValueType: t}
	p.HasDefaultValue = scope == store.AssetGlobal || !in.noDefault() && in.ownValueSent(t)
	if in.Description != nil {
		p.Description = *in.Description
	}
	var plaintext string // a password or secret value, sealed below
	what := "a " + string(t) + " asset"
	if t == store.AssetInteger {
		what = "an Integer asset"
	}
	if scope == store.AssetPerRobot {
		what = "the default of a PerRobot " + string(t) + " asset"
	}
	switch {
	case !p.HasDefaultValue:
	case t == store.AssetText:
		if in.StringValue == nil {
			return invalid("StringValue is required for %s", what)
		}
		p.StringValue = *in.StringValue
	case t == store.AssetBool:
		if in.BoolValue == nil {
			return invalid("BoolValue is required for %s (true or false)", what)
		}
		p.BoolValue = *in.BoolValue
	case t == store.AssetInteger:
		if in.IntValue == nil {
			return invalid("IntValue is required for %s", what)
		}
		p.IntValue = *in.IntValue
	case t == store.AssetCredential:
		if in.CredentialUsername == nil || *in.CredentialUsername == "" {
			return invalid("CredentialUsername is required for %s", what)
		}
		if in.CredentialPassword == nil || *in.CredentialPassword == "" {
			return invalid("CredentialPassword is required for %s", what)
		}
		p.CredentialUsername, plaintext = *in.CredentialUsername, *in.CredentialPassword
	case t == store.AssetSecret:
		if in.SecretValue == nil || *in.SecretValue == "" {
			return invalid("SecretValue is required for %s", what)
		}
		plaintext = *in.SecretValue
	}
	if plaintext != "" {
		sealed, err := a.sealAssetValue(c.tenant.ID, p.Key, t, plaintext)
		if err != nil {
			return internalError(c.r, err)
		}
		p.SealedValue = sealed
	}
	var as store.Asset
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		if err := assetNameFree(c, tx, p.Name, 0); err != nil {
			return store.AuditEntry{}, err
		}
		robots, err := robotsOf(c, tx, robotIn)
		if err != nil {
			return store.AuditEntry{}, err
		}
		p.RobotValues, err = a.robotValues(robotIn, robots, store.Asset{TenantID: p.TenantID, Key: p.Key, Name: p.Name, ValueType: t})
		if err != nil {
			return store.AuditEntry{}, err
		}
		as, err = tx.AssetCreate(c.ctx(), p)
		details := fmt.Sprintf("created %s asset %s in folder %s", as.ValueType, as.Name, c.folder.FullyQualifiedName)
		if scope == store.AssetPerRobot {
			details = fmt.Sprintf("created PerRobot %s asset %s in folder %s", as.ValueType, as.Name, c.folder.FullyQualifiedName)
			if len(as.RobotValues) > 0 {
				details += " with values for robots " + robotNames(as.RobotValues, robots)
			}
			if !as.HasDefaultValue {
				details += ", without a default value"
			}
		}
		return store.AuditEntry{Action: "Create", Component: "Assets", EntityID: as.ID, EntityName: as.Name, Details: details}, err
	})
	if e := assetError(c, err); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Assets("+strconv.FormatInt(as.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Assets/$entity", toAssetDTO(as)))
	return nil
}

// updateAsset serves PUT and PATCH /odata/Assets(id). An asset keeps its type; a password
// or secret value that is not sent stays as it is.
func updateAsset(a *API, c *call) *apiError {
	id, e := assetKey(c)
	if e != nil {
		return e
	}
	var in assetInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil && c.r.Method == http.MethodPut {
		return invalid("Name is required with PUT (use PATCH to change only some fields)")
	}
	if e := in.check(); e != nil {
		return e
	}
	var newType store.AssetValueType
	if in.ValueType != nil && strings.TrimSpace(*in.ValueType) != "" {
		if newType, e = parseAssetType(*in.ValueType); e != nil {
			return e
		}
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		old, err := assetInFolder(c, tx, id)
		if err != nil {
			return store.AuditEntry{}, err
		}
		if in.Name != nil {
			if err := assetNameFree(c, tx, strings.TrimSpace(*in.Name), id); err != nil {
				return store.AuditEntry{}, err
			}
		}
		var robots map[int64]store.Robot
		if in.RobotValues != nil {
			if robots, err = robotsOf(c, tx, *in.RobotValues); err != nil {
				return store.AuditEntry{}, err
			}
		}
		var changes []string
		as, err := tx.AssetUpdate(c.ctx(), c.tenant.ID, id, func(as store.Asset) (store.Asset, error) {
			changes = nil
			return a.applyAssetInput(c, in, newType, robots, as, &changes)
		})
		if err != nil {
			return store.AuditEntry{}, err
		}
		details := fmt.Sprintf("updated %s asset %s in folder %s", as.ValueType, as.Name, c.folder.FullyQualifiedName)
		if old.Name != as.Name {
			changes = append([]string{"renamed from " + old.Name}, changes...)
		}
		if len(changes) > 0 {
			details += ": " + strings.Join(changes, ", ")
		}
		return store.AuditEntry{Action: "Update", Component: "Assets", EntityID: id, EntityName: as.Name, Details: details}, nil
	})
	if e := assetError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// applyAssetInput changes as by in, noting in changes what changed (never a value: the
// audit log shows them). newType is the ValueType sent, if any; robots are the robots of
// in.RobotValues, checked by robotsOf.
func (a *API) applyAssetInput(c *call, in assetInput, newType store.AssetValueType, robots map[int64]store.Robot, as store.Asset, changes *[]string) (store.Asset, error) {
	note := func(s string) { *changes = append(*changes, s) }
	if newType != "" && newType != as.ValueType {
		return as, invalid("ValueType cannot change: asset %s is a %s asset; delete it and create it again as a %s asset", as.Name, as.ValueType, newType)
	}
	if e := in.foreignValue(as.ValueType); e != nil {
		return as, e
	}
	if in.Name != nil {
		as.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil && *in.Description != as.Description {
		as.Description = *in.Description
		note("description changed")
	}
	if in.ValueScope != nil && strings.TrimSpace(*in.ValueScope) != "" {
		scope, _ := parseAssetScope(*in.ValueScope) // checked by in.check
		if scope != as.ValueScope {
			as.ValueScope = scope
			note("value scope changed to " + string(scope))
		}
	}
	if as.ValueScope == store.AssetGlobal && in.RobotValues != nil && len(*in.RobotValues) > 0 {
		return as, invalid("RobotValues are for assets of ValueScope PerRobot; asset %s is Global (one value for every robot): send ValueScope PerRobot", as.Name)
	}

	// The asset's own value: a PerRobot asset may have none, or gain or lose it.
	switch {
	case as.ValueScope == store.AssetPerRobot && in.noDefault():
		if as.HasDefaultValue {
			as.HasDefaultValue, as.StringValue, as.BoolValue, as.IntValue, as.CredentialUsername, as.SealedValue = false, "", false, 0, "", nil
			note("default value removed")
		}
	case !as.HasDefaultValue && !in.ownValueSent(as.ValueType):
	case !as.HasDefaultValue:
		switch {
		case as.ValueType == store.AssetCredential && (in.CredentialUsername == nil || *in.CredentialUsername == ""):
			return as, invalid("CredentialUsername is required to give asset %s a value of its own, the default of its robots", as.Name)
		case as.ValueType == store.AssetCredential && (in.CredentialPassword == nil || *in.CredentialPassword == ""):
			return as, invalid("CredentialPassword is required to give asset %s a value of its own, the default of its robots", as.Name)
		}
		as.HasDefaultValue = true
		note("default value added")
		if err := a.applyOwnValue(in, &as, func(string) {}); err != nil {
			return as, err
		}
	default:
		if err := a.applyOwnValue(in, &as, note); err != nil {
			return as, err
		}
	}

	if as.ValueScope == store.AssetGlobal {
		if !as.HasDefaultValue {
			return as, invalid("asset %s has no value of its own to become Global with: send its value in %s", as.Name, valueField(as.ValueType))
		}
		if len(as.RobotValues) > 0 {
			note("values for robots " + robotNames(as.RobotValues, nil) + " removed")
			as.RobotValues = nil
		}
		return as, nil
	}
	if in.RobotValues != nil {
		values, err := a.robotValues(*in.RobotValues, robots, as)
		if err != nil {
			return as, err
		}
		kept := map[int64]bool{}
		for _, v := range values {
			kept[v.RobotID] = true
		}
		var removed []store.AssetRobotValue
		for _, v := range as.RobotValues {
			if !kept[v.RobotID] {
				removed = append(removed, v)
			}
		}
		if len(values) > 0 {
			note("values set for robots " + robotNames(values, robots))
		}
		if len(removed) > 0 {
			note("values for robots " + robotNames(removed, nil) + " removed")
		}
		as.RobotValues = values
	}
	return as, nil
}

// applyOwnValue changes the asset's own value by in, noting what changed.
func (a *API) applyOwnValue(in assetInput, as *store.Asset, note func(string)) error {
	var plaintext *string
	switch as.ValueType {
	case store.AssetText:
		if in.StringValue != nil && *in.StringValue != as.StringValue {
			as.StringValue = *in.StringValue
			note("value changed")
		}
	case store.AssetBool:
		if in.BoolValue != nil && *in.BoolValue != as.BoolValue {
			as.BoolValue = *in.BoolValue
			note("value changed")
		}
	case store.AssetInteger:
		if in.IntValue != nil && *in.IntValue != as.IntValue {
			as.IntValue = *in.IntValue
			note("value changed")
		}
	case store.AssetCredential:
		if in.CredentialUsername != nil {
			if *in.CredentialUsername == "" {
				return invalid("CredentialUsername cannot be empty")
			}
			if *in.CredentialUsername != as.CredentialUsername {
				as.CredentialUsername = *in.CredentialUsername
				note("username changed")
			}
		}
		if in.CredentialPassword != nil && *in.CredentialPassword != "" {
			plaintext = in.CredentialPassword
			note("password changed")
		}
	case store.AssetSecret:
		if in.SecretValue != nil && *in.SecretValue != "" {
			plaintext = in.SecretValue
			note("secret value changed")
		}
	}
	if plaintext != nil {
		sealed, err := a.sealAssetValue(as.TenantID, as.Key, as.ValueType, *plaintext)
		if err != nil {
			return err
		}
		as.SealedValue = sealed
	}
	return nil
}

// deleteAsset serves DELETE /odata/Assets(id).
func deleteAsset(a *API, c *call) *apiError {
	id, e := assetKey(c)
	if e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		as, err := assetInFolder(c, tx, id)
		if err == nil {
			err = tx.AssetDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "Assets", EntityID: id, EntityName: as.Name,
			Details: fmt.Sprintf("deleted %s asset %s from folder %s", as.ValueType, as.Name, c.folder.FullyQualifiedName)}, err
	})
	if e := assetError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
