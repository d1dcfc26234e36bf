package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// The organization's web pages (DESIGN §3, /{org}/portal_/…). For now one page, "API
// access", as the cloud service had it (seed 002): the names a script needs (organization,
// tenants, the client id of user keys), the signed-in user's user keys and personal access
// tokens, and how to use them.
//
//	GET  /{org}/identity_/account/login?ReturnUrl=…                        sign in, then back to a portal page
//	GET  /{org}/portal_/                                                   → API access
//	GET  /{org}/portal_/apiAccess                                          the page
//	POST /{org}/portal_/apiAccess/userKeys                                 create a user key
//	GET  /{org}/portal_/apiAccess/userKeys/{id}/revoke                     confirm, then
//	POST /{org}/portal_/apiAccess/userKeys/{id}/revoke                     revoke it
//	POST /{org}/portal_/apiAccess/personalAccessTokens                     create a personal access token
//	GET  /{org}/portal_/apiAccess/personalAccessTokens/{id}/revoke         confirm, then
//	POST /{org}/portal_/apiAccess/personalAccessTokens/{id}/revoke         revoke it
//
// The pages work without JavaScript: forms are plain posts checked with the identity
// pages' CSRF double submit (the oo_csrf cookie and a hidden field), and a successful post
// redirects (303) to the page. What a post made is carried to that page once, in a
// short-lived cookie sealed with the installation's secret key and bound to the session, so
// that a new key never travels in a URL and no server keeps it. The only script copies
// values to the clipboard.
//
// Creating and revoking go through the same functions as the JSON APIs (newUserKey,
// revokeUserKey, newPAT, revokePAT), so the page and the API keep the same rules and record
// the same events.

const (
	// portalOnceCookie carries what a post made (a notice, a new secret) to the page it
	// redirects to, which shows it once and clears it.
	portalOnceCookie = "oo_portal_once"
	portalOnceTTL    = 2 * time.Minute
)

// patExpiryDays are the lifetimes the page offers for personal access tokens (the API
// takes any number of days up to 365); the first is preselected.
var patExpiryDays = []int{30, 7, 90, 180, 365}

func (s *Service) mountPortal(m Mux) {
	m.HandleFunc("GET /{org}/identity_/account/login", s.portalLoginPage)
	m.HandleFunc("GET /{org}/portal_", s.portalHome)
	m.HandleFunc("GET /{org}/portal_/{$}", s.portalHome)
	m.HandleFunc("GET /{org}/portal_/apiAccess", s.apiAccessPage)
	m.HandleFunc("POST /{org}/portal_/apiAccess/userKeys", s.portalUserKeyCreate)
	m.HandleFunc("GET /{org}/portal_/apiAccess/userKeys/{id}/revoke", s.portalUserKeyConfirm)
	m.HandleFunc("POST /{org}/portal_/apiAccess/userKeys/{id}/revoke", s.portalUserKeyRevoke)
	m.HandleFunc("POST /{org}/portal_/apiAccess/personalAccessTokens", s.portalPATCreate)
	m.HandleFunc("GET /{org}/portal_/apiAccess/personalAccessTokens/{id}/revoke", s.portalPATConfirm)
	m.HandleFunc("POST /{org}/portal_/apiAccess/personalAccessTokens/{id}/revoke", s.portalPATRevoke)
}

// Addresses of the portal, always with the organization's logical name (the path may name
// it in another case, or by its Key). They are paths: the browser stays on the host it uses.
func portalRoot(org tenancy.Organization) string { return "/" + url.PathEscape(org.Name) + "/portal_/" }

func apiAccessPath(org tenancy.Organization) string { return portalRoot(org) + "apiAccess" }

func portalLoginURL(org tenancy.Organization, back string) string {
	return "/" + url.PathEscape(org.Name) + "/identity_/account/login?ReturnUrl=" + url.QueryEscape(back)
}

