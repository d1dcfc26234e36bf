package store

import "time"

// UserKey is a user key ("API access", DESIGN §4): a secret the seed-era /oauth/token
// exchanges for 24-hour access tokens, any number of times, until it is revoked. It is
// stored by its SHA-256 and shown once at creation.
type UserKey struct {
	ID         int64
	Key        string
	OrgID      int64
	UserID     int64
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}
