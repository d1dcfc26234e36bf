package identity

import (
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// client is an authenticated OAuth client: an external app or a machine.
type client struct {
	id         string // client_id
	name       string // for messages: "app invoice-bot", "machine worker-1"
	org        tenancy.Organization
	subjectKey string
	subType    string
	scopes     []string // what client_credentials may grant
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
}

// token serves POST …/connect/token. Every field may arrive empty (the official CLI sends
// all of them); empty means absent.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	allowLoopbackCORS(w, r)
	if oe := s.tokenGrant(w, r); oe != nil {
		writeOAuthError(w, oe)
	}
}

func (s *Service) tokenGrant(w http.ResponseWriter, r *http.Request) *oauthError {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return oauthErr("invalid_request", "the token endpoint takes a form body (Content-Type: application/x-www-form-urlencoded), got %q", r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil {
		return oauthErr("invalid_request", "the form body could not be read: %s", formError(err))
	}
	iss, pathOrg, oe := s.issuer(r)
	if oe != nil {
		return oe
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
		return s.clientCredentials(w, r, iss, pathOrg)
	case "":
		return oauthErr("invalid_request", "grant_type is missing: use client_credentials, authorization_code or refresh_token")
	case "authorization_code":
		return s.authorizationCode(w, r, tokenEndpoint{iss: iss, org: pathOrg})
	case "refresh_token":
		return s.refreshToken(w, r, tokenEndpoint{iss: iss, org: pathOrg})
	case deviceGrantType:
		return s.deviceCodeGrant(w, r, iss)
	default:
		return oauthErr("unsupported_grant_type", "grant_type %q is unknown; this server supports client_credentials, authorization_code, refresh_token and %s", grant, deviceGrantType)
	}
}

func formError(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "it is larger than the limit"
	}
	return "it is not valid application/x-www-form-urlencoded"
}

func (s *Service) clientCredentials(w http.ResponseWriter, r *http.Request, iss string, pathOrg *tenancy.Organization) *oauthError {
	c, oe := s.authenticateClient(r, pathOrg)
	if oe != nil {
		return oe
	}
	scopes, oe := grantClientScopes(c.name, c.scopes, r.PostForm.Get("scope"))
	if oe != nil {
		s.event(r, c.org.ID, "token.refused", c.id, c.subjectKey, oe.Description)
		return oe
	}
	scope := strings.Join(scopes, " ")
	token, _, err := s.keys.Issue(Claims{Issuer: iss, Subject: c.subjectKey, SubType: c.subType, ClientID: c.id,
		OrgKey: c.org.Key, Scope: scope}, s.accessTTL)
	if err != nil {
		return s.internal(r, err)
	}
	writeTokenJSON(w, tokenResponse{AccessToken: token, ExpiresIn: int(s.accessTTL / time.Second), TokenType: "Bearer", Scope: scope})
	return nil
}

// clientCredentialsOf reads the client's id and secret from HTTP Basic (RFC 6749 §2.3.1:
// both form-encoded) or from the form; both at once must agree.
func clientCredentialsOf(r *http.Request) (id, secretValue string, basic bool, oe *oauthError) {
	formID, formSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		bu, err1 := url.QueryUnescape(u)
		bp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return "", "", true, oauthErr("invalid_request", "the Authorization header's client id or secret is not form-encoded correctly")
		}
		if formID != "" && formID != bu {
			return "", "", true, oauthErr("invalid_request", "client_id %q in the form disagrees with %q in the Authorization header", formID, bu)
		}
		if formSecret != "" {
			return "", "", true, oauthErr("invalid_request", "send the client secret in the Authorization header or in the form, not both")
		}
		return bu, bp, true, nil
	}
	return formID, formSecret, false, nil
}

