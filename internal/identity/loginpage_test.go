package identity_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoginPage checks what a person sees on a failed sign-in: one message for a wrong
// password and an unknown email (no hint which), the email kept, the password not, and
// the failures recorded without the password.
func TestLoginPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	const wrong = "Tr0ub4dor&3-wrong"
	errText := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)

	t.Run("wrong password and unknown email", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, e)
		u, _ := e.cliAuthorize("", cliScope)
		var msgs []string
		for _, email := range []string{aliceEmail, "nobody@acme.test"} {
			p := b.signIn(t, b.get(t, u), orgName, email, wrong)
			if !isLoginPage(p) || len(p.hops) != 0 || p.cookie("oo_session") != nil {
				t.Fatalf("%s with a wrong password: %d hops %v; want the login page again and no session", email, p.status, p.hops)
			}
			wantSecurePage(t, p)
			m := errText.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("%s: the page shows no error: %s", email, excerpt(p.body))
			}
			msgs = append(msgs, m[1])
			if !strings.Contains(p.body, `value="`+email+`"`) || strings.Contains(p.body, wrong) || !strings.Contains(p.body, `name="org" value="acme"`) {
				t.Errorf("%s: the page should keep the email and organization and never show the password: %s", email, excerpt(p.body))
			}
		}
		if msgs[0] != "The email or password is not right for organization acme." || msgs[1] != msgs[0] {
			t.Errorf("messages %q; want the same \"The email or password is not right …\" for both", msgs)
		}
		wantEvent(t, e, e.org.ID, "signin.failed", aliceEmail, "wrong password")
		wantEvent(t, e, e.org.ID, "signin.failed", "nobody@acme.test", "no such user")
	})

	t.Run("unknown organization", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, e)
		u, _ := e.cliAuthorize("", cliScope)
		p := b.signIn(t, b.get(t, u), "no-such-org", aliceEmail, userPassword)
		if !isLoginPage(p) || !strings.Contains(pageText(p.body), `There is no organization "no-such-org" on this server`) {
			t.Errorf("an unknown organization: %d %s", p.status, pageText(p.body))
		}
	})

	t.Run("right password", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t, e)
		u, _ := e.cliAuthorize("", cliScope)
		action, form := loginForm(t, b.get(t, u), orgName, bobEmail, userPassword)
		p := b.postOnce(t, action, form)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, e.identityBase("")+"/connect/authorize?") {
			t.Fatalf("sign-in: %d Location %q, want 303 back to /connect/authorize", p.status, p.location)
		}
		// The session cookie: only for the server, sent on top-level navigations back from
		// other sites, for the whole host, lasting the session's 8 hours.
		c := p.cookie("oo_session")
		if c == nil || !strings.HasPrefix(c.Value, "oo_ss_") || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
			c.MaxAge != 8*3600 || c.Secure {
			t.Errorf("session cookie %+v; want oo_ss_…, HttpOnly, SameSite=Lax, Path=/, Max-Age=28800, not Secure over http", c)
		}
		wantEvent(t, e, e.org.ID, "signin", e.bob.Key, "")
	})
}