// portalReturn checks where a portal sign-in returns to: a page under /{org}/portal_/ of
// the organization the sign-in is for. It returns that page's path, with the organization's
// logical name, or a problem to show.
func portalReturn(org *tenancy.Organization, ret string) (next, problem string) {
	if org == nil {
		return "", "This sign-in returns to a page of an organization, so its form posts to /{organization}/identity_/account/login; it was posted elsewhere. Open the page you wanted again."
	}
	want := "a path under /" + org.Name + "/portal_/, such as " + apiAccessPath(*org)
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") ||
		strings.Contains(ret, `\`) {
		return "", fmt.Sprintf("ReturnUrl %q is not a page of this server: it must be %s.", ret, want)
	}
	segs := strings.SplitN(strings.TrimPrefix(path.Clean(u.Path), "/"), "/", 3)
	if len(segs) < 2 || !strings.EqualFold(segs[0], org.Name) && !strings.EqualFold(segs[0], org.Key) || segs[1] != "portal_" {
		return "", fmt.Sprintf("ReturnUrl %q is not a page of organization %s: it must be %s.", ret, org.Name, want)
	}
	next = portalRoot(*org)
	if len(segs) == 3 {
		next += segs[2]
	}
	return next, ""
}

func portalLoginTarget(ep authEndpoint, next string) loginTarget {
	return loginTarget{action: ep.login, org: ep.org, returnTo: next, next: next}
}

// portalLoginPage serves GET /{org}/identity_/account/login?ReturnUrl=…: the login page of
// the organization's web pages. Once signed in (or at once, when already signed in to the
// organization), the browser goes back to ReturnUrl.
func (s *Service) portalLoginPage(w http.ResponseWriter, r *http.Request) {
	ep, oe := s.endpointOf(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Sign in", oe.Description, "")
		return
	}
	ret := r.URL.Query().Get("ReturnUrl")
	if ret == "" {
		ret = apiAccessPath(*ep.org)
	}
	next, problem := portalReturn(ep.org, ret)
	if problem != "" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in link not valid", problem, "")
		return
	}
	if _, u, ok := s.currentSession(r); ok && u.OrgID == ep.org.ID {
		portalRedirect(w, r, next)
		return
	}
	s.showLogin(w, r, portalLoginTarget(ep, next), pageData{}, http.StatusOK)
}

func portalRedirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// portalHome serves GET /{org}/portal_/: API access is the only page so far.
func (s *Service) portalHome(w http.ResponseWriter, r *http.Request) {
	org, ok := s.portalOrg(w, r)
	if ok {
		portalRedirect(w, r, apiAccessPath(org))
	}
}

// portalCaller is the signed-in user of a portal page, as the admin APIs know a caller.
type portalCaller struct {
	adminCaller
	sess store.Session
}

// portalOrg finds the organization of the path; an unknown one is answered here.
func (s *Service) portalOrg(w http.ResponseWriter, r *http.Request) (tenancy.Organization, bool) {
	name := r.PathValue("org")
	org, err := s.st.OrganizationGetByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		s.renderMessage(w, r, http.StatusNotFound, "Organization not found",
			fmt.Sprintf("There is no organization %q on this server. Check the first segment of the address: it is the organization's logical name.", name), "")
		return org, false
	}
	if err != nil {
		s.renderMessage(w, r, http.StatusInternalServerError, "API access", s.internal(r, err).Description, "")
		return org, false
	}
	return org, true
}

// portalSignedIn returns the signed-in user of a portal request. Without a session in the
// organization of the path, the browser goes to the login page, which brings it back: to
// the page it asked for (GET), or to API access (a post, whose form is not kept).
func (s *Service) portalSignedIn(w http.ResponseWriter, r *http.Request) (portalCaller, bool) {
	org, ok := s.portalOrg(w, r)
	if !ok {
		return portalCaller{}, false
	}
	sess, u, ok := s.currentSession(r)
	if !ok || u.OrgID != org.ID {
		back := apiAccessPath(org)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if next, problem := portalReturn(&org, r.URL.Path); problem == "" {
				back = next
			}
		}
		portalRedirect(w, r, portalLoginURL(org, back))
		return portalCaller{}, false
	}
	return portalCaller{adminCaller: adminCaller{user: u, org: org, via: "session"}, sess: sess}, true
}

// portalForm reads a portal form and checks its CSRF token.
func (s *Service) portalForm(w http.ResponseWriter, r *http.Request, c portalCaller) bool {
	if err := r.ParseForm(); err != nil {
		s.portalMessage(w, r, c, http.StatusBadRequest, "The form could not be read. Go back to API access, reload it and try again.")
		return false
	}
	if !csrfOK(r) {
		s.portalMessage(w, r, c, http.StatusForbidden,
			"The form's security token did not match (cookies are blocked, or the page was open too long), so nothing was changed. Go back to API access, reload it and try again.")
		return false
	}
	return true
}

// portalMessage shows a refusal with a link back to API access.
func (s *Service) portalMessage(w http.ResponseWriter, r *http.Request, c portalCaller, status int, text string) {
	s.render(w, r, status, "message.html", pageData{Title: "API access", Error: text, Portal: &portalPage{Home: apiAccessPath(c.org)}})
}

// portalInternal shows an internal error: its trace id, never its text (which is logged).
func (s *Service) portalInternal(w http.ResponseWriter, r *http.Request, c portalCaller, err error) {
	s.portalMessage(w, r, c, http.StatusInternalServerError, s.internal(r, err).Description)
}

// ---- what a post carries to the page it redirects to

// portalOnce is what a post made, shown once by the page it redirects to.
type portalOnce struct {
	Notice string `json:"notice,omitempty"`
	What   string `json:"what,omitempty"` // "user key" or "personal access token"
	Name   string `json:"name,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// onceAAD binds the sealed cookie to the session: it opens for no other.
func onceAAD(sess store.Session) []byte { return []byte("portal once:" + sess.IDHash) }

func (s *Service) setOnce(w http.ResponseWriter, c portalCaller, v portalOnce) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("identity: " + err.Error()) // strings only: cannot fail
	}
	http.SetCookie(w, &http.Cookie{Name: portalOnceCookie, Value: base64.RawURLEncoding.EncodeToString(s.keys.sealer.Seal(b, onceAAD(c.sess))),
		Path: portalRoot(c.org), MaxAge: int(portalOnceTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies()})
}

// takeOnce reads and clears what the last post carried. A cookie that does not open (another
// session's, or altered) is dropped.
func (s *Service) takeOnce(w http.ResponseWriter, r *http.Request, c portalCaller) portalOnce {
	ck, err := r.Cookie(portalOnceCookie)
	if err != nil {
		return portalOnce{}
	}
	http.SetCookie(w, &http.Cookie{Name: portalOnceCookie, Path: portalRoot(c.org), MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies()})
	var v portalOnce
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return v
	}
	b, err := s.keys.sealer.Open(sealed, onceAAD(c.sess))
	if err != nil || json.Unmarshal(b, &v) != nil {
		return portalOnce{}
	}
	return v
}

