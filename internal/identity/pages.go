package identity

import (
	"crypto/subtle"
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pages = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// Cookie names. The session cookie holds a random token (the store keeps its hash); the
// CSRF cookie pairs with a hidden form field (double submit).
const (
	sessionCookie = "oo_session"
	csrfCookie    = "oo_csrf"
	sessionTTL    = 8 * time.Hour
)

// pageData is what every page template may show.
type pageData struct {
	Title      string
	Error      string
	Message    string
	Action     string
	CSRF       string
	Request    string
	AskOrg     bool
	Org        string
	OrgName    string
	Email      string
	ClientName string
	UserEmail  string
	Scopes     []string
	Device     string // on the login page: the user code to return to after signing in
	Return     string // or the portal page to return to
	UserCode   string
	Confirm    bool
	// On /mobile: the authorization code, its state, and where to exchange it.
	Code, State, TokenURL string
	// ScriptNonce lets the page's own inline script run (and no other script).
	ScriptNonce string
	// Wide pages (the portal's tables) get a wider column than the sign-in forms.
	Wide bool
	// Portal is what the portal's pages show (portal.go).
	Portal *portalPage
}

// render writes a page. Pages are never cached and never framed.
func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"
	if d.ScriptNonce != "" {
		csp += "; script-src 'nonce-" + d.ScriptNonce + "'"
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		server.Logger(r.Context()).Error("identity: render page", "page", name, "err", err)
	}
}

// renderMessage shows a page with a title and an error or a message.
func (s *Service) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, errText, msg string) {
	s.render(w, r, status, "message.html", pageData{Title: title, Error: errText, Message: msg})
}

func (s *Service) secureCookies() bool { return strings.HasPrefix(s.public, "https://") }

func (s *Service) setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secureCookies()}
	if ttl < 0 {
		c.MaxAge = -1
	} else if ttl > 0 {
		c.MaxAge = int(ttl / time.Second)
	}
	http.SetCookie(w, c)
}

// csrfToken returns the request's CSRF token, setting the cookie when there is none.
func (s *Service) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	t := secret.NewToken("")
	s.setCookie(w, csrfCookie, t, 0)
	return t
}

// csrfOK checks a posted form's token against the cookie.
func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) == 1
}
