package identity_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
)

func issueFor(t testing.TB, keys *identity.Keys, iss string) string {
	t.Helper()
	tok, _, err := keys.Issue(identity.Claims{Issuer: iss, Subject: "s", SubType: identity.SubClient, ClientID: "c", Scope: "OR.Jobs"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func kidOf(t testing.TB, tok string) string {
	t.Helper()
	kid, _ := jwtHeader(t, tok)["kid"].(string)
	if kid == "" {
		t.Fatalf("token without kid")
	}
	return kid
}

func jwksKIDs(t testing.TB, doc []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	slices.Sort(kids)
	return kids
}

// TestKeysRotate: after Rotate new tokens carry a new kid, the old ones still verify, and
// the JWKS served lists both keys.
func TestKeysRotate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	old := issueFor(t, e.keys, e.identityBase(""))
	if err := e.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := issueFor(t, e.keys, e.identityBase(""))
	oldKID, newKID := kidOf(t, old), kidOf(t, fresh)
	if oldKID == newKID {
		t.Fatalf("the token after Rotate has the old kid %s", oldKID)
	}
	for _, tok := range []string{old, fresh} {
		if _, err := e.verifier.Verify(ctx, tok); err != nil {
			t.Errorf("kid %s: %v", kidOf(t, tok), err)
		}
	}
	want := []string{oldKID, newKID}
	slices.Sort(want)
	if got := jwksKIDs(t, e.keys.JWKS()); !slices.Equal(got, want) {
		t.Errorf("Keys.JWKS lists %v, want %v", got, want)
	}
	req, _ := http.NewRequest(http.MethodGet, e.identityBase(orgName)+"/.well-known/openid-configuration/jwks", nil)
	r := e.do(t, req)
	if got := jwksKIDs(t, []byte(r.body)); !slices.Equal(got, want) {
		t.Errorf("the JWKS endpoint lists %v, want %v", got, want)
	}
	// A relying party that fetches the JWKS verifies both.
	p, err := oidc.NewProvider(ctx, e.identityBase(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{old, fresh} {
		if _, err := p.Verifier(&oidc.Config{ClientID: identity.Audience}).Verify(ctx, tok); err != nil {
			t.Errorf("go-oidc, kid %s: %v", kidOf(t, tok), err)
		}
	}
}

// TestKeysSharedByNodes: nodes on one database share the signing key: a second NewKeys
// reuses the key rather than making another, also when nodes start at the same moment.
func TestKeysSharedByNodes(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			st := eng.open(t)
			ctx := t.Context()
			key, err := secret.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			const nodes = 4
			keys := make([]*identity.Keys, nodes)
			errs := make([]error, nodes)
			var wg sync.WaitGroup
			for i := range nodes {
				wg.Go(func() { keys[i], errs[i] = identity.NewKeys(ctx, st, key, identity.KeysOptions{}) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("NewKeys: %v", err)
				}
			}
			late, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{})
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, late)
			rows, err := st.SigningKeyList(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 {
				t.Fatalf("%d signing keys after %d nodes started, want 1", len(rows), nodes+1)
			}
			for i, k := range keys {
				if kid := kidOf(t, issueFor(t, k, "https://orch.example/identity_")); kid != rows[0].KID {
					t.Errorf("node %d signs with %s, want the shared %s", i, kid, rows[0].KID)
				}
			}
		})
	}
}

// countingStore counts the signing key reads that Keys makes outside its transactions.
type countingStore struct {
	store.Store
	lists atomic.Int32
}

func (c *countingStore) SigningKeyList(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	c.lists.Add(1)
	return c.Store.SigningKeyList(ctx, now)
}

// TestKeysOtherNodeRotated: node B verifies tokens of a key node A made after B loaded
// its keys (it reloads on an unknown kid), and unknown kids cannot make it read the
// database more than once every 2 seconds.
func TestKeysOtherNodeRotated(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			st := &countingStore{Store: eng.open(t)}
			ctx := t.Context()
			key, err := secret.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			a, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{})
			if err != nil {
				t.Fatal(err)
			}
			clkB := newClock(time.Now())
			b, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{Now: clkB.Now})
			if err != nil {
				t.Fatal(err)
			}
			const public = "https://orch.example"
			vb := identity.NewVerifier(b, nil, public)
			if err := a.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			tok := issueFor(t, a, public+"/identity_")
			newKID := kidOf(t, tok)
			if slices.Contains(jwksKIDs(t, b.JWKS()), newKID) {
				t.Fatal("node B already has the new key: the test proves nothing")
			}

			// Within 2 seconds of B's last load, unknown kids cost no database read.
			reads := st.lists.Load()
			forged := signWith(t, attackerSigner(t, "random-kid", false), []byte(`{}`))
			for range 20 {
				if _, err := vb.Verify(ctx, forged); err == nil {
					t.Fatal("a forged token verifies")
				}
			}
			if n := st.lists.Load() - reads; n != 0 {
				t.Errorf("%d key reloads for unknown kids right after a load, want 0", n)
			}

			clkB.Add(3 * time.Second)
			reads = st.lists.Load()
			c, err := vb.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("node B refuses a token of the key node A rotated to: %v", err)
			}
			if c.ClientID != "c" {
				t.Errorf("claims %+v", c)
			}
			if !slices.Contains(jwksKIDs(t, b.JWKS()), newKID) {
				t.Errorf("node B's JWKS lacks the new key after the reload")
			}
			for range 20 {
				vb.Verify(ctx, forged)
			}
			if n := st.lists.Load() - reads; n != 1 {
				t.Errorf("%d key reloads for 21 verifications at once, want 1", n)
			}
			// B signs with the new key once it has reloaded.
			if kid := kidOf(t, issueFor(t, b, public+"/identity_")); kid != newKID {
				t.Errorf("node B signs with %s after reloading, want the newest key %s", kid, newKID)
			}
		})
	}
}