// ---- the page

// portalPage is what the portal's templates show.
type portalPage struct {
	Home      string // API access
	SignOut   string
	OrgName   string
	OrgLabel  string
	UserEmail string
	Tenants   []portalTenant
	ClientID  string
	TokenURL  string

	Notice  string
	Created *portalOnce

	Keys      []portalKey
	KeyAction string
	KeyName   string
	KeyError  string

	PATs      []portalPAT
	PATAction string
	PATName   string
	PATAll    bool // OrchestratorApiUserAccess chosen
	Areas     []portalArea
	Days      []portalDays
	PATError  string

	// How to use it: commands with the real values.
	CurlToken, CurlFolders, CurlPAT string
	KeyFilled, PATFilled            bool // the commands carry the new key or token
	NoTenant                        bool

	Revoke *portalRevoke // the confirmation page
}

type portalTenant struct {
	Name string
	Role bool // the user holds a role in it (organization administrators: in every tenant)
}

type portalKey struct {
	Name, Created, LastUsed, Status string
	Live                            bool
	RevokeURL                       string
}

type portalPAT struct {
	Name, Scopes, Created, Expires, LastUsed, Status string
	Live                                             bool
	RevokeURL                                        string
}

// portalArea is one OR area of the PAT form: its scopes, and the one chosen ("" for none).
type portalArea struct {
	Name, Read, Full, Chosen string
}

type portalDays struct {
	Days     int
	Selected bool
}

// portalRevoke is the confirmation of a revocation.
type portalRevoke struct {
	What, Name, Created, LastUsed, Effect, Action string
	Revoked                                       string // when it already was
}

// portalForms is what the forms of the page hold when it is shown again with an error.
type portalForms struct {
	keyName, keyError string
	patName, patError string
	patScopes         []string
	patDays           int
}

