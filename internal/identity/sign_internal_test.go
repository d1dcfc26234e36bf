package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store/storetest"
)

// TestVerifyCraftedClaims signs claims that Issue never makes (with the installation's
// own key, through the unexported sign) and serialisations other than compact: the
// signature is genuine, so only the claim and format checks stand in the way.
func TestVerifyCraftedClaims(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(ctx, storetest.NewSQLite(t), key, KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const public = "https://orch.example"
	v := NewVerifier(keys, nil, public)
	now := time.Now()
	claims := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"iss": public + "/identity_", "aud": Audience, "sub": "s", "sub_type": SubClient, "client_id": "c",
			"prt_id": "org", "scope": "OR.Jobs", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"jti": "j", "iat_ms": now.UnixMilli()}
		if mod != nil {
			mod(m)
		}
		return m
	}
	sign := func(c any) string {
		tok, err := keys.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if _, err := v.Verify(ctx, sign(claims(nil))); err != nil {
		t.Fatalf("the crafted baseline is refused: %v", err)
	}

	// JSON serialisations of a genuinely signed token.
	payload := []byte(`{"iss":"` + public + `/identity_","aud":"orchestrator","exp":` + strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + `}`)
	keys.mu.RLock()
	signer := keys.signer
	keys.mu.RUnlock()
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Two signatures, one of them ours: the JWS JSON serialisation with both.
	ours := jws.Signatures[0]
	other, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: attacker, KeyID: ours.Header.KeyID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherJWS, err := other.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	both := *jws
	both.Signatures = []jose.Signature{otherJWS.Signatures[0], ours}

	cases := []struct {
		name   string
		token  string
		reason []string
	}{
		{"wrong audience", sign(claims(func(m map[string]any) { m["aud"] = "other" })), []string{"audience [other]", `not "orchestrator"`}},
		{"audience list without orchestrator", sign(claims(func(m map[string]any) { m["aud"] = []string{"a", "b"} })), []string{"audience [a b]"}},
		{"no audience", sign(claims(func(m map[string]any) { delete(m, "aud") })), []string{"audience"}},
		{"audience of the wrong type", sign(claims(func(m map[string]any) { m["aud"] = 42 })), []string{"claims are malformed"}},
		{"no expiry", sign(claims(func(m map[string]any) { delete(m, "exp") })), []string{"expired"}},
		{"expiry as a string", sign(claims(func(m map[string]any) { m["exp"] = "tomorrow" })), []string{"claims are malformed"}},
		{"issuer of another installation's organization", sign(claims(func(m map[string]any) { m["iss"] = "https://cloud.uipath.com/acme/identity_" })),
			[]string{"not this installation"}},
		{"payload not JSON", sign(notObject("not an object")), []string{"claims are malformed"}},
		{"flattened JSON serialisation, genuine signature", jws.FullSerialize(), []string{"not a JWT"}},
		{"general JSON serialisation, two signatures", both.FullSerialize(), []string{"not a JWT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(ctx, tc.token)
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %v; want a *TokenError", err)
			}
			for _, p := range tc.reason {
				if !strings.Contains(te.Reason, p) {
					t.Errorf("reason %q does not mention %q", te.Reason, p)
				}
			}
		})
	}

	// What is accepted: an audience list that includes orchestrator.
	if _, err := v.Verify(ctx, sign(claims(func(m map[string]any) { m["aud"] = []string{"other", Audience} }))); err != nil {
		t.Errorf("an audience list with orchestrator: %v", err)
	}
	// Issue writes one audience as a string (what most libraries expect).
	tok, _, err := keys.Issue(Claims{Issuer: public + "/"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Split(tok, ".")[1]; !strings.Contains(decode(t, p), `"aud":"orchestrator"`) {
		t.Errorf("payload %s: aud is not the string orchestrator", decode(t, p))
	}
}

// notObject marshals to a JSON string: a payload that is valid JSON but not claims.
type notObject string

func (j notObject) MarshalJSON() ([]byte, error) { return []byte(`"` + string(j) + `"`), nil }

func decode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
