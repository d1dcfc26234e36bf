package identity_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/tenancy"
)

// The built-in clients of the seed era (DESIGN §4).
const (
	seedPKCEClient       = "5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN" // the documented PKCE flow (seed 000)
	seedAPIAccessClient  = "8DEv1AMNXczW3y4U15LL3jYf62jK93n5" // API access: user keys (seed 002)
	seedPowerShellClient = "qccWcbcRgHGP0Nivlm7T9B7lven0AnTW" // the PowerShell module's default
)

// seedScope is what the seed-era clients ask for, and seedGranted what they get.
const seedScope = "openid profile offline_access email"

var seedGranted = []string{"openid", "profile", "offline_access", "email", "OrchestratorApiUserAccess"}

// seedPKCE makes a verifier and its challenge as seed 000's Node script does: 32 random
// bytes in base64url, and the base64url SHA-256 of that text.
func seedPKCE(t testing.TB) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// seedAuthorizeURL is seed 000's sign-in link with the host changed to this server's.
func (e *testEnv) seedAuthorizeURL(clientID, redirect, challenge, state string) string {
	return e.base + "/authorize?response_type=code&nonce=n-" + state + "&state=" + state + "&code_challenge=" + challenge +
		"&code_challenge_method=S256&scope=openid+profile+offline_access+email&audience=https%3A%2F%2Forchestrator.cloud.uipath.com" +
		"&client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(redirect)
}

// postToken posts body as it is to path with Content-Type ct and the header entries.
func (e *testEnv) postToken(t testing.TB, path, ct, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

// seedJSON posts a JSON body to /oauth/token, as the seed-era scripts do.
func (e *testEnv) seedJSON(t testing.TB, body string) response {
	t.Helper()
	return e.postToken(t, "/oauth/token", "application/json", body, nil)
}

// codeExchangeJSON is seed 000's code exchange body: redirect_uri sent empty.
func codeExchangeJSON(code, verifier, clientID string) string {
	return `{
    "grant_type": "authorization_code",
    "code": "` + code + `",
    "redirect_uri": "",
    "code_verifier": "` + verifier + `",
    "client_id": "` + clientID + `"
}`
}

func refreshJSON(clientID, refreshToken string) string {
	return `{"grant_type": "refresh_token", "client_id": "` + clientID + `", "refresh_token": "` + refreshToken + `"}`
}

var (
	reMobileCode = regexp.MustCompile(`<input type="text" id="code" value="([^"]*)" readonly`)
	reNonce      = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// mobileCode checks that p is the /mobile page showing a code with a copy button and "OK",
// reached by a redirect carrying that code and state, and returns the code.
func mobileCode(t testing.TB, e *testEnv, p page, state string) string {
	t.Helper()
	if p.status != http.StatusOK || len(p.hops) == 0 {
		t.Fatalf("want the /mobile page after redirects, got %d (hops %v): %s", p.status, p.hops, excerpt(p.body))
	}
	last, err := url.Parse(p.hops[len(p.hops)-1].to)
	if err != nil {
		t.Fatal(err)
	}
	if got := last.Scheme + "://" + last.Host + last.Path; got != e.public+"/mobile" || p.hops[len(p.hops)-1].status != http.StatusFound {
		t.Fatalf("the sign-in ended at %d %s, want 302 to %s/mobile", p.hops[len(p.hops)-1].status, last, e.public)
	}
	wantSecurePage(t, p)
	m := reMobileCode.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the /mobile page shows no code:\n%s", excerpt(p.body))
	}
	code := html.UnescapeString(m[1])
	if !strings.HasPrefix(code, "oo_ac_") || last.Query().Get("code") != code || last.Query().Get("state") != state {
		t.Errorf("the page shows code %q; the address has code %q and state %q (want state %q)", code, last.Query().Get("code"),
			last.Query().Get("state"), state)
	}
	text := pageText(p.body)
	if !strings.Contains(text, "OK") || !strings.Contains(p.body, `<button type="button" id="copy">Copy</button>`) {
		t.Errorf("the /mobile page lacks OK or the copy button: %s", text)
	}
	// The copy button's script runs under the page's nonce, and no other script may.
	n := reNonce.FindStringSubmatch(p.body)
	if csp := p.header.Get("Content-Security-Policy"); n == nil || !strings.Contains(csp, "script-src 'nonce-"+n[1]+"'") {
		t.Errorf("Content-Security-Policy %q does not allow the page's script (nonce %v)", csp, n)
	}
	return code
}

// seedTokens are the tokens of a /oauth/token answer.
type seedTokens struct {
	access, id, refresh string
	claims              identity.Claims
}

// wantSeedTokens checks a /oauth/token answer: an access token of the issuer {public}/
// living 24 hours with the seed-era scopes, an id_token that go-oidc accepts for clientID,
// and a refresh token only when wantRefresh.
func wantSeedTokens(t testing.TB, e *testEnv, r response, clientID string, wantRefresh bool) seedTokens {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("want tokens, got %d %s", r.status, r.body)
	}
	tk := seedTokens{access: r.str("access_token"), id: r.str("id_token"), refresh: r.str("refresh_token")}
	if tk.access == "" || tk.id == "" {
		t.Fatalf("the answer lacks access_token or id_token (the PowerShell module needs both): %s", r.body)
	}
	if r.str("token_type") != "Bearer" || r.json["expires_in"] != float64(86400) {
		t.Errorf("token_type %v, expires_in %v; want Bearer and 86400", r.json["token_type"], r.json["expires_in"])
	}
	if (tk.refresh != "") != wantRefresh || wantRefresh && !strings.HasPrefix(tk.refresh, "oo_rt_") {
		t.Errorf("refresh_token %q; want one: %v", tk.refresh, wantRefresh)
	}
	var err error
	tk.claims, err = e.verifier.Verify(t.Context(), tk.access)
	if err != nil {
		t.Fatalf("the API's verifier refuses the access token: %v", err)
	}
	c := tk.claims
	if c.Issuer != e.public+"/" || c.SubType != identity.SubUser || c.ClientID != clientID || c.OrgKey != e.org.Key ||
		c.Expiry-c.IssuedAt != 86400 {
		t.Errorf("access token iss %q sub_type %q client_id %q prt_id %q life %ds; want %s/, user, %s, %s, 86400s",
			c.Issuer, c.SubType, c.ClientID, c.OrgKey, c.Expiry-c.IssuedAt, e.public, clientID, e.org.Key)
	}
	for _, sc := range []string{"OrchestratorApiUserAccess", "openid", "profile", "email"} {
		if !slices.Contains(c.Scopes(), sc) {
			t.Errorf("the access token's scope %q lacks %s", c.Scope, sc)
		}
	}
	if r.str("scope") != c.Scope {
		t.Errorf("the answer's scope %q differs from the token's %q", r.str("scope"), c.Scope)
	}
	// go-oidc finds the issuer {public}/ by discovery and checks the id_token against its keys.
	provider, err := oidc.NewProvider(t.Context(), e.public+"/")
	if err != nil {
		t.Fatalf("go-oidc discovery of %s/: %v", e.public, err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(t.Context(), tk.id)
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	if idt.Subject != c.Subject || idt.Expiry.Sub(idt.IssuedAt) != 24*time.Hour {
		t.Errorf("id_token sub %q, life %s; want %q, 24h", idt.Subject, idt.Expiry.Sub(idt.IssuedAt), c.Subject)
	}
	return tk
}

// TestSeedPKCEFlow runs seed 000 as its script does, with only the host changed: the
// verifier and challenge, /authorize through the login page (the organization chosen on
// it), the code shown on /mobile, the JSON code exchange with an empty redirect_uri, then
// the refresh token, twice, without rotation.
func TestSeedPKCEFlow(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testSeedPKCEFlow(t, newTestEnv(t, envOptions{store: eng.open}))
		})
	}
}

