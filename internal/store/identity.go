package store

import "time"

// SigningKey is a token signing key. The private key is sealed with the installation's
// secret key; the store never sees it in the clear.
type SigningKey struct {
	KID           string
	Alg           string // ES256 | RS256
	PrivateSealed []byte
	PublicJWK     string // JSON
	CreatedAt     time.Time
	RetireAt      time.Time // signs no more after this
	ExpireAt      time.Time // leaves the JWKS after this
}

// Revocation kinds: what a revocation's Value names.
const (
	RevokeJTI     = "jti"     // one access token
	RevokeSubject = "subject" // every token of a user, app or machine (by subject)
	RevokeClient  = "client"  // every token issued to a client id
	RevokeFamily  = "family"  // every token descended from one grant
)

// Revocation denies the tokens matching Kind and Value issued at or before IssuedBefore.
type Revocation struct {
	ID           int64
	Kind         string
	Value        string
	IssuedBefore time.Time
	ExpireAt     time.Time // after this no token it matches can still be valid
	CreatedAt    time.Time
}

// IdentityEvent is an entry of the identity audit trail: sign-ins, refusals, secrets
// regenerated, tokens and apps created or revoked.
type IdentityEvent struct {
	ID       int64
	OrgID    int64 // 0 when no organization is known (an unknown client id)
	At       time.Time
	Kind     string
	ClientID string
	Subject  string
	IP       string
	Detail   string
}
