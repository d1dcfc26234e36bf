// Package store defines the storage API of OpenOrch: one interface, implemented by the
// SQLite engine (internal/store/sqlite, the embedded default) and the PostgreSQL engine
// (internal/store/postgres). Both pass the conformance suite in internal/store/storetest.
//
// Method names are noun then verb. Reads of tenant data always take the tenant id, so an id
// from another tenant is simply not found. Read-modify-write goes through Update methods
// that take a function of the old value.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/openorch/openorch/internal/tenancy"
)

// Sentinel errors. Engines wrap them with a message that names the entity and the field,
// so callers test with errors.Is and may show the message to a user.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrInvalid is returned for a request the store refuses on its face (a folder deeper
	// than allowed, an edit of a built-in role).
	ErrInvalid = errors.New("invalid")
)

// Store is the whole storage API. Consumers declare the smaller interfaces they use.
type Store interface {
	// Tx runs fn in one transaction: every write in it lands, or none does.
	// Nested calls on the Store handed to fn join the same transaction.
	Tx(ctx context.Context, fn func(Store) error) error
	// Lock takes an installation-wide lock named name until the surrounding transaction
	// ends (PostgreSQL: an advisory transaction lock; SQLite: the write transaction itself
	// is exclusive). It must be called inside Tx.
	Lock(ctx context.Context, name string) error
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	Close() error

	// Meta is a small key-value table for installation facts (the secret-key check, ...).
	MetaGet(ctx context.Context, key string) (string, error)
	MetaSet(ctx context.Context, key, value string) error

	// Tenant settings are named string values; the API knows their names, types and
	// defaults. SettingList returns the values stored for a tenant (a setting without one
	// has its default); SettingSet stores values, replacing those stored before.
	SettingList(ctx context.Context, tenantID int64) (map[string]string, error)
	SettingSet(ctx context.Context, tenantID int64, values map[string]string) error

	OrganizationCreate(ctx context.Context, p OrganizationCreateParams) (tenancy.Organization, error)
	OrganizationGet(ctx context.Context, id int64) (tenancy.Organization, error)
	// OrganizationGetByName matches the logical name case-insensitively, or the Key.
	OrganizationGetByName(ctx context.Context, nameOrKey string) (tenancy.Organization, error)
	OrganizationList(ctx context.Context) ([]tenancy.Organization, error)
	OrganizationUpdate(ctx context.Context, id int64, fn func(tenancy.Organization) (tenancy.Organization, error)) (tenancy.Organization, error)
	OrganizationDelete(ctx context.Context, id int64) error

	TenantCreate(ctx context.Context, p TenantCreateParams) (tenancy.Tenant, error)
	TenantGet(ctx context.Context, orgID, id int64) (tenancy.Tenant, error)
	// TenantGetByName matches the logical name case-insensitively, or the Key.
	TenantGetByName(ctx context.Context, orgID int64, nameOrKey string) (tenancy.Tenant, error)
	// TenantGetByID finds a tenant across the installation, for resolving a machine's
	// tenant at the token endpoint. Everything user-facing uses TenantGet.
	TenantGetByID(ctx context.Context, id int64) (tenancy.Tenant, error)
	TenantList(ctx context.Context, orgID int64) ([]tenancy.Tenant, error)
	TenantUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.Tenant) (tenancy.Tenant, error)) (tenancy.Tenant, error)
	TenantDelete(ctx context.Context, orgID, id int64) error

	// FolderCreate computes FullyQualifiedName and Depth from the parent; a folder deeper
	// than tenancy.MaxFolderDepth is ErrInvalid, a sibling of the same name ErrConflict.
	FolderCreate(ctx context.Context, p FolderCreateParams) (tenancy.Folder, error)
	FolderGet(ctx context.Context, tenantID, id int64) (tenancy.Folder, error)
	FolderGetByKey(ctx context.Context, tenantID int64, key string) (tenancy.Folder, error)
	// FolderGetByPath matches the FullyQualifiedName case-insensitively.
	FolderGetByPath(ctx context.Context, tenantID int64, path string) (tenancy.Folder, error)
	FolderList(ctx context.Context, tenantID int64) ([]tenancy.Folder, error)
	// FolderSearch pages a tenant's folders (OnlyFolders: the folders themselves) with an
	// OData query; total counts every match, ignoring $top and $skip.
	FolderSearch(ctx context.Context, p SearchParams) (page []tenancy.Folder, total int, err error)
	// FolderUpdate may change DisplayName and Description; the names of the folder and its
	// subfolders follow.
	FolderUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Folder) (tenancy.Folder, error)) (tenancy.Folder, error)
	// FolderDelete refuses a folder that still has subfolders (ErrConflict).
	FolderDelete(ctx context.Context, tenantID, id int64) error

	UserCreate(ctx context.Context, p UserCreateParams) (tenancy.User, error)
	UserGet(ctx context.Context, orgID, id int64) (tenancy.User, error)
	UserGetByEmail(ctx context.Context, orgID int64, email string) (tenancy.User, error)
	// UserGetByKey finds a user by Key (the sub of the user's tokens).
	UserGetByKey(ctx context.Context, orgID int64, key string) (tenancy.User, error)
	UserList(ctx context.Context, orgID int64) ([]tenancy.User, error)
	UserUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.User) (tenancy.User, error)) (tenancy.User, error)
	UserDelete(ctx context.Context, orgID, id int64) error
	// TenantUserSearch pages the Users entity set of a tenant (p.TenantID) of organization
	// orgID with an OData query: the organization's users and external applications that
	// are members of the tenant (hold a role in it or in one of its folders; organization
	// administrators always are). p.FolderID and p.OnlyFolders must be unset.
	TenantUserSearch(ctx context.Context, orgID int64, p SearchParams) (page []TenantUser, total int, err error)

	AppCreate(ctx context.Context, p AppCreateParams) (tenancy.App, error)
	AppGet(ctx context.Context, orgID, id int64) (tenancy.App, error)
	// AppGetByClientID looks across the installation: client ids are unique everywhere.
	AppGetByClientID(ctx context.Context, clientID string) (tenancy.App, error)
	// AppList lists an organization's apps; orgID 0 lists the built-in first-party clients.
	AppList(ctx context.Context, orgID int64) ([]tenancy.App, error)
	AppUpdate(ctx context.Context, orgID, id int64, fn func(tenancy.App) (tenancy.App, error)) (tenancy.App, error)
	AppDelete(ctx context.Context, orgID, id int64) error

	MachineCreate(ctx context.Context, p MachineCreateParams) (tenancy.Machine, error)
	MachineGet(ctx context.Context, tenantID, id int64) (tenancy.Machine, error)
	MachineGetByName(ctx context.Context, tenantID int64, name string) (tenancy.Machine, error)
	// MachineGetByClientID looks across the installation: client ids are unique everywhere.
	MachineGetByClientID(ctx context.Context, clientID string) (tenancy.Machine, error)
	MachineList(ctx context.Context, tenantID int64) ([]tenancy.Machine, error)
	MachineUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Machine) (tenancy.Machine, error)) (tenancy.Machine, error)
	MachineDelete(ctx context.Context, tenantID, id int64) error
	// MachineSearch pages a tenant's machines with an OData query (p.FolderID and
	// p.OnlyFolders must be unset).
	MachineSearch(ctx context.Context, p SearchParams) (page []tenancy.Machine, total int, err error)

	// RoleCreate adds a custom role to a tenant.
	RoleCreate(ctx context.Context, p RoleCreateParams) (tenancy.Role, error)
	// RoleGet finds a built-in role or one of the tenant's custom roles.
	RoleGet(ctx context.Context, tenantID, id int64) (tenancy.Role, error)
	RoleGetByName(ctx context.Context, tenantID int64, name string) (tenancy.Role, error)
	// RoleList lists the built-in roles and the tenant's custom roles.
	RoleList(ctx context.Context, tenantID int64) ([]tenancy.Role, error)
	// RoleUpdate and RoleDelete refuse built-in roles (ErrInvalid).
	RoleUpdate(ctx context.Context, tenantID, id int64, fn func(tenancy.Role) (tenancy.Role, error)) (tenancy.Role, error)
	RoleDelete(ctx context.Context, tenantID, id int64) error
	// RoleSearch pages the built-in roles and the tenant's custom roles with an OData
	// query (p.FolderID and p.OnlyFolders must be unset).
	RoleSearch(ctx context.Context, p SearchParams) (page []tenancy.Role, total int, err error)

	// MembershipSet replaces the roles a principal holds in a tenant (FolderID 0) or folder.
	// An empty RoleIDs removes the membership.
	MembershipSet(ctx context.Context, m tenancy.Membership) error
	// MembershipListPrincipal lists a principal's memberships in a tenant.
	MembershipListPrincipal(ctx context.Context, tenantID int64, p tenancy.Principal) ([]tenancy.Membership, error)
	// MembershipListFolder lists the memberships held in a folder (FolderID 0: the tenant).
	MembershipListFolder(ctx context.Context, tenantID, folderID int64) ([]tenancy.Membership, error)

	// AccessGet gathers what tenancy.Access needs for one principal in one tenant.
	AccessGet(ctx context.Context, tenantID int64, p tenancy.Principal, orgAdmin bool) (tenancy.Access, error)

	// SigningKeyCreate stores a new signing key, after every existing one in creation order
	// (call it under the "signing-keys" lock); SigningKeyList lists those not yet expired at
	// now, the last created first.
	SigningKeyCreate(ctx context.Context, k SigningKey) error
	SigningKeyList(ctx context.Context, now time.Time) ([]SigningKey, error)

	// RevocationAdd records a revocation; RevocationListSince lists those created at or after
	// since that have not expired at now, in id order: what a node's deny-list polls (with
	// an overlap, since a row may commit a while after it was created).
	RevocationAdd(ctx context.Context, r Revocation) (Revocation, error)
	RevocationListSince(ctx context.Context, since, now time.Time) ([]Revocation, error)

	IdentityEventAdd(ctx context.Context, e IdentityEvent) error
	// IdentityEventList lists an organization's events, newest first, at most limit.
	IdentityEventList(ctx context.Context, orgID int64, limit int) ([]IdentityEvent, error)

	// Sessions of the identity pages.
	SessionCreate(ctx context.Context, s Session) error
	// SessionGet finds an unexpired session (ErrNotFound otherwise).
	SessionGet(ctx context.Context, idHash string, now time.Time) (Session, error)
	SessionDelete(ctx context.Context, idHash string) error

	AuthCodeCreate(ctx context.Context, c AuthCode) error
	// AuthCodeUse marks the code used and returns it. When it was already used, it returns
	// the code with its earlier UsedAt and ErrConflict (a replay); an unknown code is
	// ErrNotFound. Expiry is the caller's to check.
	AuthCodeUse(ctx context.Context, codeHash string, now time.Time) (AuthCode, error)

	RefreshTokenCreate(ctx context.Context, t RefreshToken) error
	RefreshTokenGet(ctx context.Context, tokenHash string) (RefreshToken, error)
	// RefreshTokenUse marks a rotating token used, atomically: of two concurrent uses one
	// wins and the other gets ErrConflict with the token as stored (UsedAt set). A revoked
	// token also gets ErrConflict (RevokedAt set). Non-rotating tokens are returned unchanged.
	RefreshTokenUse(ctx context.Context, tokenHash string, now time.Time) (RefreshToken, error)
	// RefreshTokenRevokeFamily revokes every token of a family; RefreshTokenRevoke one token.
	RefreshTokenRevokeFamily(ctx context.Context, family string, now time.Time) error
	RefreshTokenRevoke(ctx context.Context, tokenHash string, now time.Time) error

	DeviceCodeCreate(ctx context.Context, d DeviceCode) error
	DeviceCodeGet(ctx context.Context, deviceHash string) (DeviceCode, error)
	// DeviceCodeGetByUserCode matches the user code case-insensitively, ignoring '-'.
	DeviceCodeGetByUserCode(ctx context.Context, userCode string) (DeviceCode, error)
	DeviceCodeUpdate(ctx context.Context, deviceHash string, fn func(DeviceCode) (DeviceCode, error)) (DeviceCode, error)

	PATCreate(ctx context.Context, p PAT) (PAT, error)
	PATGetByHash(ctx context.Context, tokenHash string) (PAT, error)
	// PATList lists a user's tokens, newest first, revoked ones included.
	PATList(ctx context.Context, orgID, userID int64) ([]PAT, error)
	// PATRevoke revokes one of the user's tokens; it returns the token as revoked.
	PATRevoke(ctx context.Context, orgID, userID, id int64, now time.Time) (PAT, error)
	PATTouch(ctx context.Context, id int64, now time.Time) error

	// User keys. UserKeyGetByHash finds revoked keys too, so that the caller can say why one
	// fails; UserKeyList lists a user's keys, newest first, revoked ones included;
	// UserKeyRevoke revokes one of the user's keys (another user's is not found) and returns
	// it as revoked, keeping the first revocation time.
	UserKeyCreate(ctx context.Context, k UserKey) (UserKey, error)
	UserKeyGetByHash(ctx context.Context, tokenHash string) (UserKey, error)
	UserKeyList(ctx context.Context, orgID, userID int64) ([]UserKey, error)
	UserKeyRevoke(ctx context.Context, orgID, userID, id int64, now time.Time) (UserKey, error)
	UserKeyTouch(ctx context.Context, id int64, now time.Time) error

	// AuditAdd records an audit entry (At defaults to now). AuditSearch pages a tenant's
	// log (its own entries and the organization-wide ones) with an OData query.
	AuditAdd(ctx context.Context, e AuditEntry) error
	AuditSearch(ctx context.Context, orgID int64, p SearchParams) (page []AuditEntry, total int, err error)

	QueueStore
	AssetStore
	PackageStore
	JobStore
	RobotStore
}