func testSeedPKCEFlow(t *testing.T, e *testEnv) {
	ctx := t.Context()
	verifier, challenge := seedPKCE(t)
	state := "st" + secret.NewToken("")[:10]
	b := newBrowser(t, e)
	login := b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, state))
	if !isLoginPage(login) {
		t.Fatalf("GET /authorize: want the login page, got %d: %s", login.status, excerpt(login.body))
	}
	wantSecurePage(t, login)
	if f := formOf(t, login); f.action != e.public+"/authorize" || !f.askOrg {
		t.Errorf("the login form posts to %s and asks for the organization: %v; want %s/authorize and yes", f.action, f.askOrg, e.public)
	}
	p := b.signIn(t, login, orgName, aliceEmail, userPassword)
	if len(p.hops) != 2 || p.hops[0].status != http.StatusSeeOther || !strings.HasPrefix(p.hops[0].to, e.public+"/authorize?") {
		t.Errorf("after the sign-in: redirects %v, want 303 back to /authorize, then 302 to /mobile", p.hops)
	}
	code := mobileCode(t, e, p, state)

	r := e.seedJSON(t, codeExchangeJSON(code, verifier, seedPKCEClient))
	tk := wantSeedTokens(t, e, r, seedPKCEClient, true)
	if got := strings.Fields(r.str("scope")); !sameSet(got, seedGranted) {
		t.Errorf("scope %q, want %v", r.str("scope"), seedGranted)
	}
	if tk.claims.Subject != e.alice.Key {
		t.Errorf("the token is of %s, want alice (%s)", tk.claims.Subject, e.alice.Key)
	}
	// The refresh token neither rotates nor expires.
	rt, err := e.st.RefreshTokenGet(ctx, secret.HashToken(tk.refresh))
	if err != nil || rt.Rotates || rt.ExpiresAt != nil || rt.Issuer != e.public+"/" {
		t.Errorf("stored refresh token: %+v (%v); want one that neither rotates nor expires, of issuer %s/", rt, err, e.public)
	}

	// The same refresh token, twice: 24-hour tokens each time, and no new refresh token.
	seen := map[string]bool{tk.access: true}
	for i := range 2 {
		fresh := wantSeedTokens(t, e, e.seedJSON(t, refreshJSON(seedPKCEClient, tk.refresh)), seedPKCEClient, false)
		if seen[fresh.access] || fresh.claims.Family != tk.claims.Family || fresh.claims.Scope != tk.claims.Scope {
			t.Errorf("refresh %d: repeated access token, or family %q / scope %q differ from %q / %q", i+1,
				fresh.claims.Family, fresh.claims.Scope, tk.claims.Family, tk.claims.Scope)
		}
		seen[fresh.access] = true
	}

	// /userinfo and /.well-known/jwks.json at the root.
	req, _ := http.NewRequest(http.MethodGet, e.base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tk.access)
	if ui := e.do(t, req); ui.status != http.StatusOK || ui.str("email") != aliceEmail || ui.str("sub") != e.alice.Key {
		t.Errorf("GET /userinfo: %d %s", ui.status, ui.body)
	}
	req, _ = http.NewRequest(http.MethodGet, e.base+"/.well-known/jwks.json", nil)
	if j := e.do(t, req); j.status != http.StatusOK || !strings.Contains(j.body, `"kid":"`+e.keys.SigningKID()+`"`) {
		t.Errorf("GET /.well-known/jwks.json: %d %s; want the signing key %s", j.status, j.body, e.keys.SigningKID())
	}

	// A code works once.
	wantError(t, e.seedJSON(t, codeExchangeJSON(code, verifier, seedPKCEClient)), http.StatusBadRequest, "invalid_grant",
		"the authorization code was already used at")
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// TestSeedRefreshNeverExpires checks that a seed-era refresh token still works a year on.
func TestSeedRefreshNeverExpires(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	verifier, challenge := seedPKCE(t)
	b := newBrowser(t, e)
	p := b.signIn(t, b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, "s1")), orgName, aliceEmail, userPassword)
	tk := wantSeedTokens(t, e, e.seedJSON(t, codeExchangeJSON(mobileCode(t, e, p, "s1"), verifier, seedPKCEClient)), seedPKCEClient, true)
	clk.Add(400 * 24 * time.Hour)
	if err := e.keys.Rotate(t.Context()); err != nil { // a running server rotates its keys by itself
		t.Fatal(err)
	}
	if _, err := e.verifier.Verify(t.Context(), tk.access); err == nil {
		t.Error("a 400-day-old access token is accepted")
	}
	wantSeedTokens(t, e, e.seedJSON(t, refreshJSON(seedPKCEClient, tk.refresh)), seedPKCEClient, false)
}

