package identity

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The identity administration APIs (DESIGN §3):
//
//	/{org}/identity_/api/ExternalApplications   the organization's apps (organization administrators)
//	/{org}/identity_/api/PersonalAccessTokens   the caller's own personal access tokens
//	/{org}/identity_/api/UserKeys               the caller's own user keys (API access)
//
// Callers authenticate with a user's access token carrying IdentityServerApi or
// OrchestratorApiUserAccess, a personal access token carrying OrchestratorApiUserAccess, or
// the identity pages' session cookie (unsafe methods then also need X-CSRF-Token equal to
// the oo_csrf cookie). Errors are the Orchestrator shape {"message","errorCode","traceId"}.

// Orchestrator error codes of the admin APIs (DESIGN §5).
const (
	adminCodeNone      = 0
	adminCodeInvalid   = 1000
	adminCodeNotFound  = 1002
	adminCodeDuplicate = 1016
)

// Scopes that let a user's token use the admin APIs.
const (
	scopeIdentityAPI = "IdentityServerApi"
	scopeUserAccess  = "OrchestratorApiUserAccess"
)

// clientSecretPrefix starts every generated client secret.
const clientSecretPrefix = "oo_cs_"

// revokeClientFor is how long a client revocation must be kept: the longest life of a token
// issued to a client (24 h, user-key tokens) and a margin.
const revokeClientFor = 25 * time.Hour

// AdminRoute is one operation of the identity administration APIs (for the OpenAPI
// document, which lists them beside the Orchestrator API's).
type AdminRoute struct {
	Method   string
	Path     string
	OrgAdmin bool // organization administrators only; otherwise any user, for their own
	Summary  string
	handle   func(*Service, http.ResponseWriter, *http.Request, adminCaller) error
}

const (
	appsPath = "/{org}/identity_/api/ExternalApplications"
	patsPath = "/{org}/identity_/api/PersonalAccessTokens"
)

var adminRoutes = []AdminRoute{
	{"GET", appsPath, true, "List the organization's external applications.", (*Service).appList},
	{"POST", appsPath, true, "Create an external application; its secret is shown once.", (*Service).appCreate},
	{"GET", appsPath + "/{id}", true, "Read an external application (by Id or client id).", (*Service).appGet},
	{"PUT", appsPath + "/{id}", true, "Replace an application's name, scopes and redirect URIs.", (*Service).appPut},
	{"PATCH", appsPath + "/{id}", true, "Change some of an application's name, scopes and redirect URIs.", (*Service).appPatch},
	{"DELETE", appsPath + "/{id}", true, "Delete an application; its tokens stop working on every node.", (*Service).appDelete},
	{"POST", appsPath + "/{id}/secret", true, "Regenerate an application's secret; the old one and its tokens stop at once.", (*Service).appRegenerateSecret},
	{"GET", patsPath, false, "List your personal access tokens.", (*Service).patList},
	{"POST", patsPath, false, "Create a personal access token; it is shown once.", (*Service).patCreate},
	{"GET", patsPath + "/{id}", false, "Read one of your personal access tokens.", (*Service).patGet},
	{"DELETE", patsPath + "/{id}", false, "Revoke one of your personal access tokens.", (*Service).patRevoke},
	{"GET", userKeysPath, false, "List your user keys (API access).", (*Service).userKeyList},
	{"POST", userKeysPath, false, "Create a user key; it is shown once. /oauth/token exchanges it for 24-hour access tokens until it is revoked.", (*Service).userKeyCreate},
	{"GET", userKeysPath + "/{id}", false, "Read one of your user keys.", (*Service).userKeyGet},
	{"DELETE", userKeysPath + "/{id}", false, "Revoke one of your user keys; the access tokens obtained with it stop on every node.", (*Service).userKeyRevoke},
}

// AdminRoutes lists the administration APIs.
func AdminRoutes() []AdminRoute { return slices.Clone(adminRoutes) }

