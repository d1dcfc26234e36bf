package identity_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Revocation (RFC 7009), introspection (RFC 7662) and userinfo.

// revoke posts a revocation request to the identity base of org; sec "" sends none.
func (e *testEnv) revoke(t testing.TB, org, clientID, sec, token string, header map[string]string) response {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "token": {token}}
	if sec != "" {
		form.Set("client_secret", sec)
	}
	return e.postEndpoint(t, e.identityBase(org)+"/connect/revocation", form, header)
}

// wantRevokeOK checks a 200 answer of the revocation endpoint.
func wantRevokeOK(t testing.TB, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("revocation: %d %s, want 200", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("revocation answer Cache-Control %q, want no-store", cc)
	}
}

// wantRefused checks that VerifyBearer refuses a token with a *TokenError naming parts.
func wantRefused(t testing.TB, svc *identity.Service, token string, parts ...string) {
	t.Helper()
	_, err := svc.VerifyBearer(t.Context(), token)
	var te *identity.TokenError
	if !errors.As(err, &te) {
		t.Errorf("VerifyBearer = %v, want a *TokenError (%s)", err, strings.Join(parts, ", "))
		return
	}
	for _, p := range parts {
		if !strings.Contains(te.Reason, p) {
			t.Errorf("VerifyBearer reason %q does not mention %q", te.Reason, p)
		}
	}
}

// wantAccepted checks that VerifyBearer accepts a token.
func wantAccepted(t testing.TB, svc *identity.Service, token, what string) identity.Claims {
	t.Helper()
	c, err := svc.VerifyBearer(t.Context(), token)
	if err != nil {
		t.Errorf("%s: VerifyBearer: %v", what, err)
	}
	return c
}

const userScope = "openid offline_access OR.Jobs"

func TestRevocation(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testRevocation(t, eng.open)
		})
	}
}

