package identity_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

// The built-in CLI client and the loopback address it listens on (nothing listens there:
// the browser stops at the redirect and the test reads the code from it).
const (
	cliID       = "orch-cli"
	cliRedirect = "http://127.0.0.1:49213/cb"
)

// TestAuthCodeRealClient signs in as the CLI does, with golang.org/x/oauth2 (authorization
// code + PKCE) and go-oidc (discovery, id_token), the test playing the browser: at
// /identity_ (the login page asks for the organization), at /{org}/identity_ and with
// acr_values=tenantName:{org} (it does not). The tokens are verified, refreshed, and the
// refresh token rotates.
func TestAuthCodeRealClient(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, envOptions{store: eng.open})
			for _, tc := range []struct {
				name, pathOrg, acr string
				askOrg             bool
			}{
				{"identity_", "", "", true},
				{"org path", orgName, "", false},
				{"acr_values", "", "tenantName:" + orgName, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					testCLISignIn(t, e, tc.pathOrg, tc.acr, tc.askOrg)
				})
			}
		})
	}
}

func testCLISignIn(t *testing.T, e *testEnv, pathOrg, acr string, askOrg bool) {
	ctx := t.Context()
	iss := e.identityBase(pathOrg)
	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		t.Fatalf("oidc.NewProvider(%s): %v", iss, err)
	}
	if ep := provider.Endpoint(); ep.AuthURL != iss+"/connect/authorize" || ep.TokenURL != iss+"/connect/token" {
		t.Fatalf("discovered endpoints %s and %s, want %s/connect/authorize and /connect/token", ep.AuthURL, ep.TokenURL, iss)
	}
	conf := &oauth2.Config{ClientID: cliID, Endpoint: provider.Endpoint(), RedirectURL: cliRedirect,
		Scopes: []string{"openid", "email", "profile", "offline_access", "OR.Folders", "OR.Jobs"}}
	verifier := oauth2.GenerateVerifier()
	state, nonce := secret.NewToken("st_"), secret.NewToken("n_")
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)}
	if acr != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", acr))
	}
	authURL := conf.AuthCodeURL(state, opts...)

	// The browser: the login page, the sign-in, back to /authorize, on to the client.
	b := newBrowser(t, e)
	login := b.get(t, authURL)
	if !isLoginPage(login) {
		t.Fatalf("GET authorize: want the login page, got %d Location %q: %s", login.status, login.location, excerpt(login.body))
	}
	wantSecurePage(t, login)
	f := formOf(t, login)
	if f.action != iss+"/account/login" {
		t.Errorf("the login form posts to %s, want %s/account/login", f.action, iss)
	}
	if f.askOrg != askOrg {
		t.Errorf("the login page asks for the organization: %v, want %v", f.askOrg, askOrg)
	}
	if text := pageText(login.body); !askOrg && !strings.Contains(text, "Sign in to Acme") {
		t.Errorf("the login page does not name the organization: %s", text)
	}
	done := b.signIn(t, login, orgName, aliceEmail, userPassword)
	if len(done.hops) != 1 || done.hops[0].status != http.StatusSeeOther || !strings.HasPrefix(done.hops[0].to, iss+"/connect/authorize?") {
		t.Errorf("after the sign-in: redirects %v, want one 303 back to %s/connect/authorize", done.hops, iss)
	}
	cb := done.redirect(t)
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != cliRedirect {
		t.Fatalf("redirected to %s, want %s", cb, cliRedirect)
	}
	q := cb.Query()
	code := q.Get("code")
	if q.Get("state") != state || q.Get("error") != "" || !strings.HasPrefix(code, "oo_ac_") {
		t.Fatalf("the client got %s; want code=oo_ac_… and state %s", cb.RawQuery, state)
	}

	// The CLI exchanges the code.
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || !strings.HasPrefix(tok.RefreshToken, "oo_rt_") {
		t.Errorf("token_type %q, refresh token %q; want Bearer and oo_rt_…", tok.TokenType, tok.RefreshToken)
	}
	if d := time.Until(tok.Expiry); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the access token expires in %s, want 1h", d)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		t.Fatalf("no id_token in the answer (scope openid was asked)")
	}
	idTok, err := provider.Verifier(&oidc.Config{ClientID: cliID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc verifying the id_token: %v", err)
	}
	var idc struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		PrtID    string `json:"prt_id"`
		AuthTime int64  `json:"auth_time"`
	}
	if err := idTok.Claims(&idc); err != nil {
		t.Fatal(err)
	}
	if idTok.Nonce != nonce || idTok.Subject != e.alice.Key || idTok.Issuer != iss || idc.Email != aliceEmail ||
		idc.Name != "Alice Archer" || idc.PrtID != e.org.Key || idc.AuthTime == 0 {
		t.Errorf("id_token: nonce %q sub %q iss %q %+v; want nonce %q, sub %q (alice), iss %s, email %s, prt_id %s, auth_time",
			idTok.Nonce, idTok.Subject, idTok.Issuer, idc, nonce, e.alice.Key, iss, aliceEmail, e.org.Key)
	}
	c := wantUserToken(t, e, tok.AccessToken, iss, cliID)
	for _, sc := range []string{"OrchestratorApiUserAccess", "OR.Jobs", "OR.Folders", "offline_access", "openid"} {
		if !slices.Contains(c.Scopes(), sc) {
			t.Errorf("the access token's scope %q lacks %s", c.Scope, sc)
		}
	}
	if tok.Extra("scope") != c.Scope {
		t.Errorf("the answer's scope %v differs from the token's %q", tok.Extra("scope"), c.Scope)
	}

	// The CLI refreshes an expired access token: both tokens are new.
	expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)}
	fresh, err := conf.TokenSource(ctx, expired).Token()
	if err != nil {
		t.Fatalf("refreshing: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || !strings.HasPrefix(fresh.RefreshToken, "oo_rt_") {
		t.Errorf("the refresh answered the same tokens (access %v, refresh %v) or no new refresh token (%q)",
			fresh.AccessToken == tok.AccessToken, fresh.RefreshToken == tok.RefreshToken, fresh.RefreshToken)
	}
	c2 := wantUserToken(t, e, fresh.AccessToken, iss, cliID)
	if c2.Scope != c.Scope {
		t.Errorf("the refreshed token's scope %q, want the grant's %q", c2.Scope, c.Scope)
	}

	// The browser stays signed in: the next authorize goes straight back to the client.
	again := b.get(t, authURL)
	if u := again.redirect(t); u.Query().Get("code") == "" || u.Query().Get("code") == code {
		t.Errorf("a second authorize in the signed-in browser: %s, want a new code", u)
	}
}

