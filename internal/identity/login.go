package identity

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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

// showLogin renders the login page for a pending authorize request.
func (s *Service) showLogin(w http.ResponseWriter, r *http.Request, iss string, req *authRequest, d pageData, status int) {
	d.Title = "Sign in"
	d.Action = iss + "/account/login"
	d.CSRF = s.csrfToken(w, r)
	d.Request = req.query.Encode()
	d.ClientName = req.clientLabel()
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

// reparse re-validates the authorize request a form carried.
func (s *Service) reparse(w http.ResponseWriter, r *http.Request) (iss string, req *authRequest, ok bool) {
	iss, pathOrg, oe := s.issuer(r)
	if oe != nil {
		s.renderMessage(w, r, oe.status, "Sign-in failed", oe.Description, "")
		return "", nil, false
	}
	q, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "The form was altered: its sign-in request cannot be read.", "")
		return "", nil, false
	}
	orgName := ""
	if pathOrg != nil {
		orgName = pathOrg.Name
	}
	req, page, oe := s.parseAuthorize(r.Context(), q, orgName)
	if page != "" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in link not valid", page, "")
		return "", nil, false
	}
	if oe != nil {
		redirectError(w, r, req, oe)
		return "", nil, false
	}
	return iss, req, true
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

// login serves POST …/account/login.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	if !s.formPost(w, r) {
		return
	}
	iss, req, ok := s.reparse(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	email := strings.TrimSpace(r.PostForm.Get("email"))
	d := pageData{Email: email, Org: r.PostForm.Get("org")}
	org, oe := s.requestOrg(ctx, req)
	if oe != nil {
		redirectError(w, r, req, oe)
		return
	}
	if org == nil {
		d.AskOrg = true
		o, err := s.st.OrganizationGetByName(ctx, strings.TrimSpace(d.Org))
		if err != nil {
			d.Error = fmt.Sprintf("There is no organization %q on this server. Use its logical name, the first segment of its URLs.", d.Org)
			s.showLogin(w, r, iss, req, d, http.StatusOK)
			return
		}
		org = &o
	} else {
		d.OrgName = org.DisplayName
	}
	ip := server.ClientIP(r).String()
	account := fmt.Sprintf("%d\x00%s", org.ID, strings.ToLower(email))
	if wait := max(s.accountFails.blocked(account), s.addressFails.blocked(ip)); wait > 0 {
		d.Error = fmt.Sprintf("Too many failed sign-ins for this account or from your address. Try again in %d minutes.", int(wait.Minutes())+1)
		s.event(r, org.ID, "signin.blocked", req.app.ClientID, email, "too many failed sign-ins")
		s.showLogin(w, r, iss, req, d, http.StatusTooManyRequests)
		return
	}
	u, err := s.st.UserGetByEmail(ctx, org.ID, email)
	matched := false
	if err == nil && u.PasswordHash != "" && !u.Disabled {
		matched, _ = secret.PasswordMatches(r.PostForm.Get("password"), u.PasswordHash)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.renderMessage(w, r, http.StatusInternalServerError, "Sign-in failed", s.internal(r, err).Description, "")
		return
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
		s.event(r, org.ID, "signin.failed", req.app.ClientID, email, reason)
		d.Error = "The email or password is not right for organization " + org.Name + "."
		s.showLogin(w, r, iss, req, d, http.StatusOK)
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
	s.event(r, org.ID, "signin", req.app.ClientID, u.Key, "")
	// Back to /connect/authorize with the original request: it now finds the session.
	http.Redirect(w, r, iss+"/connect/authorize?"+req.query.Encode(), http.StatusSeeOther)
}

// consent serves POST …/connect/consent.
func (s *Service) consent(w http.ResponseWriter, r *http.Request) {
	if !s.formPost(w, r) {
		return
	}
	iss, req, ok := s.reparse(w, r)
	if !ok {
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "allow" && decision != "deny" {
		s.renderMessage(w, r, http.StatusBadRequest, "Sign-in failed", "Choose Allow or Deny.", "")
		return
	}
	s.continueAuthorize(w, r, iss, req, decision)
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
		if err == nil && redirectAllowed(app, target) {
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