// TestKeysRotateWithClockBehind: Rotate on a node whose clock is behind the node that
// made the current key must still make the new key the signer.
func TestKeysRotateWithClockBehind(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, envOptions{})
	ctx := t.Context()
	behind := newClock(time.Now().Add(-2 * time.Second))
	b, err := identity.NewKeys(ctx, e.st, e.key, identity.KeysOptions{Now: behind.Now})
	if err != nil {
		t.Fatal(err)
	}
	before := kidOf(t, issueFor(t, b, e.identityBase("")))
	if err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if after := kidOf(t, issueFor(t, b, e.identityBase(""))); after == before {
		t.Errorf("Rotate returned nil but the node still signs with %s", before)
	}
}

// TestKeysRetireAndExpire: Run makes a new key when the current one retires; the retired
// key stays in the JWKS for the longest token life, then leaves it.
func TestKeysRetireAndExpire(t *testing.T) {
	t.Parallel()
	st := engines()[0].open(t)
	ctx := t.Context()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(time.Now())
	keys, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{Now: clk.Now, SignLifetime: time.Hour, MaxTokenLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v := identity.NewVerifier(keys, nil, "https://orch.example")
	old := issueFor(t, keys, "https://orch.example/identity_")
	clk.Add(61 * time.Minute)

	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keys.Run(runCtx, 10*time.Millisecond) }()
	stopRun := func() { stop(); <-done }
	var fresh string
	for deadline := time.Now().Add(5 * time.Second); ; {
		fresh = issueFor(t, keys, "https://orch.example/identity_")
		if kidOf(t, fresh) != kidOf(t, old) {
			break
		}
		if time.Now().After(deadline) {
			stopRun()
			t.Fatal("Run did not replace the retired key within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopRun() // before the clock moves on again
	if kids := jwksKIDs(t, keys.JWKS()); len(kids) != 2 {
		t.Errorf("JWKS after retirement lists %v, want the retired and the new key", kids)
	}
	if _, err := v.Verify(ctx, fresh); err != nil {
		t.Errorf("new key: %v", err)
	}

	// Past the retired key's retirement plus the longest token life, it leaves the JWKS.
	clk.Add(2*time.Hour + time.Minute)
	if err := keys.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, keys.JWKS()); !slices.Equal(kids, []string{kidOf(t, fresh)}) {
		t.Errorf("JWKS lists %v, want only %s", kids, kidOf(t, fresh))
	}
}

// TestKeysAlgorithms: RS256 keys sign RS256 tokens; unknown algorithms are refused.
func TestKeysAlgorithms(t *testing.T) {
	t.Parallel()
	st := engines()[0].open(t)
	ctx := t.Context()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"HS256", "none", "ES384", "PS256", "es256", "EdDSA"} {
		_, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{Alg: alg})
		if err == nil || !strings.Contains(err.Error(), `"`+alg+`"`) || !strings.Contains(err.Error(), "ES256 or RS256") {
			t.Errorf("NewKeys(Alg %q) = %v, want an error naming it and the choices", alg, err)
		}
	}
	if rows, _ := st.SigningKeyList(ctx, time.Now()); len(rows) != 0 {
		t.Errorf("a refused algorithm left %d keys behind", len(rows))
	}

	es, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{Alg: "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	if es.Alg() != "ES256" || rs.Alg() != "RS256" {
		t.Errorf("Alg() = %s, %s", es.Alg(), rs.Alg())
	}
	esTok, rsTok := issueFor(t, es, "https://orch.example/"), issueFor(t, rs, "https://orch.example/")
	if h := jwtHeader(t, rsTok); h["alg"] != "RS256" || h["typ"] != "JWT" {
		t.Errorf("RS256 token header %v", h)
	}
	if h := jwtHeader(t, esTok); h["alg"] != "ES256" || h["typ"] != "JWT" {
		t.Errorf("ES256 token header %v", h)
	}
	rows, err := st.SigningKeyList(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(r.PublicJWK), &jwk); err != nil {
			t.Fatal(err)
		}
		switch pub := jwk.Key.(type) {
		case *rsa.PublicKey:
			if r.Alg != "RS256" || pub.N.BitLen() < 2048 {
				t.Errorf("RSA key %s: alg %s, %d bits", r.KID, r.Alg, pub.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if r.Alg != "ES256" || pub.Curve.Params().Name != "P-256" {
				t.Errorf("EC key %s: alg %s, curve %s", r.KID, r.Alg, pub.Curve.Params().Name)
			}
		default:
			t.Errorf("key %s is a %T", r.KID, jwk.Key)
		}
	}
	// Either node verifies both kinds of token (the JWKS is shared).
	for _, k := range []*identity.Keys{es, rs} {
		if err := k.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		v := identity.NewVerifier(k, nil, "https://orch.example")
		for _, tok := range []string{esTok, rsTok} {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Errorf("%s node, %s token: %v", k.Alg(), jwtHeader(t, tok)["alg"], err)
			}
		}
	}
}