type OrganizationCreateParams struct {
	Name        string
	DisplayName string
}

type TenantCreateParams struct {
	OrgID                int64
	Name                 string
	DisplayName          string
	LegacyBasicAuth      bool
	LegacyBasicAuthUntil *time.Time
}

type FolderCreateParams struct {
	TenantID    int64
	ParentID    int64 // 0: top level
	DisplayName string
	Description string
}

type UserCreateParams struct {
	OrgID        int64
	Email        string
	Name         string
	PasswordHash string
	OrgAdmin     bool
	BasicAuth    bool
}

type AppCreateParams struct {
	OrgID        int64
	Name         string
	ClientID     string
	SecretHash   string
	AppScopes    []string
	UserScopes   []string
	RedirectURIs []string
}

type MachineCreateParams struct {
	TenantID   int64
	Name       string
	ClientID   string
	SecretHash string
	Slots      int
}

type RoleCreateParams struct {
	TenantID    int64
	Name        string
	Type        tenancy.RoleType
	Permissions []tenancy.Permission
}

// TenantUser is one row of a tenant's Users entity set: a user of the organization or
// one of its external applications, which UiPath lists among the users.
type TenantUser struct {
	// Principal is the user or the app.
	Principal tenancy.Principal
	// ID is the row's Id in the entity set: the user's id, or for an app minus the app's
	// id, so that users and apps (numbered apart) never share an Id.
	ID        int64
	Key       string
	UserName  string // a user's email, an app's client id
	Name      string
	Email     string // "" for an app
	Disabled  bool
	OrgAdmin  bool
	CreatedAt time.Time
}

// TenantUserID is the Users Id of a principal (see TenantUser.ID); 0 for a machine.
func TenantUserID(p tenancy.Principal) int64 {
	switch p.Kind {
	case tenancy.PrincipalUser:
		return p.ID
	case tenancy.PrincipalApp:
		return -p.ID
	}
	return 0
}