// pageTime shows a time on the pages: UTC, to the minute.
func pageTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func pageTimeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return pageTime(*t)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// showAPIAccess renders the page with what the user has now, the forms as f holds them and
// what the last post made.
func (s *Service) showAPIAccess(w http.ResponseWriter, r *http.Request, c portalCaller, status int, f portalForms, once portalOnce) {
	ctx := r.Context()
	keys, err := s.st.UserKeyList(ctx, c.org.ID, c.user.ID)
	if err != nil {
		s.portalInternal(w, r, c, err)
		return
	}
	pats, err := s.st.PATList(ctx, c.org.ID, c.user.ID)
	if err != nil {
		s.portalInternal(w, r, c, err)
		return
	}
	tenants, err := s.st.TenantList(ctx, c.org.ID)
	if err != nil {
		s.portalInternal(w, r, c, err)
		return
	}
	home := apiAccessPath(c.org)
	p := &portalPage{Home: home, SignOut: "/" + url.PathEscape(c.org.Name) + "/identity_/connect/endsession",
		OrgName: c.org.Name, OrgLabel: displayOr(c.org.DisplayName, c.org.Name), UserEmail: c.user.Email,
		ClientID: userKeyClientID, TokenURL: s.public + "/oauth/token", Notice: once.Notice,
		KeyAction: home + "/userKeys", KeyName: f.keyName, KeyError: f.keyError,
		PATAction: home + "/personalAccessTokens", PATName: f.patName, PATError: f.patError,
		PATAll: slices.Contains(f.patScopes, scopeUserAccess)}
	if once.Secret != "" {
		p.Created = &once
	}

	// Tenants, marking those where the user holds a role: the API refuses the others.
	example := ""
	for _, t := range tenants {
		role := c.user.OrgAdmin
		if !role {
			ms, err := s.st.MembershipListPrincipal(ctx, t.ID, tenancy.Principal{Kind: tenancy.PrincipalUser, ID: c.user.ID})
			if err != nil {
				s.portalInternal(w, r, c, err)
				return
			}
			role = slices.ContainsFunc(ms, func(m tenancy.Membership) bool { return len(m.RoleIDs) > 0 })
		}
		p.Tenants = append(p.Tenants, portalTenant{Name: t.Name, Role: role})
		if example == "" && role {
			example = t.Name
		}
	}
	if example == "" && len(tenants) > 0 {
		example = tenants[0].Name
	}

	now := s.now()
	for _, k := range keys {
		v := portalKey{Name: k.Name, Created: pageTime(k.CreatedAt), LastUsed: pageTimeOr(k.LastUsedAt, "never"),
			Status: "Active", Live: k.RevokedAt == nil}
		if k.RevokedAt != nil {
			v.Status = "Revoked " + pageTime(*k.RevokedAt)
		} else {
			v.RevokeURL = home + "/userKeys/" + strconv.FormatInt(k.ID, 10) + "/revoke"
		}
		p.Keys = append(p.Keys, v)
	}
	for _, t := range pats {
		v := portalPAT{Name: t.Name, Scopes: strings.Join(t.Scopes, " "), Created: pageTime(t.CreatedAt),
			Expires: pageTime(t.ExpiresAt), LastUsed: pageTimeOr(t.LastUsedAt, "never"), Status: "Active"}
		switch {
		case t.RevokedAt != nil:
			v.Status = "Revoked " + pageTime(*t.RevokedAt)
		case !now.Before(t.ExpiresAt):
			v.Status = "Expired"
		default:
			v.Live = true
			v.RevokeURL = home + "/personalAccessTokens/" + strconv.FormatInt(t.ID, 10) + "/revoke"
		}
		p.PATs = append(p.PATs, v)
	}

	for _, a := range orAreas {
		v := portalArea{Name: a, Read: "OR." + a + ".Read", Full: "OR." + a}
		for _, sc := range f.patScopes {
			if sc == v.Read || sc == v.Full {
				v.Chosen = sc
			}
		}
		p.Areas = append(p.Areas, v)
	}
	days := f.patDays
	if !slices.Contains(patExpiryDays, days) {
		days = patExpiryDays[0]
	}
	for _, d := range slices.Sorted(slices.Values(patExpiryDays)) {
		p.Days = append(p.Days, portalDays{Days: d, Selected: d == days})
	}

	// How to use it, with the real values; the new key or token when there is one.
	userKey, pat := "YOUR_USER_KEY", "YOUR_PERSONAL_ACCESS_TOKEN"
	switch {
	case strings.HasPrefix(once.Secret, userKeyPrefix):
		userKey, p.KeyFilled = once.Secret, true
	case strings.HasPrefix(once.Secret, patPrefix):
		pat, p.PATFilled = once.Secret, true
	}
	if example == "" {
		example, p.NoTenant = "YOUR_TENANT", true
	}
	body, err := json.Marshal(struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		RefreshToken string `json:"refresh_token"`
	}{"refresh_token", userKeyClientID, userKey})
	if err != nil {
		panic("identity: " + err.Error()) // strings only: cannot fail
	}
	folders := s.public + "/" + url.PathEscape(c.org.Name) + "/" + url.PathEscape(example) + "/orchestrator_/odata/Folders"
	p.CurlToken = "curl " + shellQuote(p.TokenURL) + " \\\n  -H 'Content-Type: application/json' \\\n  -d " + shellQuote(string(body))
	p.CurlFolders = "curl " + shellQuote(folders) + " \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\""
	p.CurlPAT = "curl " + shellQuote(folders) + " \\\n  -H " + shellQuote("Authorization: Bearer "+pat)

	s.render(w, r, status, "portal.html", pageData{Title: "API access", CSRF: s.csrfToken(w, r), Wide: true, Portal: p,
		ScriptNonce: secret.NewToken("")[:22]})
}