// TestSeedRevocation revokes a seed-era refresh token at /identity_/connect/revocation: the
// token is refused from then on, and the 24-hour access tokens obtained with it stay denied
// for all of their life, not only for the hour that /identity_ tokens live.
func TestSeedRevocation(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	verifier, challenge := seedPKCE(t)
	b := newBrowser(t, e)
	p := b.signIn(t, b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, "s1")), orgName, aliceEmail, userPassword)
	tk := wantSeedTokens(t, e, e.seedJSON(t, codeExchangeJSON(mobileCode(t, e, p, "s1"), verifier, seedPKCEClient)), seedPKCEClient, true)
	fresh := wantSeedTokens(t, e, e.seedJSON(t, refreshJSON(seedPKCEClient, tk.refresh)), seedPKCEClient, false)

	form := url.Values{"client_id": {seedPKCEClient}, "token": {tk.refresh}}
	if r := e.postToken(t, "/identity_/connect/revocation", "application/x-www-form-urlencoded", form.Encode(), nil); r.status != http.StatusOK {
		t.Fatalf("revocation: %d %s", r.status, r.body)
	}
	wantError(t, e.seedJSON(t, refreshJSON(seedPKCEClient, tk.refresh)), http.StatusBadRequest, "invalid_grant", "the refresh token was revoked at")
	clk.Add(2 * time.Hour)
	if err := e.deny.Refresh(t.Context()); err != nil { // drops the revocations that have run out
		t.Fatal(err)
	}
	for i, tok := range []string{tk.access, fresh.access} {
		if _, err := e.verifier.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), "family was revoked") {
			t.Errorf("access token %d, 2 h after its refresh token was revoked: %v, want refused", i+1, err)
		}
	}
}

// TestSeedRealClient signs in with golang.org/x/oauth2 against /authorize and /oauth/token
// (form bodies, client_id in the body) with a loopback redirect, as a script on the
// user's machine would, and refreshes twice with the same refresh token.
func TestSeedRealClient(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	conf := &oauth2.Config{ClientID: seedPowerShellClient, RedirectURL: "http://127.0.0.1:49213/callback",
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/authorize", TokenURL: e.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   strings.Fields(seedScope)}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st-real", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("audience", "https://orchestrator.cloud.uipath.com"))
	b := newBrowser(t, e)
	cb := b.signIn(t, b.get(t, authURL), orgName, aliceEmail, userPassword).redirect(t)
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != conf.RedirectURL || cb.Query().Get("state") != "st-real" {
		t.Fatalf("redirected to %s, want %s with state st-real", cb, conf.RedirectURL)
	}
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if d := time.Until(tok.Expiry); d < 23*time.Hour || d > 25*time.Hour || !strings.HasPrefix(tok.RefreshToken, "oo_rt_") {
		t.Errorf("the token expires in %s with refresh token %q; want 24h and oo_rt_…", d, tok.RefreshToken)
	}
	if id, _ := tok.Extra("id_token").(string); id == "" {
		t.Error("no id_token")
	}
	c, err := e.verifier.Verify(ctx, tok.AccessToken)
	if err != nil || c.Issuer != e.public+"/" || c.ClientID != seedPowerShellClient {
		t.Errorf("access token: iss %q client_id %q (%v)", c.Issuer, c.ClientID, err)
	}
	for i := range 2 {
		expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
		fresh, err := conf.TokenSource(ctx, expired).Token()
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		// No new refresh token comes back, so the client keeps the one it has.
		if fresh.RefreshToken != tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
			t.Errorf("refresh %d: refresh token %q (had %q), access token new: %v", i+1, fresh.RefreshToken, tok.RefreshToken,
				fresh.AccessToken != tok.AccessToken)
		}
		if _, err := e.verifier.Verify(ctx, fresh.AccessToken); err != nil {
			t.Errorf("refresh %d: %v", i+1, err)
		}
	}
}

