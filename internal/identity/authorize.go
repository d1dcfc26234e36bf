package identity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

const authCodeTTL = 5 * time.Minute

// authEndpoint is where a sign-in runs: the issuer of its codes and the addresses of its
// steps. The identity bases (/identity_ and /{org}/identity_) have /connect/authorize, then
// the forms post to /account/login and /connect/consent; the seed-era /authorize takes its
// forms back at POST /authorize.
type authEndpoint struct {
	iss       string
	org       *tenancy.Organization // named by the path; nil when the path names none
	authorize string                // the authorize URL, without query
	login     string                // where the login form posts
	consent   string                // where the consent form posts
	device    bool                  // device sign-ins may post their login form here
}

// endpointOf is the authorize endpoint of the identity base a request came to; an unknown
// organization is an error for the caller to show.
func (s *Service) endpointOf(r *http.Request) (authEndpoint, *oauthError) {
	iss, org, oe := s.issuer(r)
	if oe != nil {
		return authEndpoint{}, oe
	}
	return authEndpoint{iss: iss, org: org, authorize: iss + "/connect/authorize", login: iss + "/account/login",
		consent: iss + "/connect/consent", device: true}, nil
}

// orgName is the name of the organization of the path, "" when there is none.
func (ep authEndpoint) orgName() string {
	if ep.org == nil {
		return ""
	}
	return ep.org.Name
}

// authRequest is a validated authorize request.
type authRequest struct {
	query       url.Values // as received: carried through the login and consent forms
	app         tenancy.App
	redirectURI string // where to send the answer
	sentURI     string // redirect_uri as sent ("" when omitted): the token request must match it
	scopes      []string
	state       string
	nonce       string
	challenge   string
	method      string
	orgHint     string // from the path or acr_values=tenantName:{org}
}

// clientLabel names the app on pages.
func (a *authRequest) clientLabel() string {
	if a.app.Name != "" {
		return a.app.Name
	}
	return a.app.ClientID
}

// parseAuthorize checks a request in two stages (RFC 6749 §4.1.2.1): a bad client or
// redirect URI is shown to the person, never redirected to; everything else is answered at
// the redirect URI.
func (s *Service) parseAuthorize(ctx context.Context, q url.Values, pathOrg string) (req *authRequest, page string, redirectErr *oauthError) {
	req = &authRequest{query: q, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), orgHint: pathOrg}
	id := q.Get("client_id")
	if id == "" {
		return nil, "client_id is missing from the sign-in link.", nil
	}
	app, err := s.st.AppGetByClientID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "The application " + id + " is not known on this server (client_id " + id + ").", nil
	}
	if err != nil {
		return nil, "The server could not look up the application; try again.", nil
	}
	req.app = app
	req.sentURI = q.Get("redirect_uri")
	switch {
	case req.sentURI != "":
		if !s.redirectAllowed(app, req.sentURI) {
			return nil, "redirect_uri " + req.sentURI + " is not registered for " + req.clientLabel() + ". Registered: " + s.registeredList(app) + ".", nil
		}
		req.redirectURI = req.sentURI
	case len(app.RedirectURIs) == 1:
		req.redirectURI = app.RedirectURIs[0]
	case isSeedClient(app):
		req.redirectURI = s.mobileURL() // where the seed-era sign-in shows its code
	default:
		return nil, "redirect_uri is missing and " + req.clientLabel() + " does not have exactly one registered to fall back on.", nil
	}
	// From here on, errors go back to the client.
	if rt := q.Get("response_type"); rt != "code" {
		return req, "", oauthErr("unsupported_response_type", "response_type must be code (got %q)", rt)
	}
	switch {
	case req.method == "plain":
		return req, "", oauthErr("invalid_request", "code_challenge_method plain is not accepted: use S256")
	case req.method != "" && req.method != "S256":
		return req, "", oauthErr("invalid_request", "code_challenge_method %q is unknown: use S256", req.method)
	case req.challenge != "" && req.method == "":
		return req, "", oauthErr("invalid_request", "code_challenge_method is missing: add code_challenge_method=S256")
	case req.challenge == "" && !app.Confidential():
		return req, "", oauthErr("invalid_request", "%s is a public client: it must send code_challenge and code_challenge_method=S256 (PKCE)", req.clientLabel())
	case req.challenge != "" && (len(req.challenge) < 43 || len(req.challenge) > 128):
		return req, "", oauthErr("invalid_request", "code_challenge must be 43 to 128 characters (the base64url SHA-256 of the verifier is 43)")
	}
	scopes, oe := grantUserScopes(app, q.Get("scope"))
	if oe != nil {
		return req, "", oe
	}
	req.scopes = scopes
	if v, ok := strings.CutPrefix(q.Get("acr_values"), "tenantName:"); ok && req.orgHint == "" {
		req.orgHint = v
	}
	return req, "", nil
}

