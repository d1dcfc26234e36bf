package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

// accessClaims are the claims of an access token as an OIDC library reads them.
type accessClaims struct {
	Iss      string `json:"iss"`
	Aud      any    `json:"aud"`
	Sub      string `json:"sub"`
	SubType  string `json:"sub_type"`
	ClientID string `json:"client_id"`
	PrtID    string `json:"prt_id"`
	Scope    string `json:"scope"`
	Jti      string `json:"jti"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
}

// TestRealClients gets tokens with golang.org/x/oauth2's client credentials flow, with
// both ways of sending the credentials and at both token endpoints, finding the endpoint
// through discovery, and verifies them with go-oidc against the JWKS, then with the
// installation's own Verifier.
func TestRealClients(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			testRealClients(t, alg)
		})
	}
}

func testRealClients(t *testing.T, alg string) {
	e := newTestEnv(t, envOptions{alg: alg})
	ctx := t.Context()

	// An app whose id and secret need form-encoding in the Authorization header
	// (RFC 6749 §2.3.1): oauth2 encodes them, the server must decode them.
	oddID, oddSecret := "acme:ops bot", "p@ss:w+rd/ =%x"
	oddApp, err := e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org.ID, Name: "ops", ClientID: oddID,
		SecretHash: secret.HashToken(oddSecret), AppScopes: []string{"OR.Jobs"}})
	if err != nil {
		t.Fatal(err)
	}

	providers := map[string]*oidc.Provider{}
	for _, org := range []string{"", orgName} {
		p, err := oidc.NewProvider(ctx, e.identityBase(org))
		if err != nil {
			t.Fatalf("oidc.NewProvider(%s): %v", e.identityBase(org), err)
		}
		if got := p.Endpoint().TokenURL; got != e.tokenURL(org) {
			t.Fatalf("discovery token_endpoint = %s, want %s", got, e.tokenURL(org))
		}
		var doc struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&doc); err != nil || !reflect.DeepEqual(doc.Algs, []string{alg}) {
			t.Fatalf("discovery id_token_signing_alg_values_supported = %v (%v), want [%s]", doc.Algs, err, alg)
		}
		providers[org] = p
	}

	type client struct {
		id, secret, subject, subType string
		registered                   []string
	}
	clients := []client{
		{appClientID, e.appSecret, e.app.Key, identity.SubClient, appScopes},
		{oddID, oddSecret, oddApp.Key, identity.SubClient, []string{"OR.Jobs"}},
		{machineID, e.machineSec, e.machine.Key, identity.SubRobot, identity.RobotScopes},
	}
	styles := []struct {
		name  string
		style oauth2.AuthStyle
	}{{"InHeader", oauth2.AuthStyleInHeader}, {"InParams", oauth2.AuthStyleInParams}}
	scopeSets := [][]string{nil, {"OR.Jobs"}, {"OR.Jobs.Read", "OR.Jobs.Write"}}

	for _, org := range []string{"", orgName} {
		for _, c := range clients {
			for _, st := range styles {
				for _, scopes := range scopeSets {
					name := fmt.Sprintf("org=%q/%s/%s/scope=%q", org, c.id, st.name, strings.Join(scopes, " "))
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						ctx := t.Context()
						cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: c.secret,
							TokenURL: providers[org].Endpoint().TokenURL, Scopes: scopes, AuthStyle: st.style}
						before := time.Now()
						tok, err := cfg.Token(ctx)
						if err != nil {
							t.Fatalf("Token: %v", err)
						}
						wantScope := strings.Join(scopes, " ")
						if len(scopes) == 0 {
							wantScope = strings.Join(c.registered, " ")
						}
						if tok.TokenType != "Bearer" || tok.Extra("scope") != wantScope || tok.Extra("expires_in") != float64(3600) {
							t.Errorf("token_type %q scope %v expires_in %v, want Bearer %q 3600",
								tok.TokenType, tok.Extra("scope"), tok.Extra("expires_in"), wantScope)
						}
						if d := time.Until(tok.Expiry); d < 59*time.Minute || d > 61*time.Minute {
							t.Errorf("expiry in %s, want 1h", d)
						}
						if tok.RefreshToken != "" {
							t.Errorf("client_credentials answered a refresh token")
						}

						idt, err := providers[org].Verifier(&oidc.Config{ClientID: identity.Audience}).Verify(ctx, tok.AccessToken)
						if err != nil {
							t.Fatalf("go-oidc Verify: %v", err)
						}
						var cl accessClaims
						if err := idt.Claims(&cl); err != nil {
							t.Fatal(err)
						}
						want := accessClaims{Iss: e.identityBase(org), Aud: identity.Audience, Sub: c.subject, SubType: c.subType,
							ClientID: c.id, PrtID: e.org.Key, Scope: wantScope, Jti: cl.Jti, Iat: cl.Iat, Nbf: cl.Iat, Exp: cl.Iat + 3600}
						if !reflect.DeepEqual(cl, want) {
							t.Errorf("claims\n got %+v\nwant %+v", cl, want)
						}
						if len(cl.Jti) < 16 {
							t.Errorf("jti %q is too short to be unique", cl.Jti)
						}
						if iat := time.Unix(cl.Iat, 0); iat.Before(before.Truncate(time.Second)) || iat.After(time.Now()) {
							t.Errorf("iat %s is not the time of issue", iat)
						}
						if c.subType == identity.SubRobot {
							for _, s := range strings.Fields(cl.Scope) {
								if !slices.Contains(identity.RobotScopes, strings.TrimSuffix(strings.TrimSuffix(s, ".Read"), ".Write")) {
									t.Errorf("robot token has scope %s outside RobotScopes", s)
								}
							}
						}
						if alg := jwtHeader(t, tok.AccessToken)["alg"]; alg != e.keys.Alg() {
							t.Errorf("token alg %v, want %s", alg, e.keys.Alg())
						}

						// The installation's verifier agrees.
						got, err := e.verifier.Verify(ctx, tok.AccessToken)
						if err != nil {
							t.Fatalf("Verifier.Verify: %v", err)
						}
						if got.Issuer != cl.Iss || got.Subject != cl.Sub || got.SubType != cl.SubType || got.ClientID != cl.ClientID ||
							got.OrgKey != cl.PrtID || got.Scope != cl.Scope || got.ID != cl.Jti || got.IssuedAt != cl.Iat ||
							got.Expiry != cl.Exp || !slices.Equal(got.Scopes(), strings.Fields(wantScope)) {
							t.Errorf("Verifier claims %+v differ from go-oidc's %+v", got, cl)
						}
						if got.IssuedAtMillis/1000 != got.IssuedAt {
							t.Errorf("iat_ms %d is not within iat %d", got.IssuedAtMillis, got.IssuedAt)
						}
					})
				}
			}
		}
	}

	// The raw answer, as the official CLI reads it.
	t.Run("raw JSON", func(t *testing.T) {
		t.Parallel()
		for _, org := range []string{"", orgName} {
			r := e.postForm(t, org, clientCreds(appClientID, e.appSecret, "OR.Jobs OR.Queues.Read"), nil)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"access_token", "expires_in", "scope", "token_type"}) {
				t.Errorf("fields %v", keys)
			}
			if string(raw["expires_in"]) != "3600" || string(raw["token_type"]) != `"Bearer"` || string(raw["scope"]) != `"OR.Jobs OR.Queues.Read"` {
				t.Errorf("body %s", r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
				t.Errorf("Cache-Control %q Pragma %q, want no-store no-cache", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
			}
		}
	})

	// The JWKS holds the key that signed, with its kid and algorithm, at both bases.
	t.Run("JWKS", func(t *testing.T) {
		t.Parallel()
		tok, err := (&clientcredentials.Config{ClientID: appClientID, ClientSecret: e.appSecret, TokenURL: e.tokenURL("")}).Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		kid := jwtHeader(t, tok.AccessToken)["kid"]
		for _, org := range []string{"", orgName} {
			req, _ := http.NewRequest(http.MethodGet, e.identityBase(org)+"/.well-known/openid-configuration/jwks", nil)
			r := e.do(t, req)
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal([]byte(r.body), &set); err != nil || r.status != http.StatusOK {
				t.Fatalf("%d %s %v", r.status, r.body, err)
			}
			if len(set.Keys) != 1 || set.Keys[0]["kid"] != kid || set.Keys[0]["alg"] != alg || set.Keys[0]["use"] != "sig" {
				t.Errorf("JWKS %s does not list kid %v (%s)", r.body, kid, alg)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := set.Keys[0][private]; ok {
					t.Errorf("JWKS publishes private parameter %q", private)
				}
			}
		}
	})

	// Discovery and JWKS of an organization that does not exist are 404, not a document
	// for a made-up issuer.
	t.Run("unknown organization discovery", func(t *testing.T) {
		t.Parallel()
		_, err := oidc.NewProvider(context.Background(), e.identityBase("nosuchorg"))
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("NewProvider for an unknown organization: %v, want a 404", err)
		}
	})
}

// jwtHeader decodes a compact JWT's header.
func jwtHeader(t testing.TB, raw string) map[string]any {
	t.Helper()
	var h map[string]any
	part, _, _ := strings.Cut(raw, ".")
	if err := json.Unmarshal(b64d(t, part), &h); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	return h
}

func b64d(t testing.TB, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}