// TestKeysSealed: the private keys are stored sealed with the secret key, and another
// secret key cannot open them.
func TestKeysSealed(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			st := engines()[0].open(t)
			ctx := t.Context()
			key, err := secret.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			keys, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{Alg: alg})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := st.SigningKeyList(ctx, time.Now())
			if err != nil || len(rows) != 1 {
				t.Fatalf("%d keys, %v", len(rows), err)
			}
			row := rows[0]
			der, err := key.Open(row.PrivateSealed, []byte("signing-key:"+row.KID))
			if err != nil {
				t.Fatalf("the sealed key does not open with the secret key: %v", err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			var scalar []byte // the secret number itself
			switch p := priv.(type) {
			case *ecdsa.PrivateKey:
				scalar = p.D.FillBytes(make([]byte, 32))
			case *rsa.PrivateKey:
				scalar = p.D.Bytes()
			}
			if bytes.Contains(row.PrivateSealed, der) || len(scalar) < 32 || bytes.Contains(row.PrivateSealed, scalar) {
				t.Error("the stored key contains the private key in the clear")
			}
			if strings.Contains(row.PublicJWK, `"d"`) {
				t.Errorf("the public JWK holds the private exponent: %s", row.PublicJWK)
			}
			var jwk jose.JSONWebKey
			if err := json.Unmarshal([]byte(row.PublicJWK), &jwk); err != nil {
				t.Fatal(err)
			}
			if !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
				t.Error("the sealed private key does not match the published public key")
			}
			// The sealed key is bound to its kid: moved to another kid, it does not open.
			if _, err := key.Open(row.PrivateSealed, []byte("signing-key:other")); err == nil {
				t.Error("the sealed key opens for another kid")
			}

			other, err := secret.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			_, err = identity.NewKeys(ctx, st, other, identity.KeysOptions{Alg: alg})
			if err == nil || !strings.Contains(err.Error(), "does not open with the secret key") || !strings.Contains(err.Error(), row.KID) {
				t.Errorf("NewKeys with another secret key: %v", err)
			}
			if !errors.Is(err, secret.ErrWrongKey) {
				t.Errorf("the error does not wrap secret.ErrWrongKey: %v", err)
			}
			if rows, _ := st.SigningKeyList(ctx, time.Now()); len(rows) != 1 {
				t.Errorf("a node with the wrong secret key created a key of its own (%d keys)", len(rows))
			}
			// The right key still works, also on Reload.
			if err := keys.Reload(ctx); err != nil {
				t.Errorf("Reload: %v", err)
			}
		})
	}
}