// TestSeedFormBody sends the code exchange of seed 000 as a form instead of JSON.
func TestSeedFormBody(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	verifier, challenge := seedPKCE(t)
	b := newBrowser(t, e)
	p := b.signIn(t, b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, "s-form")), orgName, aliceEmail, userPassword)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {mobileCode(t, e, p, "s-form")}, "redirect_uri": {""},
		"code_verifier": {verifier}, "client_id": {seedPKCEClient}}
	tk := wantSeedTokens(t, e, e.postToken(t, "/oauth/token", "application/x-www-form-urlencoded", form.Encode(), nil), seedPKCEClient, true)
	form = url.Values{"grant_type": {"refresh_token"}, "client_id": {seedPKCEClient}, "refresh_token": {tk.refresh}}
	wantSeedTokens(t, e, e.postToken(t, "/oauth/token", "application/x-www-form-urlencoded", form.Encode(), nil), seedPKCEClient, false)
}

// TestSeedRedirects checks which redirect URIs the seed-era sign-in accepts: {public}/mobile
// and loopback ones for the three built-in seed-era clients (and /mobile when none is
// sent); anything else is refused on a page that says what is allowed, never redirected to.
func TestSeedRedirects(t *testing.T) {
	t.Parallel()
	// A public URL that is not a loopback address, so that /mobile is accepted as itself.
	e := newTestEnv(t, envOptions{publicURL: "https://orch.example.test"})
	_, challenge := seedPKCE(t)
	for _, id := range []string{seedPKCEClient, seedAPIAccessClient, seedPowerShellClient} {
		for _, redirect := range []string{e.public + "/mobile", "http://localhost:8765/cb", "http://127.0.0.1:1/"} {
			if p := newBrowser(t, e).get(t, e.seedAuthorizeURL(id, redirect, challenge, "s")); !isLoginPage(p) {
				t.Errorf("%s with redirect_uri %s: %d, want the login page: %s", id, redirect, p.status, excerpt(p.body))
			}
		}
		for _, redirect := range []string{"https://attacker.example/mobile", e.public + "/mobile/x", "https://localhost/cb", e.public + "/",
			"http://orch.example.test/mobile"} {
			p := newBrowser(t, e).get(t, e.seedAuthorizeURL(id, redirect, challenge, "s"))
			text := pageText(p.body)
			if p.status != http.StatusBadRequest || p.location != "" || len(p.hops) != 0 ||
				!strings.Contains(text, "redirect_uri "+redirect+" is not registered for") ||
				!strings.Contains(text, "Registered: "+e.public+"/mobile (a page that shows the code) or any loopback address (http://localhost:PORT or http://127.0.0.1:PORT).") {
				t.Errorf("%s with redirect_uri %s: %d Location %q: %s", id, redirect, p.status, p.location, text)
			}
		}
	}
	// /mobile is for the seed-era clients: the CLI takes loopback addresses only.
	if p := newBrowser(t, e).get(t, e.seedAuthorizeURL("orch-cli", e.public+"/mobile", challenge, "s")); p.status != http.StatusBadRequest ||
		!strings.Contains(pageText(p.body), "Registered: any loopback address") {
		t.Errorf("orch-cli with /mobile: %d %s", p.status, pageText(p.body))
	}
	// Without redirect_uri a seed-era sign-in ends on /mobile, and the exchange needs none.
	e = newTestEnv(t, envOptions{})
	verifier, challenge := seedPKCE(t)
	q := url.Values{"response_type": {"code"}, "client_id": {seedPKCEClient}, "scope": {seedScope}, "state": {"s-none"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	b := newBrowser(t, e)
	p := b.signIn(t, b.get(t, e.base+"/authorize?"+q.Encode()), orgName, aliceEmail, userPassword)
	code := mobileCode(t, e, p, "s-none")
	wantSeedTokens(t, e, e.seedJSON(t, `{"grant_type":"authorization_code","code":"`+code+`","code_verifier":"`+verifier+`","client_id":"`+seedPKCEClient+`"}`),
		seedPKCEClient, true)
	// /mobile itself shows only codes of this server.
	for _, u := range []string{"/mobile", "/mobile?code=Call+us+at+555-0100", "/mobile?error=access_denied&error_description=alice+denied+access"} {
		p := newBrowser(t, e).get(t, e.base+u)
		if p.status != http.StatusOK || reMobileCode.MatchString(p.body) {
			t.Errorf("GET %s: %d, shows a code: %v", u, p.status, reMobileCode.MatchString(p.body))
		}
		if strings.Contains(p.body, "555-0100") {
			t.Errorf("GET %s shows the text of the link", u)
		}
	}
}

// TestSeedTokenErrors checks each refusal of /oauth/token: RFC 6749 JSON whose
// error_description names the problem and the fix.
func TestSeedTokenErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	b := newBrowser(t, e)
	// seedCode signs alice in (once) and returns a fresh code and its verifier.
	seedCode := func(t *testing.T) (code, verifier string) {
		verifier, challenge := seedPKCE(t)
		state := secret.NewToken("")[:12]
		p := b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, state))
		if isLoginPage(p) {
			p = b.signIn(t, p, orgName, aliceEmail, userPassword)
		}
		return mobileCode(t, e, p, state), verifier
	}
	code0, v0 := seedCode(t) // the browser is signed in from here on
	seedRefresh := wantSeedTokens(t, e, e.seedJSON(t, codeExchangeJSON(code0, v0, seedPKCEClient)), seedPKCEClient, true).refresh

	t.Run("missing code_verifier", func(t *testing.T) {
		t.Parallel()
		code, _ := seedCode(t)
		wantError(t, e.seedJSON(t, `{"grant_type":"authorization_code","code":"`+code+`","redirect_uri":"","client_id":"`+seedPKCEClient+`"}`),
			http.StatusBadRequest, "invalid_grant", "code_verifier is missing: this code was requested with a code_challenge")
	})
	t.Run("code_verifier does not match", func(t *testing.T) {
		t.Parallel()
		code, _ := seedCode(t)
		other, _ := seedPKCE(t)
		r := e.seedJSON(t, codeExchangeJSON(code, other, seedPKCEClient))
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if d := r.str("error_description"); d != "code_verifier does not match the code_challenge sent to /authorize" {
			t.Errorf("error_description %q", d)
		}
	})
	t.Run("code used twice", func(t *testing.T) {
		t.Parallel()
		code, v := seedCode(t)
		tk := wantSeedTokens(t, e, e.seedJSON(t, codeExchangeJSON(code, v, seedPKCEClient)), seedPKCEClient, true)
		wantError(t, e.seedJSON(t, codeExchangeJSON(code, v, seedPKCEClient)), http.StatusBadRequest, "invalid_grant",
			"the authorization code was already used at", "every token issued from it is now revoked")
		wantError(t, e.seedJSON(t, refreshJSON(seedPKCEClient, tk.refresh)), http.StatusBadRequest, "invalid_grant", "refresh token was revoked at")
	})
	t.Run("redirect_uri that does not match", func(t *testing.T) {
		t.Parallel()
		code, v := seedCode(t)
		body := strings.Replace(codeExchangeJSON(code, v, seedPKCEClient), `"redirect_uri": ""`, `"redirect_uri": "http://localhost:1/x"`, 1)
		wantError(t, e.seedJSON(t, body), http.StatusBadRequest, "invalid_grant",
			`redirect_uri "http://localhost:1/x" does not match the one sent to /authorize (`+e.public+"/mobile)")
	})
	t.Run("code of /identity_ at /oauth/token and back", func(t *testing.T) {
		t.Parallel()
		u, v := e.cliAuthorize("", cliScope)
		r := e.seedJSON(t, `{"grant_type":"authorization_code","client_id":"orch-cli","code":"`+b.codeFor(t, u)+`","code_verifier":"`+v+`","redirect_uri":"`+cliRedirect+`"}`)
		wantError(t, r, http.StatusBadRequest, "invalid_grant",
			"issued by "+e.public+"/identity_; exchange it at "+e.public+"/identity_/connect/token")
		code, v := seedCode(t)
		wantError(t, e.exchangeCode(t, "", seedPKCEClient, "", code, v, e.public+"/mobile"), http.StatusBadRequest, "invalid_grant",
			"issued by "+e.public+"/; exchange it at "+e.public+"/oauth/token")
	})
	t.Run("refresh tokens stay with their endpoint", func(t *testing.T) {
		t.Parallel()
		u, v := e.cliAuthorize("", cliScope)
		_, rt := wantTokens(t, e.exchangeCode(t, "", cliID, "", b.codeFor(t, u), v, cliRedirect))
		wantError(t, e.seedJSON(t, refreshJSON(cliID, rt)), http.StatusBadRequest, "invalid_grant",
			"refresh it at "+e.public+"/identity_/connect/token")
		wantError(t, e.refresh(t, "", seedPKCEClient, "", seedRefresh, ""), http.StatusBadRequest, "invalid_grant",
			"refresh it at "+e.public+"/oauth/token")
		wantTokens(t, e.refresh(t, "", cliID, "", rt, "")) // both still work where they belong
		wantSeedTokens(t, e, e.seedJSON(t, refreshJSON(seedPKCEClient, seedRefresh)), seedPKCEClient, false)
	})
	t.Run("refresh token of another client", func(t *testing.T) {
		t.Parallel()
		wantError(t, e.seedJSON(t, refreshJSON(seedPowerShellClient, seedRefresh)), http.StatusBadRequest, "invalid_grant",
			"the refresh token was issued to client "+seedPKCEClient+", not "+seedPowerShellClient)
	})

	// Bodies that are not what /oauth/token takes.
	for _, tc := range []struct {
		name, ct, body, code string
		desc                 []string
	}{
		{"JSON cut short", "application/json", `{"grant_type": "authorization_code", "code": }`, "invalid_request",
			[]string{"the body is not valid JSON at line 1, column 46 (invalid character '}' looking for beginning of value): a value is missing there"}},
		{"typographic quotes", "application/json", "{\n  “grant_type”: “refresh_token”\n}", "invalid_request",
			[]string{"at line 2, column 3 (invalid character '“' looking for beginning of object key string): typographic quotes (“ ”) are not JSON; use straight double quotes"}},
		{"single quotes", "application/json", `{'grant_type': 'refresh_token'}`, "invalid_request",
			[]string{"at line 1, column 2", "double quotes"}},
		{"comma after the last field", "application/json", "{\n \"grant_type\": \"refresh_token\",\n \"client_id\": \"x\",\n}", "invalid_request",
			[]string{"at line 4, column 1", "is there a comma after the last field?"}},
		{"unclosed object", "application/json", `{"grant_type": "refresh_token"`, "invalid_request",
			[]string{"at line 1, column 31", "the body ends before the JSON is complete"}},
		{"two values", "application/json", `{"grant_type": "refresh_token"} {}`, "invalid_request",
			[]string{"at line 1, column 33 (invalid character '{' after top-level value): send one JSON object and nothing after it"}},
		{"not an object", "application/json", `["refresh_token"]`, "invalid_request",
			[]string{`the JSON body must be an object such as {"grant_type":"refresh_token",…}, not an array`}},
		{"number field", "application/json", `{"grant_type": "refresh_token", "client_id": 5}`, "invalid_request",
			[]string{`field "client_id" of the JSON body must be a string, not a number`}},
		{"empty body", "application/json", "", "invalid_request", []string{"the body is empty: send the fields as a JSON object"}},
		{"XML", "application/xml", "<grant_type>refresh_token</grant_type>", "invalid_request",
			[]string{`/oauth/token takes a JSON body (Content-Type: application/json) or a form body (Content-Type: application/x-www-form-urlencoded), got Content-Type "application/xml"`}},
		{"no grant_type", "application/json", `{"client_id": "` + seedPKCEClient + `"}`, "invalid_request",
			[]string{"grant_type is missing: use authorization_code, or refresh_token with a refresh token or a user key"}},
		{"client_credentials", "application/json", `{"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}`, "unsupported_grant_type",
			[]string{`grant_type "client_credentials" is not served at /oauth/token`, "client_credentials and the device flow are at " + e.public + "/identity_/connect/token"}},
		{"unknown client", "application/json", refreshJSON("no-such-client", seedRefresh), "invalid_client",
			[]string{`client_id "no-such-client" is not known on this server`}},
		{"no refresh_token", "application/json", `{"grant_type": "refresh_token", "client_id": "` + seedPKCEClient + `", "refresh_token": null}`, "invalid_request",
			[]string{"refresh_token is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status := http.StatusBadRequest
			if tc.code == "invalid_client" {
				status = http.StatusUnauthorized
			}
			wantError(t, e.postToken(t, "/oauth/token", tc.ct, tc.body, nil), status, tc.code, tc.desc...)
		})
	}
	t.Run("fields in the query string", func(t *testing.T) {
		t.Parallel()
		q := url.Values{"grant_type": {"refresh_token"}, "client_id": {seedPKCEClient}, "refresh_token": {seedRefresh}}
		wantError(t, e.postToken(t, "/oauth/token?"+q.Encode(), "application/json", "", nil), http.StatusBadRequest, "invalid_request",
			"the fields are in the URL's query string; send them in the body instead")
	})
	t.Run("JSON without a Content-Type", func(t *testing.T) {
		t.Parallel()
		wantSeedTokens(t, e, e.postToken(t, "/oauth/token", "", refreshJSON(seedPKCEClient, seedRefresh), nil), seedPKCEClient, false)
		wantSeedTokens(t, e, e.postToken(t, "/oauth/token", "text/plain", refreshJSON(seedPKCEClient, seedRefresh), nil), seedPKCEClient, false)
	})
	t.Run("CORS from a loopback page", func(t *testing.T) {
		t.Parallel()
		r := e.postToken(t, "/oauth/token", "application/json; charset=utf-8", refreshJSON(seedPKCEClient, seedRefresh),
			map[string]string{"Origin": "http://localhost:3000"})
		wantSeedTokens(t, e, r, seedPKCEClient, false)
		if r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
			t.Errorf("Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// TestSeedDiscovery checks the discovery document of the issuer {public}/.
func TestSeedDiscovery(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	req, _ := http.NewRequest(http.MethodGet, e.base+"/.well-known/openid-configuration", nil)
	r := e.do(t, req)
	want := map[string]string{"issuer": e.public + "/", "authorization_endpoint": e.public + "/authorize",
		"token_endpoint": e.public + "/oauth/token", "userinfo_endpoint": e.public + "/userinfo", "jwks_uri": e.public + "/.well-known/jwks.json"}
	for k, v := range want {
		if r.str(k) != v {
			t.Errorf("%s = %q, want %q", k, r.str(k), v)
		}
	}
	var doc struct {
		Grants []string `json:"grant_types_supported"`
	}
	json.Unmarshal([]byte(r.body), &doc)
	if !sameSet(doc.Grants, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("grant_types_supported %v", doc.Grants)
	}
}

// ---- user keys

const userKeysPath = "/" + orgName + "/identity_/api/UserKeys"

// userKeyJSON is the body with which seed 002's scripts exchange a user key.
func userKeyJSON(clientID, key string) string { return refreshJSON(clientID, key) }

// TestUserKeys creates user keys through the API (with the session of a seed-era sign-in
// and with an access token), exchanges one three times at /oauth/token, revokes it, and
// checks that it is then refused and the access tokens obtained with it are denied, on this
// node and on another.
func TestUserKeys(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testUserKeys(t, newAdminEnv(t, envOptions{store: eng.open}))
		})
	}
}