// authenticateClient finds the client and checks its secret, refusing with the exact
// reason. Repeated failures for a client id or from an address are slowed down.
func (s *Service) authenticateClient(r *http.Request, pathOrg *tenancy.Organization) (client, *oauthError) {
	id, secretValue, basic, oe := clientCredentialsOf(r)
	if oe != nil {
		return client{}, oe
	}
	if id == "" {
		return client{}, oauthErr("invalid_request", "client_id is missing; send it in the form or with HTTP Basic authentication")
	}
	ip := server.ClientIP(r)
	if oe := s.blockedErr(id, ip); oe != nil {
		return client{}, oe
	}
	c, hash, oe := s.lookupClient(r, id)
	if oe == nil {
		// The organization is checked after the secret, so that only the client's owner
		// learns which organization it belongs to. Built-in clients serve every one.
		switch {
		case hash == "":
			oe = oauthErr("unauthorized_client", "%s is a public client (it has no secret) and cannot use client_credentials; public clients sign users in with authorization_code and PKCE", c.name)
		case secretValue == "":
			oe = oauthErr("invalid_client", "client_secret is missing for %s", c.name)
		case !secret.TokenMatches(secretValue, hash):
			oe = oauthErr("invalid_client", "client_secret is wrong for %s (if it was regenerated, use the new one)", c.name)
		case pathOrg != nil && c.org.ID != 0 && c.org.ID != pathOrg.ID:
			oe = oauthErr("invalid_client", "client %s belongs to organization %s, not %s; use %s/%s/identity_/connect/token or %s/identity_/connect/token",
				id, c.org.Name, pathOrg.Name, s.public, c.org.Name, s.public)
		}
	}
	if oe != nil {
		if oe.Code == "invalid_client" {
			s.failed(id, ip)
		}
		s.event(r, c.org.ID, "token.refused", id, c.subjectKey, oe.Description)
		oe.basicAuth = basic
		return client{}, oe
	}
	return c, nil
}

// Failed client authentications are counted per client and address, so that nobody can
// lock a client out from elsewhere, and per address, so that one address cannot try many
// clients.
func (s *Service) failed(id string, ip netip.Addr) {
	s.fails.fail(id + "\x00" + ip.String())
	s.fails.fail(ip.String())
}

// blockedErr refuses a client that failed too often from this address, saying how long
// to wait.
func (s *Service) blockedErr(id string, ip netip.Addr) *oauthError {
	wait := max(s.fails.blocked(id+"\x00"+ip.String()), s.fails.blocked(ip.String()))
	if wait <= 0 {
		return nil
	}
	oe := oauthErr("invalid_client", "too many failed attempts for client %s from your address; try again in %ds", id, int(wait.Seconds()+0.999))
	oe.status, oe.retryAfter = http.StatusTooManyRequests, wait
	return oe
}

// lookupClient finds an app or machine by client id, with its secret hash, through the
// node's client cache (see clientCache).
func (s *Service) lookupClient(r *http.Request, id string) (client, string, *oauthError) {
	if c, hash, ok := s.clients.get(id, s.deny); ok {
		return c, hash, nil
	}
	// The entry is dated from before the read: a revocation made while the read was under
	// way (a secret regenerated) is then newer than the entry and evicts it.
	loadedFrom := s.now()
	c, hash, oe := s.loadClient(r, id)
	if oe == nil {
		s.clients.put(id, c, hash, loadedFrom)
	}
	return c, hash, oe
}

// loadClient reads an app or machine, and its organization, from the store.
func (s *Service) loadClient(r *http.Request, id string) (client, string, *oauthError) {
	ctx := r.Context()
	app, err := s.st.AppGetByClientID(ctx, id)
	if err == nil {
		c := client{id: id, name: "app " + app.Name, subjectKey: app.Key, subType: SubClient, scopes: app.AppScopes}
		if app.OrgID != 0 {
			if c.org, err = s.st.OrganizationGet(ctx, app.OrgID); err != nil {
				return client{}, "", s.internal(r, err)
			}
		}
		return c, app.SecretHash, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return client{}, "", s.internal(r, err)
	}
	m, err := s.st.MachineGetByClientID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return client{}, "", oauthErr("invalid_client", "client_id %q is not known on this server: check it against the external application or machine it belongs to", id)
	}
	if err != nil {
		return client{}, "", s.internal(r, err)
	}
	t, err := s.st.TenantGetByID(ctx, m.TenantID)
	if err != nil {
		return client{}, "", s.internal(r, err)
	}
	org, err := s.st.OrganizationGet(ctx, t.OrgID)
	if err != nil {
		return client{}, "", s.internal(r, err)
	}
	return client{id: id, name: "machine " + m.Name, org: org, subjectKey: m.Key, subType: SubRobot, scopes: RobotScopes}, m.SecretHash, nil
}

// tokenPreflight answers CORS preflights to the token, revocation and userinfo endpoints
// from loopback origins
// (SDKs exchange codes from a page on http://localhost:PORT).
func (s *Service) tokenPreflight(w http.ResponseWriter, r *http.Request) {
	if !allowLoopbackCORS(w, r) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// allowLoopbackCORS allows the request's Origin when it is a loopback http origin.
func allowLoopbackCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if !isLoopbackOrigin(origin) {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return true
}

func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" && u.Path != "/" {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