// TestLoginLockout checks that 10 failed sign-ins for one account make it wait, even with
// the right password and from elsewhere, while other accounts still sign in; and that 30
// failures from one address make it wait for every account.
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	u, _ := e.cliAuthorize("", cliScope)
	attempt := func(t *testing.T, b *browser, email, password string) page {
		t.Helper()
		return b.signIn(t, b.get(t, u), orgName, email, password)
	}
	wantBlocked := func(t *testing.T, p page, minutes int) {
		t.Helper()
		if p.status != http.StatusTooManyRequests || !isLoginPageBody(p) || len(p.hops) != 0 || p.cookie("oo_session") != nil {
			t.Fatalf("want 429 with the login page and no session, got %d hops %v: %s", p.status, p.hops, pageText(p.body))
		}
		wantSecurePage(t, p)
		want := fmt.Sprintf("Too many failed sign-ins for this account or from your address. Try again in %d minutes.", minutes)
		if text := pageText(p.body); !strings.Contains(text, want) {
			t.Errorf("the page does not say %q: %s", want, text)
		}
	}
	wantSignedIn := func(t *testing.T, p page) {
		t.Helper()
		if cb := p.redirect(t); cb.Query().Get("code") == "" {
			t.Errorf("want a code, got %s", cb)
		}
	}

	// Ten wrong passwords for alice, from two addresses.
	b1, b2 := newBrowser(t, e), newBrowser(t, e)
	var wrongs []string
	for i := range 10 {
		w := fmt.Sprintf("wrong-password-%02d", i)
		wrongs = append(wrongs, w)
		p := attempt(t, []*browser{b1, b2}[i%2], aliceEmail, w)
		if p.status != http.StatusOK || !strings.Contains(pageText(p.body), "The email or password is not right") {
			t.Fatalf("failure %d: %d %s", i+1, p.status, pageText(p.body))
		}
	}
	clk.Add(30 * time.Second) // 14m30s of the 15-minute window left
	// The right password now waits, from either address and from a third.
	wantBlocked(t, attempt(t, b1, aliceEmail, userPassword), 15)
	wantBlocked(t, attempt(t, newBrowser(t, e), aliceEmail, userPassword), 15)
	// Case and spaces do not make another account.
	wantBlocked(t, attempt(t, newBrowser(t, e), " ALICE@acme.test ", userPassword), 15)
	// bob, from an address alice's failures came from, is not held up.
	wantSignedIn(t, attempt(t, b1, bobEmail, userPassword))

	// Thirty failures from one address, for different accounts: that address waits for
	// every account, others do not.
	scanner := newBrowser(t, e)
	for i := range 30 {
		p := attempt(t, scanner, fmt.Sprintf("guess%02d@acme.test", i), "x")
		if p.status != http.StatusOK {
			t.Fatalf("scan %d: %d", i+1, p.status)
		}
	}
	clk.Add(10 * time.Second) // 14m50s of the scanner's window left
	wantBlocked(t, attempt(t, scanner, bobEmail, userPassword), 15)

	// After the window, alice signs in.
	clk.Add(15 * time.Minute)
	wantSignedIn(t, attempt(t, b2, aliceEmail, userPassword))

	// What was recorded, with no password in it.
	evs, err := e.st.IdentityEventList(t.Context(), e.org.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		j, _ := json.Marshal(ev)
		for _, pw := range append(wrongs, userPassword) {
			if strings.Contains(string(j), pw) {
				t.Errorf("event %s holds a password: %s", ev.Kind, j)
			}
		}
		switch {
		case ev.Kind == "signin.failed" && ev.Subject == aliceEmail && ev.Detail == "wrong password" && ev.ClientID == cliID && ev.IP != "":
			count["alice failed"]++
		case ev.Kind == "signin.blocked" && strings.EqualFold(strings.TrimSpace(ev.Subject), aliceEmail):
			count["alice blocked"]++
		case ev.Kind == "signin" && ev.Subject == e.alice.Key:
			count["alice signin"]++
		case ev.Kind == "signin" && ev.Subject == e.bob.Key:
			count["bob signin"]++
		}
	}
	want := map[string]int{"alice failed": 10, "alice blocked": 3, "alice signin": 1, "bob signin": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s events: %d, want %d (all counts %v)", k, count[k], n, count)
		}
	}
}

// isLoginPageBody is isLoginPage without the status.
func isLoginPageBody(p page) bool {
	p.status = http.StatusOK
	return isLoginPage(p)
}