func testUserKeys(t *testing.T, a *adminEnv) {
	ctx := t.Context()
	e := a.testEnv

	// alice signs in at the seed-era /authorize; the browser's session works the API too.
	_, challenge := seedPKCE(t)
	b := newBrowser(t, e)
	mobileCode(t, e, b.signIn(t, b.get(t, e.seedAuthorizeURL(seedPKCEClient, e.public+"/mobile", challenge, "s")), orgName, aliceEmail, userPassword), "s")
	base, _ := url.Parse(e.base)
	cookies := map[string]string{}
	for _, c := range b.jar.Cookies(base) {
		cookies[c.Name] = c.Value
	}
	session := map[string]string{"Cookie": "oo_session=" + cookies["oo_session"] + "; oo_csrf=" + cookies["oo_csrf"], "X-CSRF-Token": cookies["oo_csrf"]}
	r := a.call(t, "POST", userKeysPath, "", map[string]any{"name": "nightly report"}, session)
	if r.status != http.StatusCreated {
		t.Fatalf("create with the session: %d %s", r.status, r.body)
	}
	created := r.obj(t)
	key, _ := created["userKey"].(string)
	keyID, _ := created["key"].(string)
	if !strings.HasPrefix(key, "oo_uk_") || len(key) < 40 || created["name"] != "nightly report" || created["clientId"] != seedAPIAccessClient ||
		created["tokenUrl"] != e.public+"/oauth/token" || created["revokedAt"] != nil || r.header.Get("Location") == "" {
		t.Fatalf("created: %s (Location %q)", r.body, r.header.Get("Location"))
	}
	// A second key, with alice's access token and no body: it gets the default name.
	aliceAuth := bearer(a.userToken(t, a.alice, a.org, "OrchestratorApiUserAccess"))
	r = a.call(t, "POST", userKeysPath, aliceAuth, nil, nil)
	if r.status != http.StatusCreated || r.obj(t)["name"] != "API access" {
		t.Fatalf("create with a token: %d %s", r.status, r.body)
	}
	other, _ := r.obj(t)["userKey"].(string)

	// Listed without the keys or their hashes; nobody else sees them.
	r = a.call(t, "GET", userKeysPath, aliceAuth, nil, nil)
	for _, bad := range []string{key, secret.HashToken(key), other, `"userKey"`} {
		if strings.Contains(string(r.body), bad) {
			t.Errorf("the list contains %q: %s", bad, r.body)
		}
	}
	if l := r.list(t); r.status != http.StatusOK || len(l) != 2 || l[1]["key"] != keyID {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	bobAuth := bearer(a.userToken(t, a.bob, a.org, "OrchestratorApiUserAccess"))
	if r := a.call(t, "GET", userKeysPath, bobAuth, nil, nil); string(r.body) != "[]\n" {
		t.Errorf("bob's list: %d %s", r.status, r.body)
	}
	wantAPIError(t, a.call(t, "DELETE", userKeysPath+"/"+keyID, bobAuth, nil, nil), http.StatusNotFound, "you have no user key with id")

	// Exchanged three times, as seed 002's scripts do (with the tenant header they send).
	var minted, mintedID []string
	for i := range 3 {
		r := e.postToken(t, "/oauth/token", "application/json", userKeyJSON(seedAPIAccessClient, key), map[string]string{"X-UIPATH-TenantName": "Default"})
		tk := wantSeedTokens(t, e, r, seedAPIAccessClient, false)
		mintedID = append(mintedID, tk.id)
		if tk.claims.Subject != e.alice.Key || tk.claims.Family != "userkey:"+keyID || slices.Contains(minted, tk.access) {
			t.Errorf("use %d: sub %q family %q (want alice, userkey:%s), repeated: %v", i+1, tk.claims.Subject, tk.claims.Family, keyID,
				slices.Contains(minted, tk.access))
		}
		minted = append(minted, tk.access)
	}
	if r := a.call(t, "GET", userKeysPath+"/"+keyID, aliceAuth, nil, nil); r.obj(t)["lastUsedAt"] == nil {
		t.Errorf("lastUsedAt not recorded: %s", r.body)
	}
	// The PowerShell module's client takes user keys too; other clients do not.
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedPowerShellClient, key)), seedPowerShellClient, false)
	wantError(t, e.seedJSON(t, userKeyJSON(cliID, key)), http.StatusBadRequest, "unauthorized_client",
		"user keys are exchanged with client_id "+seedAPIAccessClient)
	// A user key is not a bearer token, nor a refresh token of /identity_.
	wantAPIError(t, a.call(t, "GET", userKeysPath, bearer(key), nil, nil), http.StatusUnauthorized,
		"the bearer token is a user key", e.public+"/oauth/token")
	wantError(t, e.refresh(t, "", seedAPIAccessClient, "", key, ""), http.StatusBadRequest, "invalid_grant",
		"the refresh_token is a user key; user keys are exchanged at "+e.public+"/oauth/token")
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, "oo_uk_"+strings.Repeat("x", 43))), http.StatusBadRequest, "invalid_grant",
		"the user key is not known")

	// Revoked: the key is refused, saying so and when; its tokens are denied here and on
	// another node (a second deny-list over the same database, as another server has).
	if r := a.call(t, "DELETE", userKeysPath+"/"+keyID, aliceAuth, nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := a.call(t, "DELETE", userKeysPath+"/"+keyID, aliceAuth, nil, nil); r.status != http.StatusNoContent {
		t.Errorf("revoking again: %d %s", r.status, r.body)
	}
	r = a.call(t, "GET", userKeysPath+"/"+keyID, aliceAuth, nil, nil)
	revokedAt, _ := r.obj(t)["revokedAt"].(string)
	at, err := time.Parse(time.RFC3339Nano, revokedAt)
	if err != nil {
		t.Fatalf("revokedAt %q: %v", revokedAt, err)
	}
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, key)), http.StatusBadRequest, "invalid_grant",
		`the user key "nightly report" was revoked at `+at.UTC().Format(time.RFC3339)+"; create a new one")
	otherNode, err := identity.NewDenyList(ctx, a.st, nil, a.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*identity.Verifier{e.verifier, identity.NewVerifier(e.keys, otherNode, e.public)} {
		for i, tok := range minted {
			if _, err := v.Verify(ctx, tok); err == nil || !strings.Contains(err.Error(), "the user key it was obtained with was revoked at") {
				t.Errorf("token %d of the revoked key: %v, want refused", i+1, err)
			}
		}
	}
	// Its id_tokens, which discovery accepts as credentials, are denied too.
	for i, id := range mintedID {
		if _, err := a.svc.VerifyIDToken(ctx, id); err == nil || !strings.Contains(err.Error(), "the user key it was obtained with was revoked at") {
			t.Errorf("id_token %d of the revoked key: %v, want refused", i+1, err)
		}
	}
	// The other key is untouched.
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, other)), seedAPIAccessClient, false)

	// A disabled user's keys stop working, and work again once the user is enabled.
	setDisabled := func(d bool) {
		if _, err := a.st.UserUpdate(ctx, a.org.ID, a.alice.ID, func(u tenancy.User) (tenancy.User, error) {
			u.Disabled = d
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setDisabled(true)
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, other)), http.StatusBadRequest, "invalid_grant",
		`the user key "API access" belongs to `+aliceEmail+", who is disabled")
	setDisabled(false)
	wantSeedTokens(t, e, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, other)), seedAPIAccessClient, false)

	// A deleted user's keys go with the user.
	if err := a.st.UserDelete(ctx, a.org.ID, a.alice.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.seedJSON(t, userKeyJSON(seedAPIAccessClient, other)), http.StatusBadRequest, "invalid_grant", "the user key is not known")

	evs, err := a.st.IdentityEventList(ctx, a.org.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		if ev.Subject == e.alice.Key && strings.HasPrefix(ev.Kind, "userkey.") {
			count[ev.Kind]++
		}
	}
	if count["userkey.created"] != 2 || count["userkey.revoked"] != 1 || count["userkey.refused"] != 2 {
		t.Errorf("user key events of alice: %v; want 2 created, 1 revoked, 2 refused", count)
	}
}