// wantUserToken verifies an access token with the installation's Verifier and checks that
// it is alice's, issued by iss to clientID.
func wantUserToken(t testing.TB, e *testEnv, raw, iss, clientID string) identity.Claims {
	t.Helper()
	c, err := e.verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("identity.Verifier refuses the access token: %v", err)
	}
	if c.SubType != identity.SubUser || c.Subject != e.alice.Key || c.ClientID != clientID || c.Issuer != iss || c.OrgKey != e.org.Key {
		t.Errorf("access token claims sub_type %q sub %q client_id %q iss %q prt_id %q; want user, %s (alice), %s, %s, %s",
			c.SubType, c.Subject, c.ClientID, c.Issuer, c.OrgKey, e.alice.Key, clientID, iss, e.org.Key)
	}
	return c
}

// cliAuthorize returns an authorize URL of orch-cli at the identity base of pathOrg, with
// a fresh state and PKCE pair, and the verifier.
func (e *testEnv) cliAuthorize(pathOrg, scope string) (authURL, verifier string) {
	verifier = oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {cliID}, "redirect_uri": {cliRedirect}, "scope": {scope},
		"state": {secret.NewToken("")[:20]}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"}}
	return e.identityBase(pathOrg) + "/connect/authorize?" + q.Encode(), verifier
}