// mountAdmin adds the administration APIs.
func (s *Service) mountAdmin(m Mux) {
	for _, rt := range adminRoutes {
		h := rt.handle
		m.HandleFunc(rt.Method+" "+rt.Path, s.adminHandler(rt.OrgAdmin, func(w http.ResponseWriter, r *http.Request, c adminCaller) error {
			return h(s, w, r, c)
		}))
	}
}

// adminCaller is the authenticated caller of an admin API.
type adminCaller struct {
	user tenancy.User
	org  tenancy.Organization
	via  string // "access token", "personal access token" or "session"
}

// adminError is a refusal of an admin API request with its status, code and message.
type adminError struct {
	status int
	code   int
	msg    string
}

func (e *adminError) Error() string { return e.msg }

func adminBad(format string, args ...any) *adminError {
	return &adminError{status: http.StatusBadRequest, code: adminCodeInvalid, msg: fmt.Sprintf(format, args...)}
}

func adminForbidden(format string, args ...any) *adminError {
	return &adminError{status: http.StatusForbidden, code: adminCodeNone, msg: fmt.Sprintf(format, args...)}
}

func adminNotFound(format string, args ...any) *adminError {
	return &adminError{status: http.StatusNotFound, code: adminCodeNotFound, msg: fmt.Sprintf(format, args...)}
}

// adminUnauthorized is a 401; writeAdminError adds the WWW-Authenticate challenge.
func adminUnauthorized(format string, args ...any) *adminError {
	return &adminError{status: http.StatusUnauthorized, code: adminCodeNone, msg: fmt.Sprintf(format, args...)}
}

// adminHandler authenticates the caller (and, for adminOnly, requires an organization
// administrator) before h; h's error is written in the Orchestrator shape.
func (s *Service) adminHandler(adminOnly bool, h func(http.ResponseWriter, *http.Request, adminCaller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := s.adminAuth(r)
		if err == nil && adminOnly && !c.user.OrgAdmin {
			err = adminForbidden("this API is for organization administrators, and %s is not an organization administrator of %s",
				c.user.Email, c.org.Name)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeAdminError(w, r, err)
		}
	}
}

// adminAuth authenticates the caller of an admin API (Bearer access token or PAT, else the
// session cookie) and checks that it belongs to the organization of the path.
func (s *Service) adminAuth(r *http.Request) (adminCaller, error) {
	ctx := r.Context()
	var c adminCaller
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, raw, _ := strings.Cut(strings.TrimSpace(h), " ")
		raw = strings.TrimSpace(raw)
		if !strings.EqualFold(scheme, "Bearer") || raw == "" {
			return c, adminUnauthorized("the Authorization header is malformed: send \"Authorization: Bearer <token>\" with a user access token or a personal access token (got scheme %q)", scheme)
		}
		claims, user, err := s.verifyBearer(ctx, raw)
		if err != nil {
			return c, err
		}
		isPAT := user != nil
		c.via = "access token"
		if isPAT {
			c.via = "personal access token"
		}
		if claims.SubType != SubUser {
			return c, adminForbidden("the %s belongs to a %s (client %s), not a user: the identity administration APIs act for a user; use a user's access token, a personal access token or a signed-in session",
				c.via, claims.SubType, claims.ClientID)
		}
		scopes := claims.Scopes()
		if !slices.Contains(scopes, scopeIdentityAPI) && !slices.Contains(scopes, scopeUserAccess) {
			if isPAT {
				return c, adminForbidden("the personal access token lacks scope %s, which the identity administration APIs need (it has: %s)",
					scopeUserAccess, claims.Scope)
			}
			return c, adminForbidden("the access token lacks scope %s (or %s), which the identity administration APIs need (it has: %s)",
				scopeIdentityAPI, scopeUserAccess, claims.Scope)
		}
		if isPAT {
			c.user = *user
			org, err := s.patOrganization(ctx, user.OrgID, s.now())
			if err != nil {
				return c, err
			}
			c.org = org
		} else {
			if claims.OrgKey == "" {
				return c, adminForbidden("the access token names no organization (claim prt_id); get one from %s/{organization}/identity_", s.public)
			}
			org, err := s.st.OrganizationGetByName(ctx, claims.OrgKey)
			if errors.Is(err, store.ErrNotFound) {
				return c, adminUnauthorized("the organization of the access token (%s) no longer exists", claims.OrgKey)
			}
			if err != nil {
				return c, err
			}
			c.org = org
			if c.user, err = s.userByKey(r, org.ID, claims.Subject); err != nil {
				return c, err
			}
		}
	} else if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		_, u, ok := s.currentSession(r)
		if !ok {
			return c, adminUnauthorized("the sign-in session has expired or was ended (or its user is disabled): sign in again, or send \"Authorization: Bearer <token>\"")
		}
		if unsafeMethod(r.Method) && !csrfHeaderOK(r) {
			return c, adminForbidden("a session-authenticated %s needs header X-CSRF-Token equal to the oo_csrf cookie; it is missing or does not match", r.Method)
		}
		org, err := s.st.OrganizationGet(ctx, u.OrgID)
		if err != nil {
			return c, err
		}
		c.user, c.org, c.via = u, org, "session"
	} else {
		return c, adminUnauthorized("no Authorization header: send \"Authorization: Bearer <token>\" with a user access token (scope %s) or a personal access token", scopeIdentityAPI)
	}
	if name := r.PathValue("org"); !strings.EqualFold(name, c.org.Name) && !strings.EqualFold(name, c.org.Key) {
		return c, adminForbidden("wrong organization: %s belongs to organization %s, not %s; use /%s/identity_/api/…",
			c.user.Email, c.org.Name, name, c.org.Name)
	}
	return c, nil
}