// TestLoginCSRF checks the double-submit CSRF token of the login and consent forms.
func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	u, _ := e.cliAuthorize("", cliScope)
	b := newBrowser(t, e)
	login := b.get(t, u)
	c := login.cookie("oo_csrf")
	if c == nil || len(c.Value) < 32 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("CSRF cookie %+v; want a random value, HttpOnly, SameSite=Lax, Path=/", c)
	}
	action, good := loginForm(t, login, orgName, aliceEmail, userPassword)
	if good.Get("csrf") != c.Value {
		t.Fatalf("the form's csrf field %q is not the cookie's %q", good.Get("csrf"), c.Value)
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = slices.Clone(vs)
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	wantForbidden := func(t *testing.T, p page) {
		t.Helper()
		if p.status != http.StatusForbidden || p.location != "" || p.cookie("oo_session") != nil {
			t.Fatalf("want 403 and no session, got %d Location %q", p.status, p.location)
		}
		wantSecurePage(t, p)
		if text := pageText(p.body); !strings.Contains(text, "security token did not match") {
			t.Errorf("the page does not say why: %s", text)
		}
	}

	t.Run("no csrf field", func(t *testing.T) { wantForbidden(t, b.postOnce(t, action, with("csrf", ""))) })
	t.Run("csrf field mismatch", func(t *testing.T) {
		wantForbidden(t, b.postOnce(t, action, with("csrf", strings.Repeat("A", len(c.Value)))))
	})
	t.Run("no csrf cookie", func(t *testing.T) {
		// Another browser (an attacker's page posting cross-site) has the field but not the cookie.
		wantForbidden(t, newBrowser(t, e).postOnce(t, action, good))
	})
	t.Run("short matching token", func(t *testing.T) {
		other := newBrowser(t, e)
		req := formRequest(t, action, with("csrf", "short"))
		req.AddCookie(&http.Cookie{Name: "oo_csrf", Value: "short"})
		wantForbidden(t, other.send(t, req, false))
	})
	t.Run("consent form", func(t *testing.T) {
		q := url.Values{"response_type": {"code"}, "client_id": {dashAppID}, "redirect_uri": {dashRedirect}, "scope": {"OR.Jobs"}}
		wantForbidden(t, b.postOnce(t, e.identityBase("")+"/connect/consent",
			url.Values{"request": {q.Encode()}, "decision": {"allow"}, "csrf": {"x" + c.Value}}))
	})
	t.Run("right token", func(t *testing.T) {
		if p := b.postOnce(t, action, good); p.status != http.StatusSeeOther || p.cookie("oo_session") == nil {
			t.Errorf("control: the untouched form: %d, want 303 with a session", p.status)
		}
	})
}

// TestLoginHTTPSCookies checks that with an https public URL the cookies are Secure. The
// requests still go to the httptest server over http, so the test carries the cookie itself.
func TestLoginHTTPSCookies(t *testing.T) {
	t.Parallel()
	const public = "https://orch.example.test"
	e := newTestEnv(t, envOptions{publicURL: public})
	u, _ := e.cliAuthorize("", cliScope)
	b := newBrowser(t, e)
	login := b.get(t, u)
	csrf := login.cookie("oo_csrf")
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly {
		t.Fatalf("CSRF cookie %+v, want Secure and HttpOnly", csrf)
	}
	action, form := loginForm(t, login, orgName, aliceEmail, userPassword)
	if action != public+"/identity_/account/login" {
		t.Errorf("the form posts to %s, want the public URL's %s/identity_/account/login", action, public)
	}
	req := formRequest(t, e.base+"/identity_/account/login", form)
	req.AddCookie(&http.Cookie{Name: "oo_csrf", Value: csrf.Value})
	p := b.send(t, req, false)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, public+"/identity_/connect/authorize?") {
		t.Fatalf("sign-in: %d Location %q, want 303 to %s/identity_/connect/authorize", p.status, p.location, public)
	}
	c := p.cookie("oo_session")
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("session cookie %+v; want Secure, HttpOnly, SameSite=Lax, Path=/", c)
	}
}