// codeFor follows authURL in the browser, signing alice in when the login page comes, and
// returns the code the client got (checking the state it came back with).
func (b *browser) codeFor(t testing.TB, authURL string) string {
	t.Helper()
	p := b.get(t, authURL)
	if isLoginPage(p) {
		p = b.signIn(t, p, orgName, aliceEmail, userPassword)
	}
	u := p.redirect(t)
	au, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("error") != "" || q.Get("code") == "" || q.Get("state") != au.Query().Get("state") {
		t.Fatalf("the client got %s, want a code and state %s", u, au.Query().Get("state"))
	}
	return q.Get("code")
}

// exchangeCode posts grant_type=authorization_code to the token endpoint of pathOrg.
func (e *testEnv) exchangeCode(t testing.TB, pathOrg, clientID, clientSecret, code, verifier, redirect string) response {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code}}
	for k, v := range map[string]string{"client_secret": clientSecret, "code_verifier": verifier, "redirect_uri": redirect} {
		if v != "" {
			form.Set(k, v)
		}
	}
	return e.postForm(t, pathOrg, form, nil)
}

// refresh posts grant_type=refresh_token to the token endpoint of pathOrg.
func (e *testEnv) refresh(t testing.TB, pathOrg, clientID, clientSecret, refreshToken, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {refreshToken}}
	for k, v := range map[string]string{"client_secret": clientSecret, "scope": scope} {
		if v != "" {
			form.Set(k, v)
		}
	}
	return e.postForm(t, pathOrg, form, nil)
}

// wantTokens checks a successful user-flow token answer.
func wantTokens(t testing.TB, r response) (access, refresh string) {
	t.Helper()
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("want tokens, got %d %s", r.status, r.body)
	}
	return r.str("access_token"), r.str("refresh_token")
}

const cliScope = "openid email profile offline_access OR.Folders OR.Jobs"

// TestAuthCodeAttacks tries what an attacker (or a broken client) would, and checks each
// refusal's error code and that its description names the cause.
func TestAuthCodeAttacks(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testAuthCodeAttacks(t, eng.open)
		})
	}
}