// userByKey finds an enabled user of an organization by Key (the sub of their tokens).
func (s *Service) userByKey(r *http.Request, orgID int64, key string) (tenancy.User, error) {
	u, err := s.st.UserGetByKey(r.Context(), orgID, key)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return tenancy.User{}, adminUnauthorized("the user of the access token (%s) no longer exists or is disabled", key)
	}
	return u, err
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// csrfHeaderOK checks X-CSRF-Token against the oo_csrf cookie (double submit).
func csrfHeaderOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.Header.Get("X-CSRF-Token"))) == 1
}

// writeAdminError writes err in the Orchestrator shape: refusals as they are, store
// sentinels as 404 and 409, anything else as a 500 that shows only the trace id.
func (s *Service) writeAdminError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *adminError
	var te *TokenError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &te):
		ae = adminUnauthorized("%s", te.Reason)
	case errors.Is(err, store.ErrNotFound):
		ae = adminNotFound("%s", err.Error())
	case errors.Is(err, store.ErrConflict):
		ae = &adminError{status: http.StatusConflict, code: adminCodeDuplicate, msg: err.Error()}
	default:
		server.Logger(r.Context()).Error("identity: internal error", "err", err)
		ae = &adminError{status: http.StatusInternalServerError, code: adminCodeNone,
			msg: "An internal error occurred. Quote the trace id when reporting it."}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+challengeQuote(ae.msg)+`"`)
	}
	server.WriteError(w, r, ae.status, ae.code, ae.msg)
}