func testRevocation(t *testing.T, open func(testing.TB) store.Store) {
	e := newTestEnv(t, envOptions{store: open})
	svc := serviceOf(e)

	t.Run("refresh token revokes its family", func(t *testing.T) {
		t.Parallel()
		tok := e.deviceTokens(t, "", cliID, "", userScope, orgName, aliceEmail)
		access1, rt1 := wantTokens(t, tok)
		// Rotate once: the family now has two access tokens and two refresh tokens.
		access2, rt2 := wantTokens(t, e.refresh(t, "", cliID, "", rt1, ""))
		wantAccepted(t, svc, access1, "the first access token")
		wantAccepted(t, svc, access2, "the second access token")
		// An unrelated grant of the same user and client is not touched.
		otherAccess, otherRT := wantTokens(t, e.deviceTokens(t, "", cliID, "", userScope, orgName, aliceEmail))

		wantRevokeOK(t, e.revoke(t, "", cliID, "", rt2, nil))
		wantError(t, e.refresh(t, "", cliID, "", rt2, ""), 400, "invalid_grant", "revoked")
		wantError(t, e.refresh(t, "", cliID, "", rt1, ""), 400, "invalid_grant", "revoked")
		wantRefused(t, svc, access1, "revoked", "refresh token family")
		wantRefused(t, svc, access2, "revoked", "refresh token family")
		wantAccepted(t, svc, otherAccess, "an access token of another grant")
		wantTokens(t, e.refresh(t, "", cliID, "", otherRT, ""))
		// Revoking again is not an error.
		wantRevokeOK(t, e.revoke(t, "", cliID, "", rt2, nil))
		wantEvent(t, e, e.org.ID, "token.revoked", "", "refresh token family")
	})

	t.Run("access token", func(t *testing.T) {
		t.Parallel()
		access, rt := wantTokens(t, e.deviceTokens(t, "", cliID, "", userScope, orgName, aliceEmail))
		wantAccepted(t, svc, access, "before revocation")
		wantRevokeOK(t, e.revoke(t, "", cliID, "", access, nil))
		wantRefused(t, svc, access, "revoked", "this token was revoked")
		if _, err := e.verifier.Verify(t.Context(), access); err == nil {
			t.Errorf("the Verifier accepts the revoked access token")
		}
		// Only that token: the refresh token still works, and so does its new access token.
		access2, _ := wantTokens(t, e.refresh(t, "", cliID, "", rt, ""))
		wantAccepted(t, svc, access2, "a new access token after revoking the old")
		// Revoking a revoked token is not an error either.
		wantRevokeOK(t, e.revoke(t, "", cliID, "", access, nil))
	})

	t.Run("another client's credentials", func(t *testing.T) {
		t.Parallel()
		access, rt := wantTokens(t, e.deviceTokens(t, "", cliID, "", userScope, orgName, aliceEmail))
		wantError(t, e.revoke(t, "", publicAppID, "", rt, nil), 400, "unauthorized_client", cliID, publicAppID)
		wantError(t, e.revoke(t, "", dashAppID, e.dashSec, access, nil), 400, "unauthorized_client", cliID, dashAppID)
		// A client_credentials token of an app, revoked by a user client.
		cc := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), nil)
		if cc.status != http.StatusOK {
			t.Fatalf("client_credentials: %d %s", cc.status, cc.body)
		}
		wantError(t, e.revoke(t, "", cliID, "", cc.str("access_token"), nil), 400, "unauthorized_client", appClientID)
		// All still work.
		wantAccepted(t, svc, access, "the access token after another client tried to revoke it")
		wantAccepted(t, svc, cc.str("access_token"), "the app's token after another client tried to revoke it")
		wantTokens(t, e.refresh(t, "", cliID, "", rt, ""))
	})

	t.Run("unknown token", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"oo_rt_" + secret.NewToken(""), "not-a-token", "a.b.c", issueFor(t, e.keys, "https://elsewhere.example/identity_")} {
			wantRevokeOK(t, e.revoke(t, "", cliID, "", tok, nil))
		}
		wantError(t, e.revoke(t, "", cliID, "", "", nil), 400, "invalid_request", "token is missing")
		wantError(t, e.revoke(t, "", "", "", "x", nil), 400, "invalid_request", "client_id")
		wantError(t, e.revoke(t, "", "no-such-client", "", "x", nil), 401, "invalid_client")
	})

	t.Run("confidential client authenticates", func(t *testing.T) {
		t.Parallel()
		access, rt := wantTokens(t, e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, bobEmail))
		hdr := map[string]string{"X-Forwarded-For": freshAddr()}
		wantError(t, e.revoke(t, "", dashAppID, "", rt, hdr), 401, "invalid_client", "client_secret is missing")
		wantError(t, e.revoke(t, "", dashAppID, "oo_cs_wrong", rt, hdr), 401, "invalid_client", "client_secret is wrong")
		wantError(t, e.revoke(t, "", dashAppID, "", access, hdr), 401, "invalid_client")
		wantAccepted(t, svc, access, "the access token after unauthenticated revocations")
		// With its secret in HTTP Basic, it works.
		req := formRequest(t, e.identityBase("")+"/connect/revocation", url.Values{"token": {rt}})
		req.SetBasicAuth(dashAppID, e.dashSec)
		wantRevokeOK(t, e.do(t, req))
		wantRefused(t, svc, access, "revoked")
		wantError(t, e.refresh(t, "", dashAppID, e.dashSec, rt, ""), 400, "invalid_grant", "revoked")
	})

	t.Run("CORS for loopback origins", func(t *testing.T) {
		t.Parallel()
		r := e.revoke(t, "", cliID, "", "not-a-token", map[string]string{"Origin": "http://localhost:5173"})
		wantRevokeOK(t, r)
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
			t.Errorf("Access-Control-Allow-Origin %q for a loopback origin", got)
		}
		if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary %q does not name Origin", r.header.Values("Vary"))
		}
		r = e.revoke(t, "", cliID, "", "not-a-token", map[string]string{"Origin": "https://evil.example"})
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin %q for another site", got)
		}
	})
}