func displayOr(display, name string) string {
	if display != "" {
		return display
	}
	return name
}

// apiAccessPage serves GET /{org}/portal_/apiAccess.
func (s *Service) apiAccessPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok {
		return
	}
	s.showAPIAccess(w, r, c, http.StatusOK, portalForms{}, s.takeOnce(w, r, c))
}

// formProblem is a refusal of the create rules, worded for the page; false for any other
// error (internal).
func formProblem(err error) (string, bool) {
	var ae *adminError
	if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
		return "", false
	}
	msg := ae.msg
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return msg + ".", true
}

// portalUserKeyCreate serves POST …/apiAccess/userKeys (field name; empty for the default
// name, as the API's body may leave it out).
func (s *Service) portalUserKeyCreate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok || !s.portalForm(w, r, c) {
		return
	}
	var name *string
	if n := r.PostForm.Get("name"); strings.TrimSpace(n) != "" {
		name = &n
	}
	k, raw, err := s.newUserKey(r, c.adminCaller, name)
	if err != nil {
		problem, ok := formProblem(err)
		if !ok {
			s.portalInternal(w, r, c, err)
			return
		}
		s.showAPIAccess(w, r, c, http.StatusBadRequest, portalForms{keyName: r.PostForm.Get("name"), keyError: problem}, portalOnce{})
		return
	}
	s.setOnce(w, c, portalOnce{What: "user key", Name: k.Name, Secret: raw})
	portalRedirect(w, r, apiAccessPath(c.org))
}

// portalPATCreate serves POST …/apiAccess/personalAccessTokens (fields name, scopes — any
// number, empty ones ignored — and expiresInDays).
func (s *Service) portalPATCreate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok || !s.portalForm(w, r, c) {
		return
	}
	f := portalForms{patName: r.PostForm.Get("name")}
	for _, sc := range r.PostForm["scopes"] {
		if sc = strings.TrimSpace(sc); sc != "" {
			f.patScopes = append(f.patScopes, sc)
		}
	}
	days, err := strconv.Atoi(r.PostForm.Get("expiresInDays"))
	f.patDays = days
	switch {
	case err != nil:
		f.patError = fmt.Sprintf("Expires in %q is not a number of days; choose one of the lifetimes offered.", r.PostForm.Get("expiresInDays"))
	case len(f.patScopes) == 0:
		f.patError = "Choose what the token may do: " + scopeUserAccess + ", or read or read-and-write access to at least one area."
	}
	if f.patError != "" {
		s.showAPIAccess(w, r, c, http.StatusBadRequest, f, portalOnce{})
		return
	}
	p, raw, err := s.newPAT(r, c.adminCaller, patRequest{Name: f.patName, Scopes: f.patScopes, ExpiresInDays: &days})
	if err != nil {
		problem, ok := formProblem(err)
		if !ok {
			s.portalInternal(w, r, c, err)
			return
		}
		f.patError = problem
		s.showAPIAccess(w, r, c, http.StatusBadRequest, f, portalOnce{})
		return
	}
	s.setOnce(w, c, portalOnce{What: "personal access token", Name: p.Name, Secret: raw})
	portalRedirect(w, r, apiAccessPath(c.org))
}