// challengeQuote makes s safe inside a quoted-string of WWW-Authenticate.
func challengeQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// decodeAdminJSON reads a JSON object into v. Keys match case-insensitively; unknown keys
// are refused, so that a misspelt field is not silently ignored.
func decodeAdminJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return &adminError{status: http.StatusUnsupportedMediaType, code: adminCodeInvalid,
				msg: fmt.Sprintf("the body must be JSON (Content-Type: application/json), got %q", ct)}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return adminBad("the body has more than one JSON value; send one object")
	}
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return adminBad("the body is empty: send a JSON object")
	case errors.As(err, &mbe):
		return &adminError{status: http.StatusRequestEntityTooLarge, code: adminCodeInvalid, msg: "the body is larger than the limit"}
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return adminBad("the body is not valid JSON: %s", err.Error())
	case errors.As(err, &te):
		if te.Field == "" {
			return adminBad("the body must be a JSON object, not %s", te.Value)
		}
		return adminBad("field %s must be %s, not %s", te.Field, jsonTypeName(te.Type.String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return adminBad("the body has field %s, which this request does not take", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return adminBad("the body could not be read as this request's JSON: %s", err.Error())
	}
}

func jsonTypeName(goType string) string {
	switch strings.TrimLeft(goType, "*") {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64":
		return "a whole number"
	case "[]string":
		return "a list of strings"
	}
	return goType
}

// ---- external applications

// appView is an app as the API shows it; it never carries the secret's hash.
type appView struct {
	ID           int64     `json:"id"`
	Key          string    `json:"key"`
	Name         string    `json:"name"`
	ClientID     string    `json:"clientId"`
	Confidential bool      `json:"confidential"`
	AppScopes    []string  `json:"appScopes"`
	UserScopes   []string  `json:"userScopes"`
	RedirectURIs []string  `json:"redirectUris"`
	CreatedAt    time.Time `json:"createdAt"`
	// ClientSecret is shown once: in the answer to create and to regenerate.
	ClientSecret string `json:"clientSecret,omitempty"`
}

func viewApp(a tenancy.App) appView {
	return appView{ID: a.ID, Key: a.Key, Name: a.Name, ClientID: a.ClientID, Confidential: a.Confidential(),
		AppScopes: nonNil(a.AppScopes), UserScopes: nonNil(a.UserScopes), RedirectURIs: nonNil(a.RedirectURIs),
		CreatedAt: a.CreatedAt.UTC()}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// appRequest is the body of create, PUT and PATCH.
type appRequest struct {
	Name         *string   `json:"name"`
	Confidential *bool     `json:"confidential"`
	AppScopes    *[]string `json:"appScopes"`
	UserScopes   *[]string `json:"userScopes"`
	RedirectURIs *[]string `json:"redirectUris"`
}

// orScope is the form of Orchestrator scopes: OR.Area, OR.Area.Read, OR.Area.Write.
var orScope = regexp.MustCompile(`^OR\.[A-Za-z][A-Za-z0-9]*(\.(Read|Write))?$`)

// Scopes an app may register besides OR.* ones, for user flows.
var userScopeNames = []string{"openid", "profile", "email", "offline_access", scopeUserAccess, scopeIdentityAPI}

// checkScopes validates a scope list and drops duplicates. User scopes may also name the
// user-flow scopes; application scopes are OR.* only.
func checkScopes(field string, list []string, user bool) ([]string, error) {
	out := []string{}
	for i, sc := range list {
		switch {
		case sc == "":
			return nil, adminBad("%s[%d] is empty; scopes are names such as OR.Jobs", field, i)
		case strings.IndexFunc(sc, unicode.IsSpace) >= 0:
			return nil, adminBad("%s[%d] %q contains white space; give each scope as its own list item", field, i, sc)
		case orScope.MatchString(sc):
		case user && slices.Contains(userScopeNames, sc):
		case user:
			return nil, adminBad("%s[%d] %q is not a known scope: use OR.Area, OR.Area.Read or OR.Area.Write (e.g. OR.Jobs), or one of %s",
				field, i, sc, strings.Join(userScopeNames, ", "))
		default:
			return nil, adminBad("%s[%d] %q is not an application scope: application scopes are OR.Area, OR.Area.Read or OR.Area.Write (e.g. OR.Jobs)",
				field, i, sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkRedirectURIs validates redirect URIs: absolute, without a fragment; http(s) ones
// need a host.
func checkRedirectURIs(list []string) ([]string, error) {
	out := []string{}
	for i, s := range list {
		u, err := url.Parse(s)
		switch {
		case s == "":
			return nil, adminBad("redirectUris[%d] is empty", i)
		case strings.IndexFunc(s, unicode.IsSpace) >= 0:
			return nil, adminBad("redirectUris[%d] %q contains white space", i, s)
		case err != nil || !u.IsAbs():
			return nil, adminBad("redirectUris[%d] %q is not an absolute URL: it needs a scheme, e.g. https://app.example.com/callback or http://localhost:8080/callback", i, s)
		case strings.Contains(s, "#"):
			return nil, adminBad("redirectUris[%d] %q has a fragment (#…), which redirect URIs may not have", i, s)
		case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
			return nil, adminBad("redirectUris[%d] %q has no host", i, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func checkName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", adminBad("name is missing: give the %s a name", what)
	case n > 100:
		return "", adminBad("name is %d characters long; at most 100 are allowed", n)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", adminBad("name contains control characters")
	}
	return name, nil
}

// applyAppRequest applies a request to an app: all fields for create and PUT (full),
// the present ones for PATCH.
func applyAppRequest(a tenancy.App, req appRequest, full bool) (tenancy.App, error) {
	if req.Name != nil || full {
		var name string
		if req.Name != nil {
			name = *req.Name
		}
		n, err := checkName("app", name)
		if err != nil {
			return a, err
		}
		a.Name = n
	}
	if req.Confidential != nil && a.ID != 0 && *req.Confidential != a.Confidential() {
		return a, adminBad("confidential cannot change (app %s is %s); create a new app instead", a.Name, map[bool]string{true: "confidential", false: "public"}[a.Confidential()])
	}
	var err error
	if req.AppScopes != nil || full {
		var l []string
		if req.AppScopes != nil {
			l = *req.AppScopes
		}
		if a.AppScopes, err = checkScopes("appScopes", l, false); err != nil {
			return a, err
		}
	}
	if req.UserScopes != nil || full {
		var l []string
		if req.UserScopes != nil {
			l = *req.UserScopes
		}
		if a.UserScopes, err = checkScopes("userScopes", l, true); err != nil {
			return a, err
		}
	}
	if req.RedirectURIs != nil || full {
		var l []string
		if req.RedirectURIs != nil {
			l = *req.RedirectURIs
		}
		if a.RedirectURIs, err = checkRedirectURIs(l); err != nil {
			return a, err
		}
	}
	if !a.Confidential() && len(a.AppScopes) > 0 {
		return a, adminBad("app %s is public (no secret), so it cannot have application scopes (client_credentials needs a secret); register them as userScopes, or make the app confidential", a.Name)
	}
	return a, nil
}

func (s *Service) appList(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	apps, err := s.st.AppList(r.Context(), c.org.ID)
	if err != nil {
		return err
	}
	out := make([]appView, 0, len(apps))
	for _, a := range apps {
		out = append(out, viewApp(a))
	}
	server.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) appCreate(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	var req appRequest
	if err := decodeAdminJSON(r, &req); err != nil {
		return err
	}
	confidential := req.Confidential == nil || *req.Confidential
	sec := ""
	a := tenancy.App{OrgID: c.org.ID, ClientID: uuid.NewString()}
	if confidential {
		sec = secret.NewToken(clientSecretPrefix)
		a.SecretHash = secret.HashToken(sec)
	}
	a, err := applyAppRequest(a, req, true)
	if err != nil {
		return err
	}
	name := a.Name
	a, err = s.st.AppCreate(r.Context(), store.AppCreateParams{OrgID: c.org.ID, Name: a.Name, ClientID: a.ClientID,
		SecretHash: a.SecretHash, AppScopes: a.AppScopes, UserScopes: a.UserScopes, RedirectURIs: a.RedirectURIs})
	if errors.Is(err, store.ErrConflict) {
		return &adminError{status: http.StatusConflict, code: adminCodeDuplicate,
			msg: fmt.Sprintf("an app named %q already exists in organization %s", name, c.org.Name)}
	}
	if err != nil {
		return err
	}
	s.event(r, c.org.ID, "app.created", a.ClientID, c.user.Key, fmt.Sprintf("app %q (id %d)", a.Name, a.ID))
	v := viewApp(a)
	v.ClientSecret = sec
	w.Header().Set("Location", strings.TrimRight(r.URL.Path, "/")+"/"+strconv.FormatInt(a.ID, 10))
	server.WriteJSON(w, http.StatusCreated, v)
	return nil
}

// findApp finds an app of the caller's organization by numeric id or client id.
func (s *Service) findApp(r *http.Request, c adminCaller) (tenancy.App, error) {
	id := r.PathValue("id")
	ctx := r.Context()
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
		a, err := s.st.AppGet(ctx, c.org.ID, n)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return a, err
		}
	}
	a, err := s.st.AppGetByClientID(ctx, id)
	if err == nil && a.OrgID == c.org.ID {
		return a, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	return tenancy.App{}, adminNotFound("organization %s has no app with id or client id %q", c.org.Name, id)
}

func (s *Service) appGet(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	a, err := s.findApp(r, c)
	if err != nil {
		return err
	}
	server.WriteJSON(w, http.StatusOK, viewApp(a))
	return nil
}

func (s *Service) appPut(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	return s.appUpdate(w, r, c, true)
}

func (s *Service) appPatch(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	return s.appUpdate(w, r, c, false)
}

// appUpdate serves PUT (every field; absent lists become empty) and PATCH (the fields
// present).
func (s *Service) appUpdate(w http.ResponseWriter, r *http.Request, c adminCaller, full bool) error {
	a, err := s.findApp(r, c)
	if err != nil {
		return err
	}
	var req appRequest
	if err := decodeAdminJSON(r, &req); err != nil {
		return err
	}
	var name string
	a, err = s.st.AppUpdate(r.Context(), c.org.ID, a.ID, func(old tenancy.App) (tenancy.App, error) {
		nw, err := applyAppRequest(old, req, full)
		name = nw.Name
		return nw, err
	})
	if errors.Is(err, store.ErrConflict) {
		return &adminError{status: http.StatusConflict, code: adminCodeDuplicate,
			msg: fmt.Sprintf("an app named %q already exists in organization %s", name, c.org.Name)}
	}
	if err != nil {
		return err
	}
	s.event(r, c.org.ID, "app.updated", a.ClientID, c.user.Key, fmt.Sprintf("app %q (id %d)", a.Name, a.ID))
	server.WriteJSON(w, http.StatusOK, viewApp(a))
	return nil
}

// revokeClient denies, on every node, the access tokens issued to a client so far.
func (s *Service) revokeClient(r *http.Request, clientID string) error {
	if s.deny == nil {
		return nil
	}
	return s.deny.Revoke(r.Context(), store.RevokeClient, clientID, s.now().Add(revokeClientFor))
}

// appRegenerateSecret serves POST …/{id}/secret: a new secret, shown once; the old one
// and the tokens issued with it stop working at once.
func (s *Service) appRegenerateSecret(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	a, err := s.findApp(r, c)
	if err != nil {
		return err
	}
	if !a.Confidential() {
		return adminBad("app %s is public (it has no secret); public apps sign users in with PKCE", a.Name)
	}
	sec := secret.NewToken(clientSecretPrefix)
	a, err = s.st.AppUpdate(r.Context(), c.org.ID, a.ID, func(old tenancy.App) (tenancy.App, error) {
		old.SecretHash = secret.HashToken(sec)
		return old, nil
	})
	if err != nil {
		return err
	}
	if err := s.revokeClient(r, a.ClientID); err != nil {
		return err
	}
	s.event(r, c.org.ID, "app.secret_regenerated", a.ClientID, c.user.Key, fmt.Sprintf("app %q (id %d)", a.Name, a.ID))
	v := viewApp(a)
	v.ClientSecret = sec
	server.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) appDelete(w http.ResponseWriter, r *http.Request, c adminCaller) error {
	a, err := s.findApp(r, c)
	if err != nil {
		return err
	}
	if err := s.st.AppDelete(r.Context(), c.org.ID, a.ID); err != nil {
		return err
	}
	if err := s.revokeClient(r, a.ClientID); err != nil {
		return err
	}
	s.event(r, c.org.ID, "app.deleted", a.ClientID, c.user.Key, fmt.Sprintf("app %q (id %d)", a.Name, a.ID))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