// introspect posts an introspection request with the client's credentials.
func (e *testEnv) introspect(t testing.TB, clientID, sec, token string) response {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "token": {token}}
	if sec != "" {
		form.Set("client_secret", sec)
	}
	return e.postEndpoint(t, e.identityBase("")+"/connect/introspect", form, map[string]string{"X-Forwarded-For": freshAddr()})
}

// wantActive checks an introspection answer that says the token is active and returns it.
func wantActive(t testing.TB, r response, what string) map[string]any {
	t.Helper()
	if r.status != http.StatusOK || r.json["active"] != true {
		t.Fatalf("%s: introspection %d %s, want active", what, r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
	}
	return r.json
}

// wantInactive checks an introspection answer of just {"active": false}.
func wantInactive(t testing.TB, r response, what string) {
	t.Helper()
	if r.status != http.StatusOK || r.json["active"] != false || len(r.json) != 1 {
		t.Errorf("%s: introspection %d %s, want {\"active\":false}", what, r.status, r.body)
	}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	svc := serviceOf(e)
	// dashApp is confidential: it may introspect, its own tokens included.
	tok := e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, aliceEmail)
	access, rt := wantTokens(t, tok)
	c := wantAccepted(t, svc, access, "the access token")

	t.Run("access token", func(t *testing.T) {
		m := wantActive(t, e.introspect(t, dashAppID, e.dashSec, access), "a valid access token")
		for k, want := range map[string]any{"client_id": dashAppID, "scope": c.Scope, "sub": e.alice.Key, "exp": float64(c.Expiry),
			"iat": float64(c.IssuedAt), "token_type": "access_token", "sub_type": "user", "prt_id": e.org.Key,
			"iss": e.identityBase(""), "aud": identity.Audience, "jti": c.ID} {
			if m[k] != want {
				t.Errorf("introspection %s = %v, want %v", k, m[k], want)
			}
		}
		if !strings.Contains(c.Scope, "OR.Jobs") {
			t.Errorf("scope %q", c.Scope)
		}
	})

	t.Run("refresh token", func(t *testing.T) {
		m := wantActive(t, e.introspect(t, dashAppID, e.dashSec, rt), "a valid refresh token")
		for k, want := range map[string]any{"client_id": dashAppID, "scope": tok.str("scope"), "token_type": "refresh_token",
			"iss": e.identityBase("")} {
			if m[k] != want {
				t.Errorf("introspection %s = %v, want %v", k, m[k], want)
			}
		}
		if exp, _ := m["exp"].(float64); int64(exp) != clk.Now().Add(60*24*time.Hour).Unix() {
			t.Errorf("refresh token exp %v, want 60 days from now (%d)", m["exp"], clk.Now().Add(60*24*time.Hour).Unix())
		}
	})

	t.Run("refresh token names its user", func(t *testing.T) {
		m := wantActive(t, e.introspect(t, dashAppID, e.dashSec, rt), "a valid refresh token")
		if m["sub"] != e.alice.Key {
			t.Errorf("tokenadmin.go:106-107 (introspect, refresh-token branch): the answer for an active refresh token has no sub "+
				"(nor sub_type/prt_id), so a resource server cannot tell whose grant it is; got %v", m)
		}
	})

	t.Run("PAT", func(t *testing.T) {
		pat := "oo_pat_" + secret.NewToken("")
		if _, err := e.st.PATCreate(t.Context(), store.PAT{OrgID: e.org.ID, UserID: e.bob.ID, Name: "introspected",
			TokenHash: secret.HashToken(pat), Scopes: []string{"OR.Jobs"}, ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		m := wantActive(t, e.introspect(t, dashAppID, e.dashSec, pat), "a personal access token")
		if m["sub"] != e.bob.Key || m["client_id"] != identity.PATClientID || m["scope"] != "OR.Jobs" {
			t.Errorf("PAT introspection: %v", m)
		}
	})

	t.Run("inactive", func(t *testing.T) {
		for _, bad := range []string{"", "garbage", "a.b.c", "oo_rt_" + secret.NewToken(""), "oo_pat_" + secret.NewToken(""),
			issueFor(t, e.keys, "https://elsewhere.example/identity_")} {
			wantInactive(t, e.introspect(t, dashAppID, e.dashSec, bad), "token "+bad)
		}
		// Another client's refresh token is not this client's to see.
		_, cliRT := wantTokens(t, e.deviceTokens(t, "", cliID, "", userScope, orgName, bobEmail))
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, cliRT), "another client's refresh token")
	})

	t.Run("rotated refresh token", func(t *testing.T) {
		_, rt1 := wantTokens(t, e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, bobEmail))
		_, rt2 := wantTokens(t, e.refresh(t, "", dashAppID, e.dashSec, rt1, ""))
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, rt1), "a used refresh token")
		wantActive(t, e.introspect(t, dashAppID, e.dashSec, rt2), "its successor")
	})

	t.Run("revoked", func(t *testing.T) {
		a1, rt1 := wantTokens(t, e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, bobEmail))
		a2, _ := wantTokens(t, e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, bobEmail))
		wantActive(t, e.introspect(t, dashAppID, e.dashSec, a1), "before revocation")
		wantRevokeOK(t, e.revoke(t, "", dashAppID, e.dashSec, rt1, nil))
		wantRevokeOK(t, e.revoke(t, "", dashAppID, e.dashSec, a2, nil))
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, rt1), "a revoked refresh token")
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, a1), "an access token of a revoked family")
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, a2), "a revoked access token")
	})

	t.Run("another organization's client", func(t *testing.T) {
		// globex's app may introspect its own tokens, not learn whose acme's tokens are.
		// (For refresh tokens the endpoint already answers inactive to any other client.)
		r := e.introspect(t, otherAppID, e.otherSec, access)
		if r.status == http.StatusOK && r.json["active"] != false {
			t.Errorf("tokenadmin.go:114-121 (introspect, access-token branch): any confidential client of any organization "+
				"gets the claims of any access token (here %s of globex learns acme's sub %v, prt_id %v, scope %q); the "+
				"refresh-token branch (tokenadmin.go:101) answers inactive for another client's token", otherAppID,
				r.json["sub"], r.json["prt_id"], r.json["scope"])
		}
	})

	t.Run("client authentication", func(t *testing.T) {
		wantError(t, e.introspect(t, cliID, "", access), 400, "unauthorized_client", "confidential")
		wantError(t, e.introspect(t, publicAppID, "", access), 400, "unauthorized_client")
		r := e.introspect(t, dashAppID, "oo_cs_wrong", access)
		wantError(t, r, 401, "invalid_client", "client_secret is wrong")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
		wantError(t, e.introspect(t, dashAppID, "", access), 401, "invalid_client", "client_secret is missing")
		wantError(t, e.introspect(t, "no-such-client", "x", access), 401, "invalid_client")
	})

	// Last, as it moves the clock: expiry.
	t.Run("expired", func(t *testing.T) {
		a, r := wantTokens(t, e.deviceTokens(t, "", dashAppID, e.dashSec, userScope, orgName, bobEmail))
		clk.Add(time.Hour + 2*time.Minute) // an access token lives an hour, with a minute of leeway
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, a), "an expired access token")
		wantActive(t, e.introspect(t, dashAppID, e.dashSec, r), "a refresh token after an hour")
		clk.Add(60 * 24 * time.Hour)
		wantInactive(t, e.introspect(t, dashAppID, e.dashSec, r), "an expired refresh token")
	})
}

