package identity_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser plays a person's browser against the identity pages: it keeps cookies, follows
// redirects on the server's own host and stops at any other (the client's redirect URI).
// Each browser comes from a client address of its own (X-Forwarded-For through the trusted
// loopback proxy), so that the sign-in limits of one test never touch another.
type browser struct {
	e    *testEnv
	jar  *cookiejar.Jar
	addr string
}

func newBrowser(t testing.TB, e *testEnv) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{e: e, jar: jar, addr: freshAddr()}
}

// hop is a redirect the browser followed.
type hop struct {
	status int
	to     string
}

// page is what the browser ended on.
type page struct {
	status   int
	header   http.Header
	body     string
	location string // the Location of a redirect the browser did not follow
	cookies  []*http.Cookie
	hops     []hop // the redirects followed to get here
}

// cookie returns the Set-Cookie of name in the last answer, or nil.
func (p page) cookie(name string) *http.Cookie {
	for _, c := range p.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// redirect parses the Location of a redirect the browser stopped at.
func (p page) redirect(t testing.TB) *url.URL {
	t.Helper()
	if p.status != http.StatusFound || p.location == "" {
		t.Fatalf("want a 302 redirect to the client, got %d Location %q: %s", p.status, p.location, excerpt(p.body))
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatalf("Location %q: %v", p.location, err)
	}
	return u
}

// do sends req, following redirects on the server's host.
func (b *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	return b.send(t, req, true)
}

// send sends req, following redirects on the server's host when follow is set.
func (b *browser) send(t testing.TB, req *http.Request, follow bool) page {
	t.Helper()
	var hops []hop
	host := req.URL.Host
	c := &http.Client{Jar: b.jar, CheckRedirect: func(next *http.Request, via []*http.Request) error {
		if !follow || next.URL.Host != host || len(via) > 10 {
			return http.ErrUseLastResponse
		}
		hops = append(hops, hop{next.Response.StatusCode, next.URL.String()})
		next.Header.Set("X-Forwarded-For", b.addr)
		return nil
	}}
	req.Header.Set("X-Forwarded-For", b.addr)
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(body), location: res.Header.Get("Location"),
		cookies: res.Cookies(), hops: hops}
}

func (b *browser) get(t testing.TB, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

func (b *browser) post(t testing.TB, u string, form url.Values) page {
	t.Helper()
	return b.send(t, formRequest(t, u, form), true)
}

// postOnce posts form and stops at the first answer, redirect or not.
func (b *browser) postOnce(t testing.TB, u string, form url.Values) page {
	t.Helper()
	return b.send(t, formRequest(t, u, form), false)
}

func formRequest(t testing.TB, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// htmlForm is the form of a login or consent page.
type htmlForm struct {
	action, csrf, request string
	askOrg                bool
}

var (
	reFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	reCSRF       = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)
	reRequest    = regexp.MustCompile(`<input type="hidden" name="request" value="([^"]*)">`)
	reOrgField   = regexp.MustCompile(`<input[^>]* name="org"`)
)

// formOf reads the form of a page, html-unescaping its values as a browser would.
func formOf(t testing.TB, p page) htmlForm {
	t.Helper()
	a, c, r := reFormAction.FindStringSubmatch(p.body), reCSRF.FindStringSubmatch(p.body), reRequest.FindStringSubmatch(p.body)
	if a == nil || c == nil || r == nil {
		t.Fatalf("the page (%d) has no form with csrf and request fields:\n%s", p.status, excerpt(p.body))
	}
	return htmlForm{action: html.UnescapeString(a[1]), csrf: html.UnescapeString(c[1]), request: html.UnescapeString(r[1]),
		askOrg: reOrgField.MatchString(p.body)}
}

// isLoginPage reports whether p is the sign-in page.
func isLoginPage(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `name="password"`) && reFormAction.MatchString(p.body)
}

// signIn fills the login page p in with email and password (and org when the page asks
// for it) and posts it where its form says.
func (b *browser) signIn(t testing.TB, p page, org, email, password string) page {
	t.Helper()
	action, form := loginForm(t, p, org, email, password)
	return b.post(t, action, form)
}

// loginForm fills the login page p in: where to post it and what.
func loginForm(t testing.TB, p page, org, email, password string) (action string, form url.Values) {
	t.Helper()
	if !isLoginPage(p) {
		t.Fatalf("want the login page, got %d Location %q:\n%s", p.status, p.location, excerpt(p.body))
	}
	f := formOf(t, p)
	form = url.Values{"csrf": {f.csrf}, "request": {f.request}, "email": {email}, "password": {password}}
	if f.askOrg {
		form.Set("org", org)
	}
	return f.action, form
}

// consent answers the consent page p with decision ("allow" or "deny").
func (b *browser) consent(t testing.TB, p page, decision string) page {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="decision"`) {
		t.Fatalf("want the consent page, got %d Location %q:\n%s", p.status, p.location, excerpt(p.body))
	}
	f := formOf(t, p)
	return b.post(t, f.action, url.Values{"csrf": {f.csrf}, "request": {f.request}, "decision": {decision}})
}

// excerpt shortens a page for a failure message: its main part, without the style sheet.
func excerpt(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 1500 {
		body = body[:1500] + "…"
	}
	return body
}

// pageText is the visible text of a page's main part, with tags dropped, entities
// decoded and white space collapsed, for checking what a person reads.
func pageText(body string) string {
	body = excerpt(body)
	body = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// wantSecurePage checks the headers every identity page carries.
func wantSecurePage(t testing.TB, p page) {
	t.Helper()
	h := p.header
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("Content-Type %q, want text/html", h.Get("Content-Type"))
	}
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", h.Get("X-Frame-Options"))
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'none' and frame-ancestors 'none'", csp)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", h.Get("Cache-Control"))
	}
}
