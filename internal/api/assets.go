package api

import (
	"encoding/json"
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
// carries them: robots will read them (GetRobotAssetByNameForRobotKey) through
// assetSecretValue.

// assetRoutes are the routes of the Assets entity set.
func (a *API) assetRoutes() []route {
	const writable = "Name (at most 256 characters, unique in the folder whatever its case), ValueScope (Global; the default), " +
		"ValueType (Text, Bool, Integer, Credential or Secret) and its value: StringValue, BoolValue, IntValue (32 bits), " +
		"CredentialUsername with CredentialPassword, or SecretValue; Description (at most 250 characters)"
	return []route{
		{Method: "GET", Set: "Assets", Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: listAssets,
			Summary: "The assets of the folder. Value is the value as text: the username of a credential, nothing for a secret; CredentialPassword and SecretValue are always null."},
		{Method: "GET", Set: "Assets", Action: "GetFiltered", Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: listAssets,
			Summary: "The assets of the folder, with the same OData options as GET /odata/Assets."},
		{Method: "GET", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.View", Folder: folderRequired, Handle: getAsset,
			Summary: "One asset of the folder by Id, without its password or secret value."},
		{Method: "POST", Set: "Assets", Scope: "OR.Assets", Perm: "Assets.Create", Folder: folderRequired, Handle: createAsset,
			Summary: "Create an asset in the folder: " + writable + ". Passwords and secret values are stored encrypted and never shown again."},
		{Method: "PUT", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.Edit", Folder: folderRequired, Handle: updateAsset,
			Summary: "Change an asset: Name is required, the other fields of the create may be sent (its ValueType cannot change). A CredentialPassword or SecretValue left out, null or empty keeps the stored one."},
		{Method: "PATCH", Set: "Assets", Key: true, Scope: "OR.Assets", Perm: "Assets.Edit", Folder: folderRequired, Handle: updateAsset,
			Summary: "Change some of an asset's Name, Description and value; a CredentialPassword or SecretValue left out, null or empty keeps the stored one."},
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
// API never shows them.
type assetDTO struct {
	ID                   int64      `json:"Id"`
	Key                  string     `json:"Key"`
	Name                 string     `json:"Name"`
	CanBeDeleted         bool       `json:"CanBeDeleted"`
	ValueScope           string     `json:"ValueScope"`
	ValueType            string     `json:"ValueType"`
	Value                string     `json:"Value"`
	StringValue          string     `json:"StringValue"`
	BoolValue            bool       `json:"BoolValue"`
	IntValue             int32      `json:"IntValue"`
	CredentialUsername   string     `json:"CredentialUsername"`
	CredentialPassword   *string    `json:"CredentialPassword"`
	SecretValue          *string    `json:"SecretValue"`
	HasDefaultValue      bool       `json:"HasDefaultValue"`
	Description          string     `json:"Description"`
	FoldersCount         int        `json:"FoldersCount"`
	CreationTime         time.Time  `json:"CreationTime"`
	LastModificationTime *time.Time `json:"LastModificationTime"`
	OrganizationUnitID   int64      `json:"OrganizationUnitId"`
}

// assetDisplay is UiPath's Value: the value as text, the username of a credential and
// nothing of a secret.
func assetDisplay(as store.Asset) string {
	switch as.ValueType {
	case store.AssetText:
		return as.StringValue
	case store.AssetBool:
		if as.BoolValue {
			return "True"
		}
		return "False"
	case store.AssetInteger:
		return strconv.FormatInt(as.IntValue, 10)
	case store.AssetCredential:
		return as.CredentialUsername
	}
	return ""
}

func toAssetDTO(as store.Asset) assetDTO {
	return assetDTO{ID: as.ID, Key: as.Key, Name: as.Name, CanBeDeleted: true, ValueScope: string(as.ValueScope),
		ValueType: string(as.ValueType), Value: assetDisplay(as), StringValue: as.StringValue, BoolValue: as.BoolValue,
		IntValue: int32(as.IntValue), CredentialUsername: as.CredentialUsername, HasDefaultValue: true,
		Description: as.Description, FoldersCount: 1, CreationTime: as.CreatedAt, LastModificationTime: as.UpdatedAt,
		OrganizationUnitID: as.FolderID}
}

// assetInput is what POST and PUT/PATCH /odata/Assets take (AssetDto's writable fields).
// Value, Id, Key and the other AssetDto fields are ignored, so a DTO read with GET may be
// sent back.
type assetInput struct {
	Name               *string           `json:"Name"`
	ValueScope         *string           `json:"ValueScope"`
	ValueType          *string           `json:"ValueType"`
	StringValue        *string           `json:"StringValue"`
	BoolValue          *bool             `json:"BoolValue"`
	IntValue           *int64            `json:"IntValue"`
	CredentialUsername *string           `json:"CredentialUsername"`
	CredentialPassword *string           `json:"CredentialPassword"`
	SecretValue        *string           `json:"SecretValue"`
	Description        *string           `json:"Description"`
	RobotValues        []json.RawMessage `json:"RobotValues"`
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
	if len(in.RobotValues) > 0 {
		return invalid("RobotValues: per-robot values come later, with robots; OpenOrch keeps one value per asset (ValueScope Global), so send no RobotValues")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"StringValue", in.StringValue}, {"CredentialUsername", in.CredentialUsername},
		{"CredentialPassword", in.CredentialPassword}, {"SecretValue", in.SecretValue}} {
		if f.v != nil {
			if e := checkLen(f.name, *f.v, assetValueMax); e != nil {
				return e
			}
		}
	}
	if in.IntValue != nil && (*in.IntValue < math.MinInt32 || *in.IntValue > math.MaxInt32) {
		return invalid("IntValue %d is out of range: an Integer asset holds a 32-bit number, from %d to %d", *in.IntValue, math.MinInt32, math.MaxInt32)
	}
	return nil
}

func parseAssetScope(s string) (store.AssetValueScope, *apiError) {
	switch {
	case strings.EqualFold(strings.TrimSpace(s), string(store.AssetGlobal)):
		return store.AssetGlobal, nil
	case strings.EqualFold(strings.TrimSpace(s), "PerRobot"):
		return "", invalid("ValueScope PerRobot is not available yet: per-robot values come later, with robots; create the asset with ValueScope Global (one value for every robot)")
	}
	return "", invalid("ValueScope %q is not a value scope OpenOrch knows; send Global (one value for every robot)", s)
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
func (in assetInput) foreignValue(t store.AssetValueType) *apiError {
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
			return invalid("%s is for %s assets; the value of a %s asset goes in %s", f.name, f.owner, t, valueField(t))
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

// assetSecretValue opens a Credential's password or a Secret's value. Only robots may read
// them (GetRobotAssetByNameForRobotKey); no answer of the API carries them.
func (a *API) assetSecretValue(as store.Asset) (string, error) {
	if as.ValueType != store.AssetCredential && as.ValueType != store.AssetSecret {
		return "", fmt.Errorf("asset %d is a %s asset, which has no sealed value", as.ID, as.ValueType)
	}
	if a.key == nil {
		return "", errors.New("api: no secret key to open asset values with (Options.SecretKey is not set)")
	}
	if len(as.SealedValue) == 0 {
		return "", fmt.Errorf("asset %d has no sealed value", as.ID)
	}
	b, err := a.key.Open(as.SealedValue, store.AssetSealAAD(as.TenantID, as.Key, as.ValueType))
	if err != nil {
		return "", fmt.Errorf("asset %d: %w", as.ID, err)
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
	p := store.AssetCreateParams{TenantID: c.tenant.ID, FolderID: c.folder.ID, Key: uuid.NewString(),
		Name: strings.TrimSpace(*in.Name), ValueScope: store.AssetGlobal, ValueType: t}
	if in.Description != nil {
		p.Description = *in.Description
	}
	var plaintext string // a password or secret value, sealed below
	switch t {
	case store.AssetText:
		if in.StringValue == nil {
			return invalid("StringValue is required for a Text asset")
		}
		p.StringValue = *in.StringValue
	case store.AssetBool:
		if in.BoolValue == nil {
			return invalid("BoolValue is required for a Bool asset (true or false)")
		}
		p.BoolValue = *in.BoolValue
	case store.AssetInteger:
		if in.IntValue == nil {
			return invalid("IntValue is required for an Integer asset")
		}
		p.IntValue = *in.IntValue
	case store.AssetCredential:
		if in.CredentialUsername == nil || *in.CredentialUsername == "" {
			return invalid("CredentialUsername is required for a Credential asset")
		}
		if in.CredentialPassword == nil || *in.CredentialPassword == "" {
			return invalid("CredentialPassword is required for a Credential asset")
		}
		p.CredentialUsername, plaintext = *in.CredentialUsername, *in.CredentialPassword
	case store.AssetSecret:
		if in.SecretValue == nil || *in.SecretValue == "" {
			return invalid("SecretValue is required for a Secret asset")
		}
		plaintext = *in.SecretValue
	}
	if t == store.AssetCredential || t == store.AssetSecret {
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
		var err error
		as, err = tx.AssetCreate(c.ctx(), p)
		return store.AuditEntry{Action: "Create", Component: "Assets", EntityID: as.ID, EntityName: as.Name,
			Details: fmt.Sprintf("created %s asset %s in folder %s", as.ValueType, as.Name, c.folder.FullyQualifiedName)}, err
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
		var changes []string
		as, err := tx.AssetUpdate(c.ctx(), c.tenant.ID, id, func(as store.Asset) (store.Asset, error) {
			changes = nil
			return a.applyAssetInput(c, in, newType, as, &changes)
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
// audit log shows them). newType is the ValueType sent, if any.
func (a *API) applyAssetInput(c *call, in assetInput, newType store.AssetValueType, as store.Asset, changes *[]string) (store.Asset, error) {
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
				return as, invalid("CredentialUsername cannot be empty")
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
			return as, err
		}
		as.SealedValue = sealed
	}
	return as, nil
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
