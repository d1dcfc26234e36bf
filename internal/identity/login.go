package identity

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Failed sign-ins allowed per account and per client address in loginWindow.
const (
	loginFailuresPerAccount = 10
	loginFailuresPerAddress = 30
	loginWindow             = 15 * time.Minute
)

// dummyPasswordHash is a hash no password matches, checked in place of a missing account's.
var dummyPasswordHash = sync.OnceValue(func() string {
	h, err := secret.HashPassword(secret.NewToken(""))
	if err != nil {
		panic("identity: " + err.Error())
	}
	return h
})

// loginTarget is what a sign-in is for: a pending authorize request, a device code, or a
// web page of the organization (the portal) to return to.
type loginTarget struct {
	action      string                // where the login form posts
	org         *tenancy.Organization // nil: the person names it on the page
	clientID    string
	clientLabel string
	request     string // the authorize query, carried through the form
	device      string // or the user code of a device sign-in
	returnTo    string // or the portal page to return to, as the form carries it
	next        string // where the browser goes once signed in
}

func authorizeTarget(ep authEndpoint, req *authRequest, org *tenancy.Organization) loginTarget {
	q := req.query.Encode()
	return loginTarget{action: ep.login, org: org, clientID: req.app.ClientID, clientLabel: req.clientLabel(), request: q,
		next: ep.authorize + "?" + q}
}

// showLogin renders the login page for a target.
func (s *Service) showLogin(w http.ResponseWriter, r *http.Request, t loginTarget, d pageData, status int) {
	d.Title = "Sign in"
	d.Action = t.action
	d.CSRF = s.csrfToken(w, r)
	d.Request, d.Device, d.Return = t.request, t.device, t.returnTo
	d.ClientName = t.clientLabel
	d.AskOrg = t.org == nil
	if t.org != nil {
		d.OrgName = t.org.DisplayName
	}
	s.render(w, r, status, "login.html", d)
}

// currentSession returns the signed-in session and its user, if the cookie names a live one.
func (s *Service) currentSession(r *http.Request) (store.Session, tenancy.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, tenancy.User{}, false
	}
	sess, err := s.st.SessionGet(r.Context(), secret.HashToken(c.Value), s.now())
	if err != nil {
		return store.Session{}, tenancy.User{}, false
	}
	u, err := s.st.UserGet(r.Context(), sess.OrgID, sess.UserID)
	if err != nil || u.Disabled {
		return store.Session{}, tenancy.User{}, false
	}
	return sess, u, true
}

// reparse re-validates the authorize request a form posted to ep carried.
func (s *Service) reparse(w http.ResponseWriter, r *http.Request, ep authEndpoint) (req *authRequest, ok bool) {
	q, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form was altered: its sign-in request cannot be read.", "")
		return nil, false
	}
	req, page, oe := s.parseAuthorize(r.Context(), q, ep.orgName())
	if page != "" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in link not valid", page, "")
		return nil, false
	}
	if oe != nil {
		redirectError(w, r, req, oe)
		return nil, false
	}
	return req, true
}

// formPost parses a page's form and checks its CSRF token.
func (s *Service) formPost(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form could not be read.", "")
		return false
	}
	if !csrfOK(r) {
		s.renderMessage(w, r, http.StatusForbidden, "Sign-in failed",
			"The form's security token did not match (cookies blocked, or the page was open too long).",
			"Go back, reload the page and try again.")
		return false
	}
	return true
}

// loginTargetOf reads what a login form posted to ep is for.
func (s *Service) loginTargetOf(w http.ResponseWriter, r *http.Request, ep authEndpoint) (loginTarget, bool) {
	if userCode := r.PostForm.Get("device"); userCode != "" {
		if !ep.device {
			s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed",
				"Devices are signed in on the device page, "+s.public+"/identity_/device, not here.", "")
			return loginTarget{}, false
		}
		dc, app, problem := s.findDevice(r, userCode)
		if problem != "" {
			s.renderMessage(w, r, http.StatusOK, "Device sign-in", problem, "")
			return loginTarget{}, false
		}
		t := loginTarget{action: ep.login, org: ep.org, clientID: app.ClientID, clientLabel: app.Name, device: dc.UserCode,
			next: ep.iss + "/device?user_code=" + url.QueryEscape(dc.UserCode)}
		if t.org == nil && app.OrgID != 0 {
			o, err := s.st.OrganizationGet(r.Context(), app.OrgID)
			if err != nil {
				s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", s.internal(r, err).Description, "")
				return loginTarget{}, false
			}
			t.org = &o
		}
		return t, true
	}
	if ret := r.PostForm.Get("return"); ret != "" {
		next, problem := portalReturn(ep.org, ret)
		if problem != "" {
			s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", problem, "")
			return loginTarget{}, false
		}
		return portalLoginTarget(ep, next), true
	}
	req, ok := s.reparse(w, r, ep)
	if !ok {
		return loginTarget{}, false
	}
	org, oe := s.requestOrg(r.Context(), req)
	if oe != nil {
		redirectError(w, r, req, oe)
		return loginTarget{}, false
	}
	return authorizeTarget(ep, req, org), true
}