// userinfo calls the userinfo endpoint with an Authorization header (none when "").
func (e *testEnv) userinfo(t testing.TB, method, auth string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.identityBase("")+"/connect/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

// wantChallenge checks a refusal of userinfo: status, error and its WWW-Authenticate.
func wantChallenge(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Errorf("userinfo: %d %s, want %d %s", r.status, r.body, status, code)
	}
	if wa := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, `Bearer error="`+code+`"`) {
		t.Errorf("WWW-Authenticate %q, want a Bearer challenge with error=%q", wa, code)
	}
}

func TestUserinfo(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	full, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid email profile", orgName, aliceEmail))

	t.Run("openid email profile", func(t *testing.T) {
		t.Parallel()
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			r := e.userinfo(t, m, "Bearer "+full, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s userinfo: %d %s", m, r.status, r.body)
			}
			for k, want := range map[string]any{"sub": e.alice.Key, "email": aliceEmail, "name": "Alice Archer",
				"preferred_username": aliceEmail, "prt_id": e.org.Key} {
				if r.json[k] != want {
					t.Errorf("%s userinfo %s = %v, want %v", m, k, r.json[k], want)
				}
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		}
	})

	t.Run("lower-case bearer", func(t *testing.T) {
		t.Parallel()
		if r := e.userinfo(t, http.MethodGet, "bearer "+full, nil); r.status != http.StatusOK || r.str("sub") != e.alice.Key {
			t.Errorf("bearer in lower case: %d %s", r.status, r.body)
		}
	})

	t.Run("scopes limit the claims", func(t *testing.T) {
		t.Parallel()
		noEmail, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid profile", orgName, bobEmail))
		r := e.userinfo(t, http.MethodGet, "Bearer "+noEmail, nil)
		if r.status != http.StatusOK || r.str("sub") != e.bob.Key || r.str("name") != "Bob Baker" {
			t.Fatalf("userinfo: %d %s", r.status, r.body)
		}
		if _, ok := r.json["email"]; ok {
			t.Errorf("email without the email scope: %s", r.body)
		}
		only, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid", orgName, bobEmail))
		r = e.userinfo(t, http.MethodGet, "Bearer "+only, nil)
		if r.status != http.StatusOK || r.str("sub") != e.bob.Key {
			t.Fatalf("userinfo: %d %s", r.status, r.body)
		}
		for _, k := range []string{"email", "name", "preferred_username"} {
			if _, ok := r.json[k]; ok {
				t.Errorf("%s with scope openid only: %s", k, r.body)
			}
		}
	})

	t.Run("no openid", func(t *testing.T) {
		t.Parallel()
		noOpenID, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "OR.Jobs email", orgName, bobEmail))
		wantChallenge(t, e.userinfo(t, http.MethodGet, "Bearer "+noOpenID, nil), http.StatusForbidden, "insufficient_scope")
	})

	t.Run("client_credentials token", func(t *testing.T) {
		t.Parallel()
		cc := e.postForm(t, "", clientCreds(appClientID, e.appSecret, ""), nil)
		if cc.status != http.StatusOK {
			t.Fatalf("client_credentials: %d %s", cc.status, cc.body)
		}
		wantChallenge(t, e.userinfo(t, http.MethodGet, "Bearer "+cc.str("access_token"), nil), http.StatusForbidden, "insufficient_scope")
	})

	t.Run("PAT without openid", func(t *testing.T) {
		t.Parallel()
		pat := "oo_pat_" + secret.NewToken("")
		if _, err := e.st.PATCreate(t.Context(), store.PAT{OrgID: e.org.ID, UserID: e.alice.ID, Name: "cli",
			TokenHash: secret.HashToken(pat), Scopes: []string{"OrchestratorApiUserAccess"}, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantAccepted(t, serviceOf(e), pat, "the PAT") // so the refusal below is for its scope
		wantChallenge(t, e.userinfo(t, http.MethodGet, "Bearer "+pat, nil), http.StatusForbidden, "insufficient_scope")
	})

	t.Run("no or bad credentials", func(t *testing.T) {
		t.Parallel()
		// No credentials at all: a bare Bearer challenge, without an error code (RFC 6750 §3.1).
		r := e.userinfo(t, http.MethodGet, "", nil)
		if wa := r.header.Get("WWW-Authenticate"); r.status != http.StatusUnauthorized || !strings.HasPrefix(wa, "Bearer ") || strings.Contains(wa, "error=") {
			t.Errorf("no Authorization: %d, WWW-Authenticate %q", r.status, wa)
		}
		for _, auth := range []string{"Basic x", "Basic " + b64.EncodeToString([]byte("orch-cli:")), "Bearer", "Bearer ", full} {
			wantChallenge(t, e.userinfo(t, http.MethodGet, auth, nil), http.StatusUnauthorized, "invalid_token")
		}
		for _, bad := range []string{"garbage", "oo_pat_" + secret.NewToken(""), issueFor(t, e.keys, "https://elsewhere.example/identity_")} {
			wantChallenge(t, e.userinfo(t, http.MethodGet, "Bearer "+bad, nil), http.StatusUnauthorized, "invalid_token")
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		t.Parallel()
		a, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid", orgName, bobEmail))
		wantRevokeOK(t, e.revoke(t, "", cliID, "", a, nil))
		r := e.userinfo(t, http.MethodGet, "Bearer "+a, nil)
		wantChallenge(t, r, http.StatusUnauthorized, "invalid_token")
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "revoked") {
			t.Errorf("WWW-Authenticate %q does not say the token was revoked", r.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		t.Parallel()
		// dave has a token, then is disabled: the admin APIs and PATs refuse disabled users.
		dave, err := e.st.UserCreate(t.Context(), store.UserCreateParams{OrgID: e.org.ID, Email: "dave@acme.test", Name: "Dave Dunn",
			PasswordHash: userPasswordHash(t)})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid email", orgName, "dave@acme.test"))
		if r := e.userinfo(t, http.MethodGet, "Bearer "+a, nil); r.status != http.StatusOK || r.str("sub") != dave.Key {
			t.Fatalf("userinfo before disabling: %d %s", r.status, r.body)
		}
		if _, err := e.st.UserUpdate(t.Context(), e.org.ID, dave.ID, func(u tenancy.User) (tenancy.User, error) {
			u.Disabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		r := e.userinfo(t, http.MethodGet, "Bearer "+a, nil)
		if r.status == http.StatusOK {
			t.Errorf("tokenadmin.go:145-155 (userinfo) looks the user up but does not check Disabled (the admin APIs do, "+
				"admin.go:210; so do PATs, pat.go:96): a disabled user's token still gets %s", r.body)
		}
		wantChallenge(t, r, http.StatusUnauthorized, "invalid_token")
	})

	t.Run("CORS", func(t *testing.T) {
		t.Parallel()
		r := e.userinfo(t, http.MethodGet, "Bearer "+full, map[string]string{"Origin": "http://127.0.0.1:8080"})
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8080" {
			t.Errorf("userinfo from a loopback origin: %d, Access-Control-Allow-Origin %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("CORS preflight", func(t *testing.T) {
		t.Parallel()
		// A page's fetch with an Authorization header is preflighted: without an answer to
		// OPTIONS the Access-Control-Allow-Origin of the GET is never reached.
		r := e.userinfo(t, http.MethodOptions, "", map[string]string{"Origin": "http://localhost:5173",
			"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
		if r.status >= 300 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
			!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("tokenadmin.go:16-19 (mountTokenAdmin) mounts no OPTIONS route for …/connect/userinfo (nor revocation), "+
				"so the loopback CORS that userinfo sets (tokenadmin.go:126) cannot be used from a page: the preflight of a "+
				"Bearer request gets %d, Access-Control-Allow-Origin %q, Access-Control-Allow-Headers %q",
				r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Headers"))
		}
	})
}