// TestUserKeyRequests checks the refusals of the user key API.
func TestUserKeyRequests(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	auth := bearer(a.userToken(t, a.dev, a.org, "IdentityServerApi"))
	wantAPIError(t, a.call(t, "POST", userKeysPath, auth, map[string]any{"name": ""}, nil), http.StatusBadRequest, "name is missing")
	wantAPIError(t, a.call(t, "POST", userKeysPath, auth, map[string]any{"nmae": "x"}, nil), http.StatusBadRequest, "the body has field")
	wantAPIError(t, a.call(t, "POST", userKeysPath, auth, `{"name": `, nil), http.StatusBadRequest, "not valid JSON")
	wantAPIError(t, a.call(t, "GET", userKeysPath+"/12345", auth, nil, nil), http.StatusNotFound, `you have no user key with id "12345"`)
	wantAPIError(t, a.call(t, "GET", userKeysPath, "", nil, nil), http.StatusUnauthorized, "no Authorization header")
	wantAPIError(t, a.call(t, "GET", "/globex/identity_/api/UserKeys", auth, nil, nil), http.StatusForbidden, "wrong organization")
	wantAPIError(t, a.call(t, "GET", userKeysPath, bearer(a.userToken(t, a.dev, a.org, "OR.Jobs")), nil, nil), http.StatusForbidden,
		"lacks scope IdentityServerApi (or OrchestratorApiUserAccess)")
	// Listed among the administration APIs (and so in the OpenAPI document).
	n := 0
	for _, rt := range identity.AdminRoutes() {
		if strings.HasPrefix(rt.Path, "/{org}/identity_/api/UserKeys") && !rt.OrgAdmin {
			n++
		}
	}
	if n != 4 {
		t.Errorf("AdminRoutes lists %d user key operations for every user, want 4", n)
	}
	if r := a.call(t, "POST", userKeysPath, auth, nil, nil); r.status != http.StatusCreated {
		t.Errorf("create without a body: %d %s", r.status, r.body)
	}
}

