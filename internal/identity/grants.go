package identity

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Lifetimes of user tokens under /identity_ (DESIGN §4).
const (
	userAccessTTL = time.Hour
	refreshTTL    = 60 * 24 * time.Hour
	refreshPrefix = "oo_rt_"
	idTokenTTL    = time.Hour
)

// userTokenResponse adds what user flows return to the token response.
type userTokenResponse struct {
	tokenResponse
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// idClaims are the claims of an OpenID Connect id_token.
type idClaims struct {
	Issuer            string `json:"iss"`
	Subject           string `json:"sub"`
	Audience          string `json:"aud"`
	Expiry            int64  `json:"exp"`
	IssuedAt          int64  `json:"iat"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	OrgKey            string `json:"prt_id"`
	// Family is the grant the id_token came from, so that revoking it (a refresh token, a
	// user key) also ends the id_token where it is accepted as a credential (discovery).
	Family string `json:"fam,omitempty"`
}

// userClient authenticates the client of a user flow: a confidential app must prove its
// secret; a public one only names itself.
func (s *Service) userClient(r *http.Request) (tenancy.App, *oauthError) {
	id, secretValue, basic, oe := clientCredentialsOf(r)
	if oe != nil {
		return tenancy.App{}, oe
	}
	if id == "" {
		return tenancy.App{}, oauthErr("invalid_request", "client_id is missing")
	}
	ip := server.ClientIP(r)
	if oe := s.blockedErr(id, ip); oe != nil {
		return tenancy.App{}, oe
	}
	app, err := s.st.AppGetByClientID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.failed(id, ip)
		return tenancy.App{}, oauthErr("invalid_client", "client_id %q is not known on this server", id)
	}
	if err != nil {
		return tenancy.App{}, s.internal(r, err)
	}
	if app.Confidential() {
		var oe *oauthError
		switch {
		case secretValue == "":
			oe = oauthErr("invalid_client", "client_secret is missing for app %s (a confidential client)", app.Name)
		case !secret.TokenMatches(secretValue, app.SecretHash):
			oe = oauthErr("invalid_client", "client_secret is wrong for app %s", app.Name)
		}
		if oe != nil {
			oe.basicAuth = basic
			s.failed(id, ip)
			s.event(r, app.OrgID, "token.refused", id, "", oe.Description)
			return tenancy.App{}, oe
		}
	} else if secretValue != "" {
		return tenancy.App{}, oauthErr("invalid_client", "app %s is a public client and has no secret; send client_secret empty or not at all", app.Name)
	}
	return app, nil
}

// tokenEndpoint is the token endpoint a grant request came to.
type tokenEndpoint struct {
	iss string
	org *tenancy.Organization // named by the path; nil when the path names none
	// seedEra marks /oauth/token: an empty redirect_uri stands for the one sent to
	// /authorize, and its tokens are those of the seed era (see issueUserTokens).
	seedEra bool
}

// tokenURLOf is the token endpoint of an issuer, for messages.
func (s *Service) tokenURLOf(iss string) string {
	if iss == s.seedIssuer() {
		return s.public + "/oauth/token"
	}
	return iss + "/connect/token"
}

// authorizationCode serves grant_type=authorization_code.
func (s *Service) authorizationCode(w http.ResponseWriter, r *http.Request, ep tokenEndpoint) *oauthError {
	app, oe := s.userClient(r)
	if oe != nil {
		return oe
	}
	ctx := r.Context()
	raw := r.PostForm.Get("code")
	if raw == "" {
		return oauthErr("invalid_request", "code is missing")
	}
	now := s.now()
	code, err := s.st.AuthCodeUse(ctx, secret.HashToken(raw), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return oauthErr("invalid_grant", "the authorization code is not known: it was mistyped, or it is from another server")
	case errors.Is(err, store.ErrConflict):
		// A replayed code: someone else may hold it. Everything issued from it goes.
		s.revokeFamily(r, code.Family)
		s.event(r, code.OrgID, "token.refused", app.ClientID, "", "authorization code replayed; its tokens were revoked")
		return oauthErr("invalid_grant", "the authorization code was already used at %s; every token issued from it is now revoked",
			code.UsedAt.UTC().Format(time.RFC3339))
	case err != nil:
		return s.internal(r, err)
	}
	switch {
	case now.After(code.ExpiresAt):
		return oauthErr("invalid_grant", "the authorization code expired at %s (codes live %s); start the sign-in again",
			code.ExpiresAt.UTC().Format(time.RFC3339), authCodeTTL)
	case code.ClientID != app.ClientID:
		return oauthErr("invalid_grant", "the authorization code was issued to client %s, not %s", code.ClientID, app.ClientID)
	case code.Issuer != ep.iss:
		return oauthErr("invalid_grant", "the authorization code was issued by %s; exchange it at %s", code.Issuer, s.tokenURLOf(code.Issuer))
	case code.RedirectURI != "" && r.PostForm.Get("redirect_uri") != code.RedirectURI && !(ep.seedEra && r.PostForm.Get("redirect_uri") == ""):
		return oauthErr("invalid_grant", "redirect_uri %q does not match the one sent to /authorize (%s)", r.PostForm.Get("redirect_uri"), code.RedirectURI)
	}
	verifier := r.PostForm.Get("code_verifier")
	if code.CodeChallenge != "" {
		if verifier == "" {
			return oauthErr("invalid_grant", "code_verifier is missing: this code was requested with a code_challenge")
		}
		sum := sha256.Sum256([]byte(verifier))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != code.CodeChallenge {
			return oauthErr("invalid_grant", "code_verifier does not match the code_challenge sent to /authorize")
		}
	} else if verifier != "" {
		return oauthErr("invalid_grant", "code_verifier was sent but this code was requested without a code_challenge")
	}
	user, err := s.st.UserGet(ctx, code.OrgID, code.UserID)
	if err != nil || user.Disabled {
		return oauthErr("invalid_grant", "the user who signed in no longer exists or is disabled")
	}
	return s.issueUserTokens(w, r, userGrant{iss: ep.iss, app: app, user: user, scope: code.Scope, family: code.Family,
		nonce: code.Nonce, authTime: code.CreatedAt})
}

// refreshToken serves grant_type=refresh_token: each use returns a new refresh token and
// retires the old; presenting a retired one revokes its whole family. A refresh token works
// at /identity_ and at its organization's endpoint (the TypeScript SDK refreshes there).
// Refresh tokens of the seed-era /oauth/token work there only, and neither rotate nor
// expire. Everything that can refuse the request is checked before the token is spent, so
// a refused refresh leaves the token usable.
func (s *Service) refreshToken(w http.ResponseWriter, r *http.Request, ep tokenEndpoint) *oauthError {
	app, oe := s.userClient(r)
	if oe != nil {
		return oe
	}
	ctx := r.Context()
	raw := r.PostForm.Get("refresh_token")
	switch {
	case raw == "":
		return oauthErr("invalid_request", "refresh_token is missing")
	case strings.HasPrefix(raw, userKeyPrefix) && ep.seedEra:
		return s.userKeyGrant(w, r, app, raw)
	case strings.HasPrefix(raw, userKeyPrefix):
		return oauthErr("invalid_grant", "the refresh_token is a user key; user keys are exchanged at %s/oauth/token (client_id %s), not here",
			s.public, userKeyClientID)
	}
	hash := secret.HashToken(raw)
	now := s.now()
	rt, err := s.st.RefreshTokenGet(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return oauthErr("invalid_grant", "the refresh token is not known: it was mistyped, or it is from another server")
	case err != nil:
		return s.internal(r, err)
	case rt.RevokedAt != nil:
		return oauthErr("invalid_grant", "the refresh token was revoked at %s; sign in again", rt.RevokedAt.UTC().Format(time.RFC3339))
	case rt.ClientID != app.ClientID:
		return oauthErr("invalid_grant", "the refresh token was issued to client %s, not %s", rt.ClientID, app.ClientID)
	case (rt.Issuer == s.seedIssuer()) != ep.seedEra:
		return oauthErr("invalid_grant", "the refresh token was issued by %s; refresh it at %s", rt.Issuer, s.tokenURLOf(rt.Issuer))
	case ep.org != nil && rt.OrgID != ep.org.ID:
		return oauthErr("invalid_grant", "the refresh token belongs to another organization than %s; refresh it at /identity_/connect/token or its own organization's endpoint", ep.org.Name)
	case rt.ExpiresAt != nil && now.After(*rt.ExpiresAt):
		return oauthErr("invalid_grant", "the refresh token expired at %s; sign in again", rt.ExpiresAt.UTC().Format(time.RFC3339))
	}
	scope := rt.Scope
	if asked := strings.Fields(r.PostForm.Get("scope")); len(asked) > 0 {
		granted := strings.Fields(rt.Scope)
		for _, sc := range asked {
			if !slices.Contains(granted, sc) {
				return oauthErr("invalid_scope", "scope %s was not granted to this refresh token (granted: %s)", sc, rt.Scope)
			}
		}
		scope = strings.Join(asked, " ")
		if !slices.Contains(asked, "offline_access") {
			scope += " offline_access" // a narrowed refresh keeps the grant's ability to refresh
		}
	}
	user, err := s.st.UserGet(ctx, rt.OrgID, rt.UserID)
	if err != nil || user.Disabled {
		return oauthErr("invalid_grant", "the user of this refresh token no longer exists or is disabled")
	}
	// Spend it. Of two racing uses one wins; the loser, like any later reuse, revokes the family.
	rt, err = s.st.RefreshTokenUse(ctx, hash, now)
	switch {
	case errors.Is(err, store.ErrConflict) && rt.RevokedAt != nil:
		return oauthErr("invalid_grant", "the refresh token was revoked at %s; sign in again", rt.RevokedAt.UTC().Format(time.RFC3339))
	case errors.Is(err, store.ErrConflict):
		s.revokeFamily(r, rt.Family)
		s.event(r, rt.OrgID, "token.refused", app.ClientID, "", "refresh token reused; family revoked")
		return oauthErr("invalid_grant", "the refresh token was already used at %s; its whole family is now revoked, sign in again",
			rt.UsedAt.UTC().Format(time.RFC3339))
	case err != nil:
		return s.internal(r, err)
	}
	return s.issueUserTokens(w, r, userGrant{iss: ep.iss, app: app, user: user, scope: scope, family: rt.Family, keepRefresh: !rt.Rotates})
}

// userGrant is what a user flow's token answer is made of.
type userGrant struct {
	iss    string
	app    tenancy.App
	user   tenancy.User
	scope  string
	family string // the grant the tokens descend from: revoking it denies them
	nonce  string
	// authTime is when the user signed in; zero when unknown (a refresh).
	authTime time.Time
	// keepRefresh: the request presented a refresh token (or user key) that stays valid, so
	// no new one is issued.
	keepRefresh bool
}

// issueUserTokens answers a user flow: an access token, a refresh token when
// offline_access was granted, and an id_token when openid was. Tokens of the seed-era
// issuer live 24 hours and its refresh tokens neither rotate nor expire (DESIGN §4).
func (s *Service) issueUserTokens(w http.ResponseWriter, r *http.Request, g userGrant) *oauthError {
	ctx := r.Context()
	org, err := s.st.OrganizationGet(ctx, g.user.OrgID)
	if err != nil {
		return s.internal(r, err)
	}
	seedEra := g.iss == s.seedIssuer()
	accessTTL, idTTL := userAccessTTL, idTokenTTL
	if seedEra {
		accessTTL, idTTL = seedAccessTTL, seedAccessTTL
	}
	scopes := strings.Fields(g.scope)
	access, _, err := s.keys.Issue(Claims{Issuer: g.iss, Subject: g.user.Key, SubType: SubUser, ClientID: g.app.ClientID,
		OrgKey: org.Key, Scope: g.scope, Family: g.family}, accessTTL)
	if err != nil {
		return s.internal(r, err)
	}
	resp := userTokenResponse{tokenResponse: tokenResponse{AccessToken: access, ExpiresIn: int(accessTTL / time.Second),
		TokenType: "Bearer", Scope: g.scope}}
	now := s.now()
	if slices.Contains(scopes, "offline_access") && !g.keepRefresh {
		raw := secret.NewToken(refreshPrefix)
		rt := store.RefreshToken{TokenHash: secret.HashToken(raw), Family: g.family, OrgID: org.ID, UserID: g.user.ID,
			ClientID: g.app.ClientID, Scope: g.scope, Issuer: g.iss, Rotates: !seedEra, CreatedAt: now}
		if !seedEra {
			exp := now.Add(refreshTTL)
			rt.ExpiresAt = &exp
		}
		if err := s.st.RefreshTokenCreate(ctx, rt); err != nil {
			return s.internal(r, err)
		}
		resp.RefreshToken = raw
	}
	if slices.Contains(scopes, "openid") {
		c := idClaims{Issuer: g.iss, Subject: g.user.Key, Audience: g.app.ClientID, IssuedAt: now.Unix(), Expiry: now.Add(idTTL).Unix(),
			Nonce: g.nonce, OrgKey: org.Key, Family: g.family}
		if !g.authTime.IsZero() {
			c.AuthTime = g.authTime.Unix()
		}
		if slices.Contains(scopes, "email") {
			c.Email = g.user.Email
		}
		if slices.Contains(scopes, "profile") {
			c.Name, c.PreferredUsername = g.user.Name, g.user.Email
		}
		if resp.IDToken, err = s.keys.sign(c); err != nil {
			return s.internal(r, err)
		}
	}
	writeTokenJSON(w, resp)
	return nil
}

// revokeFamily revokes every refresh token of a family and denies its access tokens on
// every node.
func (s *Service) revokeFamily(r *http.Request, family string) {
	if family == "" {
		return
	}
	ctx := r.Context()
	now := s.now()
	if err := s.st.RefreshTokenRevokeFamily(ctx, family, now); err != nil {
		s.internal(r, err)
	}
	if s.deny != nil {
		// Kept as long as the longest-lived access token of a family: 24 h (seed era).
		if err := s.deny.Revoke(ctx, store.RevokeFamily, family, now.Add(max(userAccessTTL, seedAccessTTL)+time.Minute)); err != nil {
			s.internal(r, err)
		}
	}
}