func testAuthCodeAttacks(t *testing.T, open func(testing.TB) store.Store) {
	e := newTestEnv(t, envOptions{store: open})
	// alice, signed in once: each case gets its codes from this browser.
	b := newBrowser(t, e)
	first, v0 := e.cliAuthorize("", cliScope)
	wantTokens(t, e.exchangeCode(t, "", cliID, "", b.codeFor(t, first), v0, cliRedirect))

	// tokens gets a fresh grant for orch-cli.
	tokens := func(t *testing.T) (access, refresh string) {
		u, v := e.cliAuthorize("", cliScope)
		return wantTokens(t, e.exchangeCode(t, "", cliID, "", b.codeFor(t, u), v, cliRedirect))
	}

	t.Run("code replay revokes what the code gave", func(t *testing.T) {
		t.Parallel()
		u, v := e.cliAuthorize("", cliScope)
		code := b.codeFor(t, u)
		access, refresh := wantTokens(t, e.exchangeCode(t, "", cliID, "", code, v, cliRedirect))
		if _, err := e.verifier.Verify(t.Context(), access); err != nil {
			t.Fatalf("the first exchange's access token: %v", err)
		}
		wantError(t, e.exchangeCode(t, "", cliID, "", code, v, cliRedirect), http.StatusBadRequest, "invalid_grant",
			"authorization code was already used", "every token issued from it is now revoked")
		wantError(t, e.refresh(t, "", cliID, "", refresh, ""), http.StatusBadRequest, "invalid_grant", "refresh token was revoked")
		if _, err := e.verifier.Verify(t.Context(), access); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("identity.Verifier still accepts the access token of a replayed code (err %v)", err)
		}
	})

	t.Run("wrong code_verifier", func(t *testing.T) {
		t.Parallel()
		u, _ := e.cliAuthorize("", cliScope)
		code := b.codeFor(t, u)
		r := e.exchangeCode(t, "", cliID, "", code, oauth2.GenerateVerifier(), cliRedirect)
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if d := r.str("error_description"); d != "code_verifier does not match the code_challenge sent to /authorize" {
			t.Errorf("error_description %q", d)
		}
	})

	t.Run("missing code_verifier", func(t *testing.T) {
		t.Parallel()
		u, _ := e.cliAuthorize("", cliScope)
		wantError(t, e.exchangeCode(t, "", cliID, "", b.codeFor(t, u), "", cliRedirect), http.StatusBadRequest, "invalid_grant",
			"code_verifier is missing")
	})

	t.Run("public client without code_challenge", func(t *testing.T) {
		t.Parallel()
		q := url.Values{"response_type": {"code"}, "client_id": {cliID}, "redirect_uri": {cliRedirect}, "scope": {cliScope}, "state": {"s-nopkce"}}
		wantAuthorizeError(t, b.get(t, e.identityBase("")+"/connect/authorize?"+q.Encode()), cliRedirect, "s-nopkce", "invalid_request", "PKCE")
	})

	t.Run("code_challenge_method plain", func(t *testing.T) {
		t.Parallel()
		v := oauth2.GenerateVerifier()
		q := url.Values{"response_type": {"code"}, "client_id": {cliID}, "redirect_uri": {cliRedirect}, "scope": {cliScope}, "state": {"s-plain"},
			"code_challenge": {v}, "code_challenge_method": {"plain"}}
		wantAuthorizeError(t, b.get(t, e.identityBase("")+"/connect/authorize?"+q.Encode()), cliRedirect, "s-plain", "invalid_request",
			"code_challenge_method plain is not accepted", "S256")
	})

	t.Run("redirect_uri mismatch at the token endpoint", func(t *testing.T) {
		t.Parallel()
		for _, redirect := range []string{"http://127.0.0.1:49213/other", "http://127.0.0.1:40000/cb", ""} {
			u, v := e.cliAuthorize("", cliScope)
			wantError(t, e.exchangeCode(t, "", cliID, "", b.codeFor(t, u), v, redirect), http.StatusBadRequest, "invalid_grant",
				"redirect_uri", "does not match the one sent to /authorize", cliRedirect)
		}
	})

	t.Run("code issued to another client", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ id, secret string }{{publicAppID, ""}, {dashAppID, e.dashSec}} {
			u, v := e.cliAuthorize("", cliScope)
			wantError(t, e.exchangeCode(t, "", c.id, c.secret, b.codeFor(t, u), v, cliRedirect), http.StatusBadRequest, "invalid_grant",
				"issued to client "+cliID+", not "+c.id)
		}
	})

	t.Run("code exchanged at another organization's endpoint", func(t *testing.T) {
		t.Parallel()
		u, v := e.cliAuthorize("", cliScope)
		wantError(t, e.exchangeCode(t, otherOrg, cliID, "", b.codeFor(t, u), v, cliRedirect), http.StatusBadRequest, "invalid_grant",
			"issued by "+e.identityBase(""))
	})

	t.Run("unknown code", func(t *testing.T) {
		t.Parallel()
		wantError(t, e.exchangeCode(t, "", cliID, "", "oo_ac_"+strings.Repeat("x", 43), oauth2.GenerateVerifier(), cliRedirect),
			http.StatusBadRequest, "invalid_grant", "authorization code is not known")
	})

	t.Run("user of another organization at its path", func(t *testing.T) {
		t.Parallel()
		// alice belongs to acme; globex's sign-in does not know her.
		other := newBrowser(t, e)
		u, _ := e.cliAuthorize(otherOrg, cliScope)
		login := other.get(t, u)
		if f := formOf(t, login); f.askOrg || f.action != e.identityBase(otherOrg)+"/account/login" {
			t.Errorf("globex's login page: asks org %v, posts to %s", f.askOrg, f.action)
		}
		p := other.signIn(t, login, "", aliceEmail, userPassword)
		if !isLoginPage(p) || p.location != "" || len(p.hops) != 0 || p.cookie("oo_session") != nil {
			t.Fatalf("alice signing in to globex: %d Location %q hops %v; want the login page again, no session", p.status, p.location, p.hops)
		}
		if text := pageText(p.body); !strings.Contains(text, "The email or password is not right for organization "+otherOrg) {
			t.Errorf("the page does not say the sign-in failed: %s", text)
		}
		wantEvent(t, e, e.org2.ID, "signin.failed", aliceEmail, "no such user")
		// carol, who is in globex, signs in there.
		u, v := e.cliAuthorize(otherOrg, cliScope)
		p = other.signIn(t, other.get(t, u), "", carolEmail, userPassword)
		code := p.redirect(t).Query().Get("code")
		access, _ := wantTokens(t, e.exchangeCode(t, otherOrg, cliID, "", code, v, cliRedirect))
		if c, err := e.verifier.Verify(t.Context(), access); err != nil || c.Subject != e.carol.Key || c.OrgKey != e.org2.Key {
			t.Errorf("carol's token: sub %q prt_id %q (%v), want %s %s", c.Subject, c.OrgKey, err, e.carol.Key, e.org2.Key)
		}
	})

	t.Run("session of one organization not reused for another", func(t *testing.T) {
		t.Parallel()
		u, _ := e.cliAuthorize(otherOrg, cliScope)
		if p := b.get(t, u); !isLoginPage(p) {
			t.Errorf("alice's acme session at globex's authorize: %d Location %q, want the login page", p.status, p.location)
		}
		u, _ = e.cliAuthorize(orgName, cliScope)
		if p := b.get(t, u); p.status != http.StatusFound {
			t.Errorf("control: alice's session at acme's authorize: %d, want a redirect with a code", p.status)
		}
	})

	t.Run("refresh token reuse revokes the family", func(t *testing.T) {
		t.Parallel()
		access, rt1 := tokens(t)
		access2, rt2 := wantTokens(t, e.refresh(t, "", cliID, "", rt1, ""))
		if rt2 == "" || rt2 == rt1 {
			t.Fatalf("the refresh did not rotate: %q", rt2)
		}
		wantError(t, e.refresh(t, "", cliID, "", rt1, ""), http.StatusBadRequest, "invalid_grant",
			"refresh token was already used", "whole family is now revoked")
		wantError(t, e.refresh(t, "", cliID, "", rt2, ""), http.StatusBadRequest, "invalid_grant", "refresh token was revoked")
		for _, a := range []string{access, access2} {
			if _, err := e.verifier.Verify(t.Context(), a); err == nil || !strings.Contains(err.Error(), "family was revoked") {
				t.Errorf("identity.Verifier still accepts an access token of a revoked family (err %v)", err)
			}
		}
	})

	t.Run("refresh with a scope not granted", func(t *testing.T) {
		t.Parallel()
		_, rt := tokens(t)
		wantError(t, e.refresh(t, "", cliID, "", rt, "OR.Jobs OR.Queues"), http.StatusBadRequest, "invalid_scope",
			"scope OR.Queues was not granted")
	})

	t.Run("refresh narrowed to granted scopes", func(t *testing.T) {
		t.Parallel()
		_, rt := tokens(t)
		r := e.refresh(t, "", cliID, "", rt, "OR.Jobs")
		access, _ := wantTokens(t, r)
		if c, err := e.verifier.Verify(t.Context(), access); err != nil || c.Scope != "OR.Jobs offline_access" || r.str("scope") != c.Scope {
			t.Errorf("narrowed refresh: scope %q, answer %q (%v); want \"OR.Jobs offline_access\"", c.Scope, r.str("scope"), err)
		}
	})

	t.Run("refused refresh keeps the refresh token", func(t *testing.T) {
		t.Parallel()
		_, rt := tokens(t)
		wantError(t, e.refresh(t, "", cliID, "", rt, "OR.Queues"), http.StatusBadRequest, "invalid_scope")
		wantTokens(t, e.refresh(t, "", cliID, "", rt, ""))
	})

	t.Run("refresh by another client", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ id, secret string }{{publicAppID, ""}, {dashAppID, e.dashSec}} {
			_, rt := tokens(t)
			wantError(t, e.refresh(t, "", c.id, c.secret, rt, ""), http.StatusBadRequest, "invalid_grant",
				"refresh token was issued to client "+cliID+", not "+c.id)
		}
	})

	t.Run("refresh at another organization's endpoint", func(t *testing.T) {
		t.Parallel()
		_, rt := tokens(t)
		wantError(t, e.refresh(t, otherOrg, cliID, "", rt, ""), http.StatusBadRequest, "invalid_grant", "belongs to another organization than "+otherOrg)
	})

	// reference/clients.md: the TypeScript SDK signs in at /identity_ and refreshes at
	// /{org}/identity_/connect/token ("serve both").
	t.Run("refresh at the organization's endpoint", func(t *testing.T) {
		t.Parallel()
		_, rt := tokens(t)
		access, rt2 := wantTokens(t, e.refresh(t, orgName, cliID, "", rt, ""))
		if _, err := e.verifier.Verify(t.Context(), access); err != nil || rt2 == "" || rt2 == rt {
			t.Errorf("refresh at /%s/identity_: access token %v, new refresh token %q", orgName, err, rt2)
		}
		wantTokens(t, e.refresh(t, orgName, cliID, "", rt2, ""))
	})
}

