package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/identity"
)

// compact assembles a compact JWS from a header, an encoded payload and a signature.
func compact(t testing.TB, header map[string]any, payload string, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(h) + "." + payload + "." + b64.EncodeToString(sig)
}

func hs256(t testing.TB, header map[string]any, payload string, key []byte) string {
	t.Helper()
	unsigned := compact(t, header, payload, nil)
	unsigned = strings.TrimSuffix(unsigned, ".")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + b64.EncodeToString(mac.Sum(nil))
}

// attackerSigner signs with a key this installation does not have.
func attackerSigner(t testing.TB, kid string, embed bool) jose.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if embed {
		opts.EmbedJWK = true
		opts = opts.WithHeader("kid", kid)
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	key := any(priv)
	if kid != "" {
		key = jose.JSONWebKey{Key: priv, KeyID: kid}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signWith(t testing.TB, s jose.Signer, payload []byte) string {
	t.Helper()
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestVerifyRefusesTamperedTokens presents forged, altered and out-of-date tokens to the
// Verifier: each is refused with a *TokenError whose reason names the cause.
func TestVerifyRefusesTamperedTokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	base := identity.Claims{Issuer: e.identityBase(""), Subject: e.app.Key, SubType: identity.SubClient, ClientID: appClientID,
		OrgKey: e.org.Key, Scope: "OR.Jobs.Read"}
	good, _, err := e.keys.Issue(base, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.verifier.Verify(ctx, good); err != nil {
		t.Fatalf("the genuine token is refused: %v", err)
	}
	parts := strings.Split(good, ".")
	header := jwtHeader(t, good)
	kid := header["kid"].(string)

	// The public key as an attacker finds it: in the JWKS, as JSON, and as PEM/DER.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(e.keys.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v %s", err, e.keys.JWKS())
	}
	jwkJSON, _ := json.Marshal(set.Keys[0])
	der, err := x509.MarshalPKIXPublicKey(set.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	ecdhPub, err := set.Keys[0].Key.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	sec1 := ecdhPub.Bytes() // the uncompressed SEC1 point

	payload := func(mod func(map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(b64d(t, parts[1]), &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		b, _ := json.Marshal(m)
		return b64.EncodeToString(b)
	}
	claimsJSON := b64d(t, parts[1])
	issue := func(c identity.Claims, ttl time.Duration) string {
		tok, _, err := e.keys.Issue(c, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	withIssuer := func(iss string) string { c := base; c.Issuer = iss; return issue(c, time.Hour) }

	// A node of this installation whose clock is two hours ahead: same store, same key.
	ahead, err := identity.NewKeys(ctx, e.st, e.key, identity.KeysOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	future, _, err := ahead.Issue(base, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if jwtHeader(t, future)["kid"] != kid {
		t.Fatalf("the second node signs with another key")
	}

	multi, err := jose.NewMultiSigner([]jose.SigningKey{
		{Algorithm: jose.ES256, Key: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))},
		{Algorithm: jose.ES256, Key: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	twoSigs, err := multi.Sign(claimsJSON)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		token  string
		reason []string
	}{
		{"alg none", compact(t, map[string]any{"alg": "none", "typ": "JWT"}, parts[1], nil), []string{"not signed with ES256 or RS256"}},
		{"alg none with our kid", compact(t, map[string]any{"alg": "none", "kid": kid}, parts[1], nil), []string{"not signed with ES256 or RS256"}},
		{"alg None", compact(t, map[string]any{"alg": "None", "kid": kid}, parts[1], nil), []string{"not signed with ES256 or RS256"}},
		{"HS256 keyed with the JWK JSON", hs256(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, parts[1], jwkJSON), []string{"not signed with ES256 or RS256"}},
		{"HS256 keyed with the JWKS document", hs256(t, map[string]any{"alg": "HS256", "kid": kid}, parts[1], e.keys.JWKS()), []string{"not signed with ES256 or RS256"}},
		{"HS256 keyed with the PEM public key", hs256(t, map[string]any{"alg": "HS256", "kid": kid}, parts[1], pemKey), []string{"not signed with ES256 or RS256"}},
		{"HS256 keyed with the SEC1 point", hs256(t, map[string]any{"alg": "HS256", "kid": kid}, parts[1], sec1), []string{"not signed with ES256 or RS256"}},
		{"ES384", compact(t, map[string]any{"alg": "ES384", "kid": kid}, parts[1], make([]byte, 96)), []string{"not signed with ES256 or RS256"}},
		{"RS256 header on our ES256 key", compact(t, map[string]any{"alg": "RS256", "kid": kid}, parts[1], make([]byte, 256)), []string{"RS256", "does not match", "ES256"}},
		{"unknown kid", signWith(t, attackerSigner(t, "not-ours", false), claimsJSON), []string{`"not-ours"`, "does not have"}},
		{"no kid", signWith(t, attackerSigner(t, "", false), claimsJSON), []string{`key ""`, "does not have"}},
		{"our kid, another key", signWith(t, attackerSigner(t, kid, false), claimsJSON), []string{"signature is not valid"}},
		{"our kid, another key embedded as jwk", signWith(t, attackerSigner(t, kid, true), claimsJSON), []string{"signature is not valid"}},
		{"modified payload", parts[0] + "." + payload(func(m map[string]any) { m["scope"] = "OR.Jobs OR.Users" }) + "." + parts[2], []string{"signature is not valid"}},
		{"modified subject", parts[0] + "." + payload(func(m map[string]any) { m["sub"] = "someone-else" }) + "." + parts[2], []string{"signature is not valid"}},
		{"extended expiry", parts[0] + "." + payload(func(m map[string]any) { m["exp"] = m["exp"].(float64) + 86400 }) + "." + parts[2], []string{"signature is not valid"}},
		{"modified header", compact(t, map[string]any{"alg": "ES256", "kid": kid, "typ": "at+jwt"}, parts[1], b64d(t, parts[2])), []string{"signature is not valid"}},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-8], []string{"signature is not valid"}},
		{"no signature", parts[0] + "." + parts[1] + ".", []string{"signature is not valid"}},
		{"expired", issue(base, -2*time.Hour), []string{"expired at", "get a new one"}},
		{"not yet valid", future, []string{"not valid before"}},
		{"wrong issuer", withIssuer("https://evil/identity_"), []string{`"https://evil/identity_"`, "not this installation"}},
		{"issuer on a lookalike host", withIssuer(e.base + ".evil.example/identity_"), []string{"not this installation"}},
		{"issuer with a deeper path", withIssuer(e.base + "/acme/Default/identity_"), []string{"not this installation"}},
		{"issuer with a trailing slash", withIssuer(e.base + "/identity_/"), []string{"not this installation"}},
		{"issuer with an empty organization", withIssuer(e.base + "//identity_"), []string{"not this installation"}},
		{"issuer with another scheme", withIssuer(strings.Replace(e.base, "http://", "https://", 1) + "/identity_"), []string{"not this installation"}},
		{"no issuer", withIssuer(""), []string{"not this installation"}},
		{"not a JWT", "not-a-jwt", []string{"not a JWT"}},
		{"empty", "", []string{"not a JWT"}},
		{"personal access token", "oo_pat_abcdefghijklmnopqrstuvwxyz", []string{"not a JWT"}},
		{"two parts", parts[0] + "." + parts[1], []string{"not a JWT"}},
		{"four parts", good + ".x", []string{"not a JWT"}},
		{"JWE-like five parts", "a.b.c.d.e", []string{"not a JWT"}},
		{"three garbage parts", "a.b.c", []string{"not signed with ES256 or RS256"}},
		{"JSON serialization, two signatures", twoSigs.FullSerialize(), []string{"not a JWT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := e.verifier.Verify(t.Context(), tc.token)
			var te *identity.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %+v, %v; want a *TokenError", c, err)
			}
			if te.Error() != te.Reason || te.Reason == "" {
				t.Errorf("Error() %q, Reason %q", te.Error(), te.Reason)
			}
			for _, p := range tc.reason {
				if !strings.Contains(te.Reason, p) {
					t.Errorf("reason %q does not mention %q", te.Reason, p)
				}
			}
		})
	}

	// What is accepted: the installation's three issuers, and a token just past its
	// expiry within the clock leeway.
	for _, iss := range []string{e.base + "/identity_", e.base + "/" + orgName + "/identity_", e.base + "/"} {
		if _, err := e.verifier.Verify(ctx, withIssuer(iss)); err != nil {
			t.Errorf("issuer %s refused: %v", iss, err)
		}
	}
	if _, err := e.verifier.Verify(ctx, issue(base, -30*time.Second)); err != nil {
		t.Errorf("a token expired 30s ago (within the leeway) is refused: %v", err)
	}
	// A verifier configured with a trailing slash on the public URL agrees.
	if _, err := identity.NewVerifier(e.keys, e.deny, e.base+"/").Verify(ctx, good); err != nil {
		t.Errorf("verifier with a trailing slash: %v", err)
	}
}