// login serves POST …/account/login.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	ep, oe := s.endpointOf(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Sign-in failed", oe.Description, "")
		return
	}
	if s.formPost(w, r) {
		s.loginAt(w, r, ep)
	}
}

// loginAt signs a person in with the login form posted to ep (its form already read).
func (s *Service) loginAt(w http.ResponseWriter, r *http.Request, ep authEndpoint) {
	t, ok := s.loginTargetOf(w, r, ep)
	if !ok {
		return
	}
	ctx := r.Context()
	email := strings.TrimSpace(r.PostForm.Get("email"))
	d := pageData{Email: email, Org: r.PostForm.Get("org")}
	org := t.org
	if org == nil {
		o, err := s.st.OrganizationGetByName(ctx, strings.TrimSpace(d.Org))
		if err != nil {
			d.Error = fmt.Sprintf("There is no organization %q on this server. Use its logical name, the first segment of its URLs.", d.Org)
			s.showLogin(w, r, t, d, http.StatusOK)
			return
		}
		org = &o
	}
	ip := server.ClientIP(r).String()
	account := fmt.Sprintf("%d\x00%s", org.ID, strings.ToLower(email))
	if wait := max(s.accountFails.blocked(account), s.addressFails.blocked(ip)); wait > 0 {
		d.Error = fmt.Sprintf("Too many failed sign-ins for this account or from your address. Try again in %d minutes.", int(math.Ceil(wait.Minutes())))
		s.event(r, org.ID, "signin.blocked", t.clientID, email, "too many failed sign-ins")
		s.showLogin(w, r, t, d, http.StatusTooManyRequests)
		return
	}
	u, err := s.st.UserGetByEmail(ctx, org.ID, email)
	matched := false
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", s.internal(r, err).Description, "")
		return
	}
	if err == nil && u.PasswordHash != "" && !u.Disabled {
		matched, _ = secret.PasswordMatches(r.PostForm.Get("password"), u.PasswordHash)
	} else {
		// Spend the same time as a real check, so the answer's timing does not tell
		// whether the account exists.
		secret.PasswordMatches(r.PostForm.Get("password"), dummyPasswordHash())
	}
	if !matched {
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
		s.event(r, org.ID, "signin.failed", t.clientID, email, reason)
		d.Error = "The email or password is not right for organization " + org.Name + "."
		s.showLogin(w, r, t, d, http.StatusOK)
		return
	}
	token := secret.NewToken("oo_ss_")
	now := s.now()
	if err := s.st.SessionCreate(ctx, store.Session{IDHash: secret.HashToken(token), OrgID: org.ID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}); err != nil {
		s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", s.internal(r, err).Description, "")
		return
	}
	s.setCookie(w, sessionCookie, token, sessionTTL)
	s.event(r, org.ID, "signin", t.clientID, u.Key, "")
	// Back to where the sign-in started: it now finds the session.
	http.Redirect(w, r, t.next, http.StatusSeeOther)
}

// consent serves POST …/connect/consent.
func (s *Service) consent(w http.ResponseWriter, r *http.Request) {
	ep, oe := s.endpointOf(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Sign-in failed", oe.Description, "")
		return
	}
	if s.formPost(w, r) {
		s.consentAt(w, r, ep)
	}
}

// consentAt takes the consent form posted to ep (its form already read).
func (s *Service) consentAt(w http.ResponseWriter, r *http.Request, ep authEndpoint) {
	req, ok := s.reparse(w, r, ep)
	if !ok {
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "allow" && decision != "deny" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "Choose Allow or Deny.", "")
		return
	}
	s.continueAuthorize(w, r, ep, req, decision)
}

// endSession serves …/connect/endsession: it signs the browser out and, when the client
// names a registered post_logout_redirect_uri, goes back there.
func (s *Service) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if sess, err := s.st.SessionGet(r.Context(), secret.HashToken(c.Value), s.now()); err == nil {
			s.event(r, sess.OrgID, "signout", "", "", "")
		}
		_ = s.st.SessionDelete(r.Context(), secret.HashToken(c.Value))
	}
	s.setCookie(w, sessionCookie, "", -1)
	target := r.FormValue("post_logout_redirect_uri")
	if target != "" {
		app, err := s.st.AppGetByClientID(r.Context(), r.FormValue("client_id"))
		if err == nil && s.redirectAllowed(app, target) {
			u, _ := url.Parse(target)
			if st := r.FormValue("state"); st != "" {
				q := u.Query()
				q.Set("state", st)
				u.RawQuery = q.Encode()
			}
			http.Redirect(w, r, u.String(), http.StatusFound)
			return
		}
		s.renderMessage(w, r, http.StatusOK, "Signed out", "",
			"You are signed out. (post_logout_redirect_uri was not followed: it needs the client_id of an app that registered it.)")
		return
	}
	s.renderMessage(w, r, http.StatusOK, "Signed out", "", "You are signed out. You can close this window.")
}
