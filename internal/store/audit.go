package store

import "time"

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64
	OrgID      int64
	TenantID   int64 // 0: organization-wide
	At         time.Time
	Action     string // Create, Update, Delete, …
	Component  string // the entity set: Folders, Machines, …
	EntityID   int64
	EntityName string
	Principal  string // "user ann@acme.test", "app invoice-bot"
	ClientID   string
	Details    string
}
