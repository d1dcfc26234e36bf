package tenancy

import "time"

// MaxFolderDepth is the deepest a folder may sit: a top-level folder has depth 1.
const MaxFolderDepth = 7

// Organization is UiPath's "account": the first URL segment.
type Organization struct {
	ID          int64
	Key         string // GUID
	Name        string // logical name, unique case-insensitively
	DisplayName string
	CreatedAt   time.Time
}

// Tenant is UiPath's "service instance" inside an organization.
type Tenant struct {
	ID          int64
	Key         string
	OrgID       int64
	Name        string // logical name, unique case-insensitively within the organization
	DisplayName string
	// LegacyBasicAuth allows /api/account/authenticate for users with BasicAuth,
	// until LegacyBasicAuthUntil when that is set.
	LegacyBasicAuth      bool
	LegacyBasicAuthUntil *time.Time
	CreatedAt            time.Time
}

// Folder is a node of a tenant's folder tree.
type Folder struct {
	ID                 int64
	Key                string
	TenantID           int64
	ParentID           int64 // 0 for a top-level folder
	DisplayName        string
	FullyQualifiedName string // "Finance/AP"
	Description        string
	Depth              int // 1 for a top-level folder
	CreatedAt          time.Time
}

// User is a person who signs in to an organization.
type User struct {
	ID           int64
	Key          string
	OrgID        int64
	Email        string // unique case-insensitively within the organization
	Name         string
	PasswordHash string // slow hash (see package secret); empty: cannot sign in with a password
	OrgAdmin     bool   // organization administrator = tenant Administrator everywhere
	BasicAuth    bool   // may use the legacy /api/account/authenticate
	Disabled     bool
	CreatedAt    time.Time
}

// App is an OAuth client: an organization's external application, or (OrgID 0) one of the
// built-in first-party clients every installation has.
type App struct {
	ID           int64
	Key          string
	OrgID        int64 // 0 for built-in first-party clients
	Name         string
	ClientID     string // unique across the installation
	SecretHash   string // hex SHA-256 of the client secret; empty for a public client
	AppScopes    []string
	UserScopes   []string
	RedirectURIs []string
	FirstParty   bool
	CreatedAt    time.Time
}

// Confidential reports whether the app authenticates with a secret.
func (a App) Confidential() bool { return a.SecretHash != "" }

// Machine is a tenant object whose robots sign in with its client credentials.
type Machine struct {
	ID         int64
	Key        string
	TenantID   int64
	Name       string // unique case-insensitively within the tenant
	ClientID   string // unique across the installation
	SecretHash string // hex SHA-256 of the client secret
	Slots      int    // how many jobs its robots may run at once
	CreatedAt  time.Time
}

// QueueDefinition is a work queue in a folder. The queue engine extends it.
type QueueDefinition struct {
	ID                     int64
	Key                    string
	TenantID               int64
	FolderID               int64
	Name                   string // unique case-insensitively within the folder
	Description            string
	MaxNumberOfRetries     int
	EnforceUniqueReference bool
	// AcceptAutomaticallyRetry retries an item that failed with an application exception,
	// up to MaxNumberOfRetries times; RetryAbandonedItems retries abandoned items too.
	AcceptAutomaticallyRetry bool
	RetryAbandonedItems      bool
	// SpecificDataJSONSchema, when not empty, is the JSON Schema every item's
	// SpecificContent must match.
	SpecificDataJSONSchema string
	SlaInMinutes           int // 0: none
	CreatedAt              time.Time
}
