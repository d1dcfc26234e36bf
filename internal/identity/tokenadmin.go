package identity

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Revocation (RFC 7009), introspection (RFC 7662) and userinfo.
func (s *Service) mountTokenAdmin(m Mux, base string) {
	m.HandleFunc("POST "+base+"/connect/revocation", s.revocation)
	m.HandleFunc("OPTIONS "+base+"/connect/revocation", s.tokenPreflight)
	m.HandleFunc("POST "+base+"/connect/introspect", s.introspect)
	m.HandleFunc("GET "+base+"/connect/userinfo", s.userinfo)
	m.HandleFunc("POST "+base+"/connect/userinfo", s.userinfo)
	m.HandleFunc("OPTIONS "+base+"/connect/userinfo", s.tokenPreflight)
}

// revocation serves POST …/connect/revocation. Revoking a refresh token revokes its whole
// family, access tokens included; revoking an access token denies it on every node. As
// RFC 7009 asks, an unknown token is not an error.
func (s *Service) revocation(w http.ResponseWriter, r *http.Request) {
	allowLoopbackCORS(w, r)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, oauthErr("invalid_request", "the form body could not be read: %s", formError(err)))
		return
	}
	app, oe := s.userClient(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, oauthErr("invalid_request", "token is missing"))
		return
	}
	ctx := r.Context()
	switch {
	case strings.HasPrefix(raw, refreshPrefix):
		rt, err := s.st.RefreshTokenGet(ctx, secret.HashToken(raw))
		if errors.Is(err, store.ErrNotFound) {
			break
		} else if err != nil {
			writeOAuthError(w, s.internal(r, err))
			return
		}
		if rt.ClientID != app.ClientID {
			writeOAuthError(w, oauthErr("unauthorized_client", "the token was issued to client %s, not %s", rt.ClientID, app.ClientID))
			return
		}
		s.revokeFamily(r, rt.Family)
		s.event(r, rt.OrgID, "token.revoked", app.ClientID, "", "refresh token family")
	default:
		c, err := s.verifier.Verify(ctx, raw)
		if err != nil {
			break // unknown, expired or not ours: nothing to revoke
		}
		if c.ClientID != app.ClientID {
			writeOAuthError(w, oauthErr("unauthorized_client", "the token was issued to client %s, not %s", c.ClientID, app.ClientID))
			return
		}
		if s.deny == nil {
			writeOAuthError(w, s.internal(r, errors.New("identity: no deny-list configured")))
			return
		}
		if err := s.deny.Revoke(ctx, store.RevokeJTI, c.ID, time.Unix(c.Expiry, 0).Add(time.Minute)); err != nil {
			writeOAuthError(w, s.internal(r, err))
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// introspect serves POST …/connect/introspect for confidential clients: it says whether a
// token is active and what it carries.
func (s *Service) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, oauthErr("invalid_request", "the form body could not be read: %s", formError(err)))
		return
	}
	app, oe := s.userClient(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	if !app.Confidential() {
		writeOAuthError(w, oauthErr("unauthorized_client", "introspection is for confidential clients; %s has no secret", app.Name))
		return
	}
	raw := r.PostForm.Get("token")
	inactive := map[string]any{"active": false}
	ctx := r.Context()
	// A client learns about its own organization's tokens only.
	callerOrg, err := s.st.OrganizationGet(ctx, app.OrgID)
	if err != nil {
		writeOAuthError(w, s.internal(r, err))
		return
	}
	if strings.HasPrefix(raw, refreshPrefix) {
		rt, err := s.st.RefreshTokenGet(ctx, secret.HashToken(raw))
		now := s.now()
		if err != nil || rt.ClientID != app.ClientID || rt.RevokedAt != nil || rt.UsedAt != nil && rt.Rotates ||
			rt.ExpiresAt != nil && now.After(*rt.ExpiresAt) {
			writeTokenJSON(w, inactive)
			return
		}
		user, err := s.st.UserGet(ctx, rt.OrgID, rt.UserID)
		if err != nil || user.Disabled {
			writeTokenJSON(w, inactive)
			return
		}
		out := map[string]any{"active": true, "token_type": "refresh_token", "client_id": rt.ClientID, "scope": rt.Scope,
			"iss": rt.Issuer, "iat": rt.CreatedAt.Unix(), "sub": user.Key, "sub_type": SubUser, "prt_id": callerOrg.Key}
		if rt.ExpiresAt != nil {
			out["exp"] = rt.ExpiresAt.Unix()
		}
		writeTokenJSON(w, out)
		return
	}
	c, err := s.VerifyBearer(ctx, raw)
	if err != nil || c.OrgKey != callerOrg.Key {
		writeTokenJSON(w, inactive)
		return
	}
	writeTokenJSON(w, map[string]any{"active": true, "token_type": "access_token", "client_id": c.ClientID, "scope": c.Scope,
		"sub": c.Subject, "sub_type": c.SubType, "prt_id": c.OrgKey, "iss": c.Issuer, "aud": Audience, "exp": c.Expiry,
		"iat": c.IssuedAt, "jti": c.ID})
}

// userinfo serves …/connect/userinfo for a user's access token with the openid scope.
func (s *Service) userinfo(w http.ResponseWriter, r *http.Request) {
	allowLoopbackCORS(w, r)
	fail := func(status int, code, why string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+strings.ReplaceAll(why, `"`, `'`)+`"`)
		writeJSONStatus(w, status, map[string]string{"error": code, "error_description": why})
	}
	h := r.Header.Get("Authorization")
	if h == "" { // RFC 6750 §3.1: no error code when no credentials were sent
		w.Header().Set("WWW-Authenticate", `Bearer realm="identity"`)
		writeJSONStatus(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token",
			"error_description": "send the access token as Authorization: Bearer <token>"})
		return
	}
	scheme, raw, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		fail(http.StatusUnauthorized, "invalid_token", "send the access token as Authorization: Bearer <token>")
		return
	}
	c, err := s.VerifyBearer(r.Context(), strings.TrimSpace(raw))
	if err != nil {
		fail(http.StatusUnauthorized, "invalid_token", err.Error())
		return
	}
	if c.SubType != SubUser || !slices.Contains(c.Scopes(), "openid") {
		fail(http.StatusForbidden, "insufficient_scope", "userinfo needs a user's token with the openid scope")
		return
	}
	var u tenancy.User
	org, err := s.st.OrganizationGetByName(r.Context(), c.OrgKey)
	if err == nil {
		u, err = s.st.UserGetByKey(r.Context(), org.ID, c.Subject)
	}
	if err != nil || u.Disabled {
		fail(http.StatusUnauthorized, "invalid_token", "the token's user no longer exists or is disabled")
		return
	}
	out := map[string]any{"sub": u.Key, "prt_id": c.OrgKey}
	if slices.Contains(c.Scopes(), "email") {
		out["email"] = u.Email
	}
	if slices.Contains(c.Scopes(), "profile") {
		out["name"], out["preferred_username"] = u.Name, u.Email
	}
	writeJSONStatus(w, http.StatusOK, out)
}