// wantAuthorizeError checks that authorize sent the browser back to the client with an
// error and the state, and no code.
func wantAuthorizeError(t testing.TB, p page, redirect, state, code string, descParts ...string) {
	t.Helper()
	u := p.redirect(t)
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != redirect {
		t.Errorf("the error went to %s, want %s", got, redirect)
	}
	if q.Get("error") != code || q.Get("state") != state || q.Has("code") {
		t.Errorf("the client got %s; want error=%s, state=%s and no code", u.RawQuery, code, state)
	}
	for _, part := range descParts {
		if !strings.Contains(q.Get("error_description"), part) {
			t.Errorf("error_description %q does not mention %q", q.Get("error_description"), part)
		}
	}
}

// wantEvent checks that an identity event of kind about subject with detail was recorded.
func wantEvent(t testing.TB, e *testEnv, orgID int64, kind, subject, detail string) {
	t.Helper()
	evs, err := e.st.IdentityEventList(t.Context(), orgID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == kind && ev.Subject == subject && ev.Detail == detail {
			return
		}
	}
	t.Errorf("no %s event for %s with detail %q among %d events", kind, subject, detail, len(evs))
}

// TestAuthCodeExpired checks that codes live 5 minutes.
func TestAuthCodeExpired(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	b := newBrowser(t, e)
	u1, v1 := e.cliAuthorize("", cliScope)
	u2, v2 := e.cliAuthorize("", cliScope)
	code1, code2 := b.codeFor(t, u1), b.codeFor(t, u2)
	clk.Add(5*time.Minute - time.Second)
	wantTokens(t, e.exchangeCode(t, "", cliID, "", code1, v1, cliRedirect))
	clk.Add(2 * time.Second)
	wantError(t, e.exchangeCode(t, "", cliID, "", code2, v2, cliRedirect), http.StatusBadRequest, "invalid_grant",
		"authorization code expired at", "codes live 5m0s")
}