// TestEndSession checks signing out: the cookie is cleared, the session ends on the
// server, and post_logout_redirect_uri is followed only when registered for client_id.
func TestEndSession(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	u, _ := e.cliAuthorize("", cliScope)
	b := newBrowser(t, e)
	b.codeFor(t, u)
	base, _ := url.Parse(e.base)
	var session string
	for _, c := range b.jar.Cookies(base) {
		if c.Name == "oo_session" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after signing in")
	}
	withSession := func() *browser {
		nb := newBrowser(t, e)
		nb.jar.SetCookies(base, []*http.Cookie{{Name: "oo_session", Value: session, Path: "/"}})
		return nb
	}
	// Control: the session cookie alone signs another browser in.
	if p := withSession().get(t, u); p.status != http.StatusFound {
		t.Fatalf("control: a browser with the session cookie: %d, want a redirect with a code", p.status)
	}

	p := b.get(t, e.identityBase("")+"/connect/endsession")
	wantSecurePage(t, p)
	c := p.cookie("oo_session")
	if p.status != http.StatusOK || c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != "/" {
		t.Fatalf("endsession: %d, session cookie %+v; want 200 and the cookie cleared (Max-Age<0, Path=/)", p.status, c)
	}
	if text := pageText(p.body); !strings.Contains(text, "You are signed out") {
		t.Errorf("endsession page: %s", text)
	}
	if p := b.get(t, u); !isLoginPage(p) {
		t.Errorf("authorize after signing out: %d Location %q, want the login page", p.status, p.location)
	}
	// The session is gone on the server too, not only the cookie.
	if p := withSession().get(t, u); !isLoginPage(p) {
		t.Errorf("authorize with the old session cookie: %d Location %q, want the login page", p.status, p.location)
	}

	t.Run("post_logout_redirect_uri", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			method, clientID, target, want string
		}{
			{http.MethodGet, webAppID, webRedirect, webRedirect + "?state=bye"},
			{http.MethodPost, webAppID, webRedirect, webRedirect + "?state=bye"},
			{http.MethodGet, cliID, "http://127.0.0.1:5000/", "http://127.0.0.1:5000/?state=bye"}, // first party: any loopback
			{http.MethodGet, "", webRedirect, ""},                                                 // no client_id
			{http.MethodGet, webAppID, "https://evil.example/", ""},                               // not registered
			{http.MethodGet, dashAppID, webRedirect, ""},                                          // registered for another app
			{http.MethodGet, "no-such-app", webRedirect, ""},
		} {
			q := url.Values{"post_logout_redirect_uri": {tc.target}, "state": {"bye"}}
			if tc.clientID != "" {
				q.Set("client_id", tc.clientID)
			}
			nb := newBrowser(t, e)
			var p page
			if tc.method == http.MethodGet {
				p = nb.get(t, e.identityBase("")+"/connect/endsession?"+q.Encode())
			} else {
				p = nb.postOnce(t, e.identityBase("")+"/connect/endsession", q)
			}
			if tc.want != "" {
				if p.status != http.StatusFound || p.location != tc.want {
					t.Errorf("%s client %q target %s: %d Location %q, want 302 to %s", tc.method, tc.clientID, tc.target, p.status, p.location, tc.want)
				}
				continue
			}
			if p.status != http.StatusOK || p.location != "" || !strings.Contains(pageText(p.body), "post_logout_redirect_uri was not followed") {
				t.Errorf("%s client %q target %s: %d Location %q, want a page saying it was not followed: %s",
					tc.method, tc.clientID, tc.target, p.status, p.location, pageText(p.body))
			}
		}
	})
}

// TestDiscoveryUserFlows checks that discovery advertises the user flows, at both bases.
func TestDiscoveryUserFlows(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	for _, org := range []string{"", orgName} {
		iss := e.identityBase(org)
		req, _ := http.NewRequest(http.MethodGet, iss+"/.well-known/openid-configuration", nil)
		r := e.do(t, req)
		var doc struct {
			Issuer     string   `json:"issuer"`
			Authorize  string   `json:"authorization_endpoint"`
			EndSession string   `json:"end_session_endpoint"`
			Grants     []string `json:"grant_types_supported"`
			PKCE       []string `json:"code_challenge_methods_supported"`
			Responses  []string `json:"response_types_supported"`
			Scopes     []string `json:"scopes_supported"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil || r.status != http.StatusOK {
			t.Fatalf("discovery at %s: %d %v", iss, r.status, err)
		}
		if doc.Issuer != iss || doc.Authorize != iss+"/connect/authorize" || doc.EndSession != iss+"/connect/endsession" {
			t.Errorf("%s: issuer %s, authorization_endpoint %s, end_session_endpoint %s", iss, doc.Issuer, doc.Authorize, doc.EndSession)
		}
		if !slices.Contains(doc.Grants, "authorization_code") || !slices.Contains(doc.Grants, "refresh_token") {
			t.Errorf("%s: grant_types_supported %v lacks authorization_code or refresh_token", iss, doc.Grants)
		}
		if !slices.Equal(doc.PKCE, []string{"S256"}) || !slices.Equal(doc.Responses, []string{"code"}) {
			t.Errorf("%s: code_challenge_methods_supported %v, response_types_supported %v; want [S256], [code]", iss, doc.PKCE, doc.Responses)
		}
		for _, sc := range []string{"openid", "profile", "email", "offline_access"} {
			if !slices.Contains(doc.Scopes, sc) {
				t.Errorf("%s: scopes_supported lacks %s", iss, sc)
			}
		}
	}
}
