package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// What the seed-era surface (package legacy) needs of the identity service: id_tokens as
// credentials of the discovery endpoints, and the username/password login of
// /api/account/authenticate with its per-tenant switch and sunset date.

const (
	// LegacyClientID is the client_id claim of tokens from the legacy username/password
	// login, and the client of its identity events. Revoking this client id (deny-list kind
	// "client") ends every such token at once.
	LegacyClientID = "legacy-authenticate"
	// LegacyTokenTTL is the life of a legacy login's access token (DESIGN §4).
	LegacyTokenTTL = 30 * time.Minute
	// legacyScope stands for every OR scope; the user's roles still apply.
	legacyScope = "OrchestratorApiUserAccess"
)

// ErrNotIDToken is what VerifyIDToken answers for a bearer that is not an id_token at all
// (an access token, a personal access token): the caller may try VerifyBearer instead.
var ErrNotIDToken = &TokenError{Reason: "the bearer token is not an id_token (it is an access token or a personal access token)"}

// VerifyIDToken returns the claims of an id_token this installation issued: signed by one of
// its keys, issued by one of its three issuers, unexpired, and not revoked (by subject or by
// client). Its audience is the client it was issued to, which the claims carry as ClientID
// (the first audience, when there are several); SubType is always user. A refusal is a *TokenError.
func (s *Service) VerifyIDToken(ctx context.Context, raw string) (Claims, error) {
	if strings.Count(raw, ".") != 2 {
		return Claims{}, ErrNotIDToken
	}
	if s.verifier == nil {
		return Claims{}, errors.New("identity: the service has no signing keys to verify tokens with")
	}
	jws, err := jose.ParseSigned(raw, acceptedAlgs)
	if err != nil {
		return Claims{}, tokenErr("the token is not signed with ES256 or RS256 (%s)", shortJOSE(err))
	}
	if len(jws.Signatures) != 1 {
		return Claims{}, tokenErr("the token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	jwk, ok := s.keys.publicKey(ctx, kid)
	if !ok {
		return Claims{}, tokenErr("the token is signed with key %q, which this installation does not have: it was issued elsewhere or long ago", kid)
	}
	if jws.Signatures[0].Header.Algorithm != jwk.Algorithm {
		return Claims{}, tokenErr("the token's algorithm %s does not match its key's %s", jws.Signatures[0].Header.Algorithm, jwk.Algorithm)
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return Claims{}, tokenErr("the token's signature is not valid: it was altered or not issued here")
	}
	var c struct {
		Issuer   string   `json:"iss"`
		Subject  string   `json:"sub"`
		Audience audience `json:"aud"`
		SubType  string   `json:"sub_type"`
		Expiry   int64    `json:"exp"`
		IssuedAt int64    `json:"iat"`
		OrgKey   string   `json:"prt_id"`
		Family   string   `json:"fam"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, tokenErr("the token's claims are malformed")
	}
	// Access tokens are signed by the same keys; they are told apart by their audience.
	if c.SubType != "" || slices.Contains(c.Audience, Audience) {
		return Claims{}, ErrNotIDToken
	}
	if !s.verifier.issuerOK(c.Issuer) {
		return Claims{}, tokenErr("the id_token was issued by %q, which is not this installation (%s)", c.Issuer, s.public)
	}
	if c.Subject == "" || c.OrgKey == "" || len(c.Audience) == 0 || c.Audience[0] == "" {
		return Claims{}, tokenErr("the id_token lacks sub, prt_id or aud, which every id_token of this installation carries")
	}
	if exp := time.Unix(c.Expiry, 0); s.now().After(exp.Add(s.verifier.leeway)) {
		return Claims{}, tokenErr("the id_token expired at %s; sign in again (or refresh) for a new one", exp.UTC().Format(time.RFC3339))
	}
	claims := Claims{Issuer: c.Issuer, Audience: c.Audience, Subject: c.Subject, SubType: SubUser, ClientID: c.Audience[0],
		OrgKey: c.OrgKey, IssuedAt: c.IssuedAt, Expiry: c.Expiry, Family: c.Family}
	if s.deny != nil {
		if why := s.deny.Denied(claims); why != "" {
			return Claims{}, tokenErr("the id_token was revoked: %s", why)
		}
	}
	return claims, nil
}

// ErrBadCredentials means the login name or the password is not right. Which of the two
// is recorded in the identity events, never told to the caller.
var ErrBadCredentials = errors.New("the user name or password is not right")

// BlockedError means too many sign-ins failed for the account or from the address: the
// caller must wait.
type BlockedError struct{ Wait time.Duration }

func (e *BlockedError) Error() string {
	return fmt.Sprintf("too many failed sign-ins for this account or from this address; try again in %ds", waitSeconds(e.Wait))
}

// WaitSeconds is the wait in whole seconds, rounded up (for Retry-After).
func (e *BlockedError) WaitSeconds() int { return waitSeconds(e.Wait) }

func waitSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// AuthenticatePassword checks a user's email and password in org, with the limits of the
// login page: the same failure counters per account and per client address, so that
// guesses through one door count against the other. The check takes the time of a real
// one whether or not the user exists. clientID names the door in the identity events.
// It answers ErrBadCredentials, a *BlockedError, or an internal error.
func (s *Service) AuthenticatePassword(r *http.Request, org tenancy.Organization, email, password, clientID string) (tenancy.User, error) {
	email = strings.TrimSpace(email)
	ip := server.ClientIP(r).String()
	account := fmt.Sprintf("%d\x00%s", org.ID, strings.ToLower(email))
	if wait := max(s.accountFails.blocked(account), s.addressFails.blocked(ip)); wait > 0 {
		s.event(r, org.ID, "signin.blocked", clientID, email, "too many failed sign-ins")
		return tenancy.User{}, &BlockedError{Wait: wait}
	}
	u, err := s.st.UserGetByEmail(r.Context(), org.ID, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return tenancy.User{}, err
	}
	matched := false
	if err == nil && u.PasswordHash != "" && !u.Disabled {
		matched, _ = secret.PasswordMatches(password, u.PasswordHash)
	} else {
		// The same time as a real check, so that the answer's timing does not tell whether
		// the account exists.
		secret.PasswordMatches(password, dummyPasswordHash())
	}
	if matched {
		return u, nil
	}
	s.accountFails.fail(account)
	s.addressFails.fail(ip)
	reason := "wrong password"
	switch {
	case errors.Is(err, store.ErrNotFound):
		reason = "no such user"
	case u.Disabled:
		reason = "user disabled"
	case u.PasswordHash == "":
		reason = "user has no password"
	}
	s.event(r, org.ID, "signin.failed", clientID, email, reason)
	return tenancy.User{}, ErrBadCredentials
}

// LegacyRefusedError is a rule of the legacy login that refused: the message says which,
// and what to use instead.
type LegacyRefusedError struct{ Message string }

func (e *LegacyRefusedError) Error() string { return e.Message }

// LegacyTenantAllowed checks the tenant's switch for the legacy login (DESIGN §2
// legacyBasicAuth: enabled, and before its until). It needs no credentials, so callers ask
// it before spending a password check. A refusal is a *LegacyRefusedError, recorded as an
// identity event.
func (s *Service) LegacyTenantAllowed(r *http.Request, org tenancy.Organization, t tenancy.Tenant, login string) error {
	if e := s.legacyTenantRefusal(org, t); e != nil {
		s.event(r, org.ID, "token.refused", LegacyClientID, login, e.Message)
		return e
	}
	return nil
}

func (s *Service) legacyTenantRefusal(org tenancy.Organization, t tenancy.Tenant) *LegacyRefusedError {
	instead := s.legacyAlternatives(org)
	switch {
	case t.OrgID != org.ID:
		return &LegacyRefusedError{Message: fmt.Sprintf("tenant %s is not in organization %s", t.Name, org.Name)}
	case !t.LegacyBasicAuth:
		return &LegacyRefusedError{Message: fmt.Sprintf("legacy basic authentication (api/account/authenticate) is turned off for tenant %s of organization %s; %s",
			t.Name, org.Name, instead)}
	case t.LegacyBasicAuthUntil != nil && !s.now().Before(*t.LegacyBasicAuthUntil):
		return &LegacyRefusedError{Message: fmt.Sprintf("legacy basic authentication for tenant %s of organization %s ended at %s; %s",
			t.Name, org.Name, t.LegacyBasicAuthUntil.UTC().Format(time.RFC3339), instead)}
	}
	return nil
}

// legacyAlternatives says what to use in place of the legacy login.
func (s *Service) legacyAlternatives(org tenancy.Organization) string {
	return fmt.Sprintf("use an external application with client credentials (POST %s/identity_/connect/token) or a personal access token "+
		"(POST %s/%s/identity_/api/PersonalAccessTokens) — see the README, \"An external application: client credentials\"",
		s.public, s.public, org.Name)
}

// IssueLegacyToken issues the access token of a legacy login to a user whose password was
// checked (AuthenticatePassword): 30 minutes, issuer {public}/ as the seed-era endpoints,
// scope OrchestratorApiUserAccess. It enforces the legacy rules itself — the tenant's
// switch and sunset, and the user's basicAuth — so no caller can skip them; a refusal is a
// *LegacyRefusedError. Success and refusal are recorded as identity events. The token is
// revocable like every access token: by jti, by subject (the user), or all legacy tokens
// at once by LegacyClientID.
func (s *Service) IssueLegacyToken(r *http.Request, org tenancy.Organization, t tenancy.Tenant, u tenancy.User) (token string, expires time.Time, err error) {
	refusal := s.legacyTenantRefusal(org, t)
	switch {
	case refusal != nil:
	case u.OrgID != org.ID || u.Disabled:
		refusal = &LegacyRefusedError{Message: fmt.Sprintf("user %s cannot sign in to organization %s", u.Email, org.Name)}
	case !u.BasicAuth:
		refusal = &LegacyRefusedError{Message: fmt.Sprintf("user %s may not use legacy basic authentication: it is kept only for the accounts marked basicAuth "+
			"(those migrated from the older service); sign in with a personal access token (POST %s/%s/identity_/api/PersonalAccessTokens) "+
			"or through %s/identity_/connect/authorize (authorization code with PKCE), or ask an administrator of %s to set basicAuth for the user",
			u.Email, s.public, org.Name, s.public, org.Name)}
	}
	if refusal != nil {
		s.event(r, org.ID, "token.refused", LegacyClientID, u.Key, refusal.Message)
		return "", time.Time{}, refusal
	}
	token, c, err := s.keys.Issue(Claims{Issuer: s.public + "/", Subject: u.Key, SubType: SubUser, ClientID: LegacyClientID,
		OrgKey: org.Key, Tenant: t.Key, Scope: legacyScope}, LegacyTokenTTL)
	if err != nil {
		return "", time.Time{}, err
	}
	expires = time.Unix(c.Expiry, 0)
	s.event(r, org.ID, "signin", LegacyClientID, u.Key, fmt.Sprintf("legacy basic authentication to tenant %s; token %s valid until %s",
		t.Name, c.ID, expires.UTC().Format(time.RFC3339)))
	return token, expires, nil
}
