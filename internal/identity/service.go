package identity

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// serviceStore is what the identity endpoints need of the store: most of it.
type serviceStore = store.Store

// Options configure a Service.
type Options struct {
	Store     serviceStore
	Keys      *Keys
	Deny      *DenyList
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	// AccessTokenTTL is the life of access tokens of external apps and robots (default 1h).
	AccessTokenTTL time.Duration
}

// Service serves the identity endpoints.
type Service struct {
	st        serviceStore
	keys      *Keys
	deny      *DenyList
	verifier  *Verifier
	public    string
	logger    *slog.Logger
	now       func() time.Time
	accessTTL time.Duration
	// failed token requests, per client id and per client address
	fails *failures
	// failed sign-ins on the login page
	accountFails, addressFails *failures
	// clients authenticated recently (client_credentials)
	clients *clientCache
	// pats is this node's state of PAT verification (last touches, cached organizations)
	pats patState
}

// New makes the identity service.
func New(o Options) *Service {
	s := &Service{st: o.Store, keys: o.Keys, deny: o.Deny, public: strings.TrimRight(o.PublicURL, "/"),
		logger: o.Logger, now: o.Now, accessTTL: o.AccessTokenTTL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.accessTTL <= 0 {
		s.accessTTL = time.Hour
	}
	s.verifier = NewVerifier(s.keys, s.deny, s.public)
	s.fails = newFailures(10, time.Minute, s.now)
	s.clients = newClientCache(s.now)
	s.accountFails = newFailures(loginFailuresPerAccount, loginWindow, s.now)
	s.addressFails = newFailures(loginFailuresPerAddress, loginWindow, s.now)
	return s
}

// Mux is where the service mounts its routes (server.Server).
type Mux interface {
	HandleFunc(pattern string, h http.HandlerFunc)
}

// Mount adds the identity routes, under /identity_/ and /{org}/identity_/, the seed-era
// ones at the root (/authorize, /oauth/token, …; see seed.go) and the organization's web
// pages under /{org}/portal_/ (portal.go), which sign in with the identity session.
func (s *Service) Mount(m Mux) {
	for _, base := range []string{"/identity_", "/{org}/identity_"} {
		m.HandleFunc("GET "+base+"/.well-known/openid-configuration", s.discovery)
		m.HandleFunc("GET "+base+"/.well-known/openid-configuration/jwks", s.jwks)
		m.HandleFunc("POST "+base+"/connect/token", s.token)
		m.HandleFunc("OPTIONS "+base+"/connect/token", s.tokenPreflight)
		m.HandleFunc("GET "+base+"/connect/authorize", s.authorize)
		m.HandleFunc("POST "+base+"/account/login", s.login)
		m.HandleFunc("POST "+base+"/connect/consent", s.consent)
		m.HandleFunc("GET "+base+"/connect/endsession", s.endSession)
		m.HandleFunc("POST "+base+"/connect/endsession", s.endSession)
		s.mountDevice(m, base)
		s.mountTokenAdmin(m, base)
	}
	s.mountAdmin(m)
	s.mountSeed(m)
	s.mountPortal(m)
}

// issuer returns the identity base the request came to, which is the issuer of what it
// hands out: {public}/identity_ or {public}/{org}/identity_. An unknown organization is an
// error the caller answers with.
func (s *Service) issuer(r *http.Request) (iss string, org *tenancy.Organization, err *oauthError) {
	name := r.PathValue("org")
	if name == "" {
		return s.public + "/identity_", nil, nil
	}
	o, e := s.st.OrganizationGetByName(r.Context(), name)
	if errors.Is(e, store.ErrNotFound) {
		oe := oauthErr("invalid_request", "organization %q does not exist on this server; check the first segment of the URL", name)
		oe.status = http.StatusNotFound
		return "", nil, oe
	}
	if e != nil {
		return "", nil, s.internal(r, e)
	}
	return s.public + "/" + name + "/identity_", &o, nil
}

// internal logs an unexpected error under the request's trace id and returns the error the
// client sees, which carries the trace id and nothing of the cause.
func (s *Service) internal(r *http.Request, err error) *oauthError {
	server.Logger(r.Context()).Error("identity: internal error", "err", err)
	oe := oauthErr("server_error", "an internal error occurred; quote trace id %s when reporting it", server.TraceID(r.Context()))
	oe.status = http.StatusInternalServerError
	return oe
}

// event records an identity event; failing to record one is logged, not fatal.
func (s *Service) event(r *http.Request, orgID int64, kind, clientID, subject, detail string) {
	e := store.IdentityEvent{OrgID: orgID, Kind: kind, ClientID: clientID, Subject: subject, Detail: detail}
	if ip := server.ClientIP(r); ip.IsValid() {
		e.IP = ip.String()
	}
	if err := s.st.IdentityEventAdd(r.Context(), e); err != nil {
		server.Logger(r.Context()).Warn("identity: could not record event", "kind", kind, "err", err)
	}
	if orgID == 0 {
		return // no organization whose audit log could show it (an unknown client id)
	}
	// The organization's audit log shows identity events in every tenant.
	details := detail
	if e.IP != "" {
		details = strings.TrimSpace(details + " (from " + e.IP + ")")
	}
	if err := s.st.AuditAdd(r.Context(), store.AuditEntry{OrgID: orgID, Action: kind, Component: "Identity",
		Principal: subject, ClientID: clientID, Details: details}); err != nil {
		server.Logger(r.Context()).Warn("identity: could not record audit entry", "kind", kind, "err", err)
	}
}

func (s *Service) discovery(w http.ResponseWriter, r *http.Request) {
	iss, _, oe := s.issuer(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	// Only what this server really offers is listed; more endpoints join as they exist.
	doc := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/openid-configuration/jwks",
		"token_endpoint":                        iss + "/connect/token",
		"authorization_endpoint":                iss + "/connect/authorize",
		"end_session_endpoint":                  iss + "/connect/endsession",
		"device_authorization_endpoint":         iss + "/connect/deviceauthorization",
		"revocation_endpoint":                   iss + "/connect/revocation",
		"introspection_endpoint":                iss + "/connect/introspect",
		"userinfo_endpoint":                     iss + "/connect/userinfo",
		"grant_types_supported":                 []string{"client_credentials", "authorization_code", "refresh_token", deviceGrantType},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{s.keys.Alg()},
		"scopes_supported":                      scopesSupported(),
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sub_type", "client_id", "prt_id", "scope",
			"auth_time", "nonce", "email", "name", "preferred_username"},
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	json.NewEncoder(w).Encode(doc)
}

// scopesSupported are the scopes discovery lists: the user-flow ones, then every OR area.
func scopesSupported() []string {
	out := []string{"openid", "profile", "email", "offline_access", scopeUserAccess}
	for _, a := range orAreas {
		out = append(out, "OR."+a)
	}
	return out
}

func (s *Service) jwks(w http.ResponseWriter, r *http.Request) {
	if _, _, oe := s.issuer(r); oe != nil {
		writeOAuthError(w, oe)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(s.keys.JWKS())
}
