package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// TestVerifiedTokens shows that a token's signature is checked once, and that what can
// change while the token lives — the deny-list, time, the signing key — is checked on every
// call all the same.
func TestVerifiedTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := storetest.NewSQLite(t)
	sk, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(ctx, st, sk, KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deny, err := NewDenyList(ctx, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const public = "https://orch.example"
	now := time.Now()
	v := NewVerifier(keys, deny, public)
	v.now = func() time.Time { return now }
	issue := func(jti string) string {
		tok, _, err := keys.Issue(Claims{Issuer: public + "/identity_", Subject: "s-" + jti, SubType: SubClient, ClientID: "c-" + jti,
			OrgKey: "org", Scope: "OR.Jobs"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verify := func(tok string) error { _, err := v.Verify(ctx, tok); return err }

	tok := issue("a")
	first, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.verified.m) != 1 {
		t.Fatalf("%d tokens remembered after one verification, want 1", len(v.verified.m))
	}
	again, err := v.Verify(ctx, tok)
	if err != nil || again.ID != first.ID || again.Subject != first.Subject {
		t.Fatalf("the remembered token: %+v, %v; want %+v", again, err, first)
	}

	// An altered copy is another token: checked in full, and refused.
	parts := strings.Split(tok, ".")
	parts[2] = strings.Repeat("A", len(parts[2]))
	if err := verify(strings.Join(parts, ".")); err == nil || !strings.Contains(err.Error(), "signature is not valid") {
		t.Errorf("a token with another signature: %v, want a refused signature", err)
	}

	// Revoked after it was remembered: refused from the next call.
	if err := deny.Revoke(ctx, store.RevokeJTI, first.ID, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := verify(tok); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("a remembered token revoked since: %v, want revoked", err)
	}

	// Expired after it was remembered.
	other := issue("b")
	if err := verify(other); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour + 2*time.Minute)
	if err := verify(other); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("a remembered token past its expiry: %v, want expired", err)
	}
	now = now.Add(-time.Hour - 2*time.Minute)

	// Its key gone from the key set after it was remembered.
	third := issue("c")
	if err := verify(third); err != nil {
		t.Fatal(err)
	}
	keys.mu.Lock()
	saved := keys.public
	keys.public = map[string]jose.JSONWebKey{}
	keys.lastLoad = keys.now() // no reload from the store within the test
	keys.mu.Unlock()
	if err := verify(third); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Errorf("a remembered token whose key is gone: %v, want an unknown key", err)
	}
	keys.mu.Lock()
	keys.public = saved
	keys.mu.Unlock()
}
