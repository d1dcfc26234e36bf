package store

import "time"

// Session is a signed-in browser session of the identity pages. The cookie holds a random
// token; the store keeps only its SHA-256 (IDHash).
type Session struct {
	IDHash    string
	OrgID     int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthCode is an authorization code (RFC 6749 §4.1), stored by its SHA-256, single use.
type AuthCode struct {
	CodeHash            string
	OrgID               int64
	UserID              int64
	ClientID            string
	RedirectURI         string // as sent to /authorize ("" when none was sent)
	Scope               string // granted, space-separated
	CodeChallenge       string
	CodeChallengeMethod string // "S256" or "" (confidential clients without PKCE)
	Nonce               string
	Family              string // the refresh token family its tokens will belong to
	Issuer              string // the identity base that issued it
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
}

// RefreshToken is stored by its SHA-256. Tokens of one grant share a Family; rotating ones
// are single use (UsedAt set on use).
type RefreshToken struct {
	TokenHash string
	Family    string
	OrgID     int64
	UserID    int64
	ClientID  string
	Scope     string
	Issuer    string
	Rotates   bool // false for seed-era tokens and user keys, which are reused until revoked
	CreatedAt time.Time
	ExpiresAt *time.Time // nil: never expires
	UsedAt    *time.Time // rotated at
	RevokedAt *time.Time
}

// Device code states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceUsed     = "used"
)

// DeviceCode is a device authorization (RFC 8628), stored by the SHA-256 of the device code;
// the short user code is what a person types on the device page.
type DeviceCode struct {
	DeviceHash string
	UserCode   string
	ClientID   string
	Scope      string
	Issuer     string
	Status     string
	OrgID      int64 // set when a user approves
	UserID     int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastPollAt *time.Time
}

// PAT is a personal access token, stored by its SHA-256 and shown once at creation.
type PAT struct {
	ID         int64
	Key        string
	OrgID      int64
	UserID     int64
	Name       string
	TokenHash  string
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}