// portalUserKey finds the user key of the path among the caller's (findUserKey, as the API
// does); another user's is not found, and that is answered here.
func (s *Service) portalUserKey(w http.ResponseWriter, r *http.Request, c portalCaller) (store.UserKey, bool) {
	k, err := s.findUserKey(r, c.adminCaller)
	if err != nil {
		s.portalNotFound(w, r, c, err, "user key")
		return k, false
	}
	return k, true
}

func (s *Service) portalPAT(w http.ResponseWriter, r *http.Request, c portalCaller) (store.PAT, bool) {
	p, err := s.findPAT(r, c.adminCaller)
	if err != nil {
		s.portalNotFound(w, r, c, err, "personal access token")
		return p, false
	}
	return p, true
}

func (s *Service) portalNotFound(w http.ResponseWriter, r *http.Request, c portalCaller, err error, what string) {
	var ae *adminError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		s.portalMessage(w, r, c, http.StatusNotFound, fmt.Sprintf(
			"You (%s) have no %s with id %q, so nothing was revoked. API access lists yours; another user's cannot be revoked here.",
			c.user.Email, what, r.PathValue("id")))
		return
	}
	s.portalInternal(w, r, c, err)
}

// portalUserKeyConfirm serves GET …/userKeys/{id}/revoke: the confirmation.
func (s *Service) portalUserKeyConfirm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok {
		return
	}
	k, ok := s.portalUserKey(w, r, c)
	if !ok {
		return
	}
	s.showRevoke(w, r, c, portalRevoke{What: "user key", Name: k.Name, Created: pageTime(k.CreatedAt),
		LastUsed: pageTimeOr(k.LastUsedAt, "never"), Revoked: pageTimeOr(k.RevokedAt, ""),
		Effect: "Scripts that exchange it at /oauth/token are refused from now on, and the access tokens already obtained with it stop working within seconds."})
}

// portalPATConfirm serves GET …/personalAccessTokens/{id}/revoke: the confirmation.
func (s *Service) portalPATConfirm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok {
		return
	}
	p, ok := s.portalPAT(w, r, c)
	if !ok {
		return
	}
	s.showRevoke(w, r, c, portalRevoke{What: "personal access token", Name: p.Name, Created: pageTime(p.CreatedAt),
		LastUsed: pageTimeOr(p.LastUsedAt, "never"), Revoked: pageTimeOr(p.RevokedAt, ""),
		Effect: "Anything that sends it is refused from now on."})
}

func (s *Service) showRevoke(w http.ResponseWriter, r *http.Request, c portalCaller, v portalRevoke) {
	v.Action = r.URL.Path
	s.render(w, r, http.StatusOK, "revoke.html", pageData{Title: "Revoke " + v.What, CSRF: s.csrfToken(w, r),
		Portal: &portalPage{Home: apiAccessPath(c.org), Revoke: &v}})
}

// portalUserKeyRevoke serves POST …/userKeys/{id}/revoke.
func (s *Service) portalUserKeyRevoke(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok || !s.portalForm(w, r, c) {
		return
	}
	k, ok := s.portalUserKey(w, r, c)
	if !ok {
		return
	}
	wasLive := k.RevokedAt == nil
	if _, err := s.revokeUserKey(r, c.adminCaller, k); err != nil {
		s.portalNotFound(w, r, c, err, "user key")
		return
	}
	notice := fmt.Sprintf("User key %q is revoked.", k.Name)
	if !wasLive {
		notice = fmt.Sprintf("User key %q was already revoked.", k.Name)
	}
	s.setOnce(w, c, portalOnce{Notice: notice})
	portalRedirect(w, r, apiAccessPath(c.org))
}

// portalPATRevoke serves POST …/personalAccessTokens/{id}/revoke.
func (s *Service) portalPATRevoke(w http.ResponseWriter, r *http.Request) {
	c, ok := s.portalSignedIn(w, r)
	if !ok || !s.portalForm(w, r, c) {
		return
	}
	p, ok := s.portalPAT(w, r, c)
	if !ok {
		return
	}
	wasLive := p.RevokedAt == nil
	if _, err := s.revokePAT(r, c.adminCaller, p); err != nil {
		s.portalNotFound(w, r, c, err, "personal access token")
		return
	}
	notice := fmt.Sprintf("Personal access token %q is revoked.", p.Name)
	if !wasLive {
		notice = fmt.Sprintf("Personal access token %q was already revoked.", p.Name)
	}
	s.setOnce(w, c, portalOnce{Notice: notice})
	portalRedirect(w, r, apiAccessPath(c.org))
}