func (s *Service) registeredList(app tenancy.App) string {
	const loopback = "any loopback address (http://localhost:PORT or http://127.0.0.1:PORT)"
	if isSeedClient(app) {
		return s.mobileURL() + " (a page that shows the code) or " + loopback
	}
	if app.FirstParty {
		return loopback
	}
	if len(app.RedirectURIs) == 0 {
		return "none"
	}
	return strings.Join(app.RedirectURIs, ", ")
}

// redirectAllowed matches redirect URIs exactly, except loopback ones, which match on any
// port (RFC 8252 §7.3). First-party clients accept any loopback URI; the seed-era ones also
// {public}/mobile, the page that shows the code.
func (s *Service) redirectAllowed(app tenancy.App, uri string) bool {
	if slices.Contains(app.RedirectURIs, uri) || isSeedClient(app) && uri == s.mobileURL() {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || !isLoopbackURL(u) {
		return false
	}
	if app.FirstParty {
		return true
	}
	for _, reg := range app.RedirectURIs {
		ru, err := url.Parse(reg)
		if err == nil && isLoopbackURL(ru) && ru.Hostname() == u.Hostname() && ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func isLoopbackURL(u *url.URL) bool {
	if u.Scheme != "http" || u.Fragment != "" || u.User != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "[::1]", "::1":
		return true
	}
	return false
}

// grantUserScopes decides the scopes of a user sign-in: openid, profile, email and
// offline_access always; OR scopes registered as the app's user scopes (broad ones cover
// .Read and .Write); first-party clients may ask any OR scope and their tokens carry
// OrchestratorApiUserAccess, which stands for every OR scope (roles still apply).
func grantUserScopes(app tenancy.App, requested string) ([]string, *oauthError) {
	want := strings.Fields(requested)
	if len(want) == 0 {
		want = slices.Clone(app.UserScopes)
	}
	var out []string
	for _, sc := range want {
		ok := slices.Contains(userOnlyScopes, sc) || scopeAllowed(app.UserScopes, sc) ||
			app.FirstParty && (strings.HasPrefix(sc, "OR.") || sc == "OrchestratorApiUserAccess")
		if !ok {
			return nil, oauthErr("invalid_scope", "scope %s is not registered as a user scope for app %s (registered: %s)",
				sc, app.Name, strings.Join(app.UserScopes, " "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if app.FirstParty && !slices.Contains(out, "OrchestratorApiUserAccess") {
		out = append(out, "OrchestratorApiUserAccess")
	}
	return out, nil
}

// redirectWith sends the browser back to the client with params (and state).
func redirectWith(w http.ResponseWriter, r *http.Request, req *authRequest, params url.Values) {
	u, err := url.Parse(req.redirectURI)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, oe *oauthError) {
	redirectWith(w, r, req, url.Values{"error": {oe.Code}, "error_description": {oe.Description}})
}

// authorize serves GET …/connect/authorize.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request) {
	ep, oe := s.endpointOf(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Sign-in link not valid", oe.Description, "")
		return
	}
	s.startAuthorize(w, r, ep)
}

// startAuthorize checks an authorize request that came to ep and moves it on.
func (s *Service) startAuthorize(w http.ResponseWriter, r *http.Request, ep authEndpoint) {
	req, page, oe := s.parseAuthorize(r.Context(), r.URL.Query(), ep.orgName())
	if page != "" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in link not valid", page, "Ask the application's owner to fix the link.")
		return
	}
	if oe != nil {
		redirectError(w, r, req, oe)
		return
	}
	s.continueAuthorize(w, r, ep, req, "")
}

// continueAuthorize moves a valid request on: sign in, then consent, then the code.
func (s *Service) continueAuthorize(w http.ResponseWriter, r *http.Request, ep authEndpoint, req *authRequest, decision string) {
	ctx := r.Context()
	org, oe := s.requestOrg(ctx, req)
	if oe != nil {
		redirectError(w, r, req, oe)
		return
	}
	sess, user, ok := s.currentSession(r)
	if !ok || (org != nil && sess.OrgID != org.ID) {
		s.showLogin(w, r, authorizeTarget(ep, req, org), pageData{}, http.StatusOK)
		return
	}
	if req.app.OrgID != 0 && req.app.OrgID != sess.OrgID {
		redirectError(w, r, req, oauthErr("access_denied", "app %s belongs to another organization than the one you signed in to", req.clientLabel()))
		return
	}
	orgRow, err := s.st.OrganizationGet(ctx, sess.OrgID)
	if err != nil {
		redirectError(w, r, req, s.internal(r, err))
		return
	}
	if !req.app.FirstParty && decision == "" {
		s.render(w, r, http.StatusOK, "consent.html", pageData{Title: "Allow access", Action: ep.consent,
			CSRF: s.csrfToken(w, r), Request: req.query.Encode(), ClientName: req.clientLabel(), UserEmail: user.Email,
			OrgName: orgRow.DisplayName, Scopes: describeScopes(req.scopes)})
		return
	}
	if decision == "deny" {
		s.event(r, sess.OrgID, "consent.denied", req.app.ClientID, user.Key, strings.Join(req.scopes, " "))
		redirectError(w, r, req, oauthErr("access_denied", "%s denied access", user.Email))
		return
	}
	code := secret.NewToken("oo_ac_")
	now := s.now()
	err = s.st.AuthCodeCreate(ctx, store.AuthCode{CodeHash: secret.HashToken(code), OrgID: sess.OrgID, UserID: user.ID,
		ClientID: req.app.ClientID, RedirectURI: req.sentURI, Scope: strings.Join(req.scopes, " "),
		CodeChallenge: req.challenge, CodeChallengeMethod: req.method, Nonce: req.nonce,
		Family: secret.NewToken("")[:22], Issuer: ep.iss, CreatedAt: now, ExpiresAt: now.Add(authCodeTTL)})
	if err != nil {
		redirectError(w, r, req, s.internal(r, err))
		return
	}
	redirectWith(w, r, req, url.Values{"code": {code}})
}

// requestOrg finds the organization a sign-in is for: named by the path or acr_values, or
// the app's own. nil means the person chooses on the login page.
func (s *Service) requestOrg(ctx context.Context, req *authRequest) (*tenancy.Organization, *oauthError) {
	var org *tenancy.Organization
	if req.orgHint != "" {
		o, err := s.st.OrganizationGetByName(ctx, req.orgHint)
		if err != nil {
			return nil, oauthErr("invalid_request", "organization %q does not exist on this server", req.orgHint)
		}
		org = &o
	}
	if req.app.OrgID != 0 {
		if org != nil && org.ID != req.app.OrgID {
			return nil, oauthErr("unauthorized_client", "app %s does not belong to organization %s", req.clientLabel(), org.Name)
		}
		o, err := s.st.OrganizationGet(ctx, req.app.OrgID)
		if err != nil {
			return nil, oauthErr("server_error", "the app's organization could not be read")
		}
		org = &o
	}
	return org, nil
}

// describeScopes turns scopes into words for the consent page.
func describeScopes(scopes []string) []string {
	words := map[string]string{
		"openid":                    "confirm who you are",
		"profile":                   "see your name",
		"email":                     "see your email address",
		"offline_access":            "stay signed in and act for you while you are away (a refresh token)",
		"OrchestratorApiUserAccess": "use the Orchestrator API as you, with your roles",
	}
	areas := map[string]string{"OR.Jobs": "jobs", "OR.Queues": "queues and queue items", "OR.Folders": "folders",
		"OR.Execution": "processes and packages", "OR.Assets": "assets", "OR.Robots": "robots and sessions",
		"OR.Machines": "machines", "OR.Monitoring": "robot logs", "OR.Users": "users and roles", "OR.Settings": "settings",
		"OR.License": "the license", "OR.Audit": "the audit log", "OR.Webhooks": "webhooks", "OR.Administration": "administration"}
	var out []string
	for _, sc := range scopes {
		if w, ok := words[sc]; ok {
			out = append(out, w+" ("+sc+")")
			continue
		}
		base, mode := sc, "read and change"
		if b, ok := strings.CutSuffix(sc, ".Read"); ok {
			base, mode = b, "read"
		} else if b, ok := strings.CutSuffix(sc, ".Write"); ok {
			base, mode = b, "change"
		}
		if area, ok := areas[base]; ok {
			out = append(out, mode+" "+area+" in the folders you can use ("+sc+")")
		} else {
			out = append(out, sc)
		}
	}
	return out
}