// TestSeedExternalApp signs in to an organization's own confidential app at /authorize:
// the consent page posts back to /authorize, and the code is exchanged at /oauth/token with
// the app's secret (golang.org/x/oauth2, secret in the body).
func TestSeedExternalApp(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	conf := &oauth2.Config{ClientID: dashAppID, ClientSecret: e.dashSec, RedirectURL: dashRedirect, Scopes: []string{"openid", "OR.Jobs"},
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/authorize", TokenURL: e.base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	b := newBrowser(t, e)
	login := b.get(t, conf.AuthCodeURL("s-app"))
	if f := formOf(t, login); f.askOrg || f.action != e.public+"/authorize" {
		t.Errorf("the login page asks for the organization: %v, posts to %s; want no (the app's is known) and %s/authorize", f.askOrg, f.action, e.public)
	}
	consent := b.signIn(t, login, "", aliceEmail, userPassword)
	if f := formOf(t, consent); f.action != e.public+"/authorize" {
		t.Errorf("the consent form posts to %s, want %s/authorize", f.action, e.public)
	}
	cb := b.consent(t, consent, "allow").redirect(t)
	if cb.Scheme+"://"+cb.Host+cb.Path != dashRedirect || cb.Query().Get("state") != "s-app" {
		t.Fatalf("Allow went to %s, want %s with state s-app", cb, dashRedirect)
	}
	tok, err := conf.Exchange(t.Context(), cb.Query().Get("code"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	c := wantUserToken(t, e, tok.AccessToken, e.public+"/", dashAppID)
	if c.Scope != "openid OR.Jobs" || c.Expiry-c.IssuedAt != 86400 {
		t.Errorf("scope %q, life %ds; want \"openid OR.Jobs\", 86400s", c.Scope, c.Expiry-c.IssuedAt)
	}
	p := b.consent(t, b.get(t, conf.AuthCodeURL("s-deny")), "deny")
	wantAuthorizeError(t, p, dashRedirect, "s-deny", "access_denied", aliceEmail+" denied access")
}
