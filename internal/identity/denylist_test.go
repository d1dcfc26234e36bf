package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

// TestDenyListRevoke revokes by each kind and checks that a token issued before the
// revocation is refused and one issued after it accepted, even within the same second,
// on this node at once and on a node started afterwards.
func TestDenyListRevoke(t *testing.T) {
	t.Parallel()
	claims := func(e *testEnv, client, subject, family string) identity.Claims {
		return identity.Claims{Issuer: e.identityBase(""), Subject: subject, SubType: identity.SubClient, ClientID: client,
			OrgKey: e.org.Key, Scope: "OR.Jobs", Family: family}
	}
	cases := []struct {
		kind   string
		value  func(revoked identity.Claims) string
		reason string
		// sameValue: a later token shares the revoked value (the same subject, client or
		// family); for jti every token has its own.
		sameValue bool
	}{
		{store.RevokeJTI, func(c identity.Claims) string { return c.ID }, "this token was revoked", false},
		{store.RevokeSubject, func(c identity.Claims) string { return c.Subject }, "every token of its subject was revoked", true},
		{store.RevokeClient, func(c identity.Claims) string { return c.ClientID }, `the tokens of client "client-1" were revoked`, true},
		{store.RevokeFamily, func(c identity.Claims) string { return c.Family }, "its refresh token family was revoked", true},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			// 300 ms into a second, so that everything below happens within it.
			clk := newClock(time.Now().Add(time.Second).Truncate(time.Second).Add(300 * time.Millisecond))
			e := newTestEnv(t, envOptions{clock: clk})
			ctx := t.Context()
			issue := func(c identity.Claims) (string, identity.Claims) {
				tok, c, err := e.keys.Issue(c, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return tok, c
			}
			mine := claims(e, "client-1", "subject-1", "family-1")
			before, bc := issue(mine)
			other, _ := issue(claims(e, "client-2", "subject-2", "family-2"))
			clk.Add(time.Millisecond)
			sameMilli, _ := issue(mine) // issued in the very millisecond of the revocation
			if err := e.deny.Revoke(ctx, tc.kind, tc.value(bc), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Millisecond)
			after, ac := issue(mine)
			if ac.IssuedAt != bc.IssuedAt {
				t.Fatalf("the tokens were not issued within one second: the test proves nothing")
			}

			wantRevoked := func(v *identity.Verifier, tok string, what string) {
				t.Helper()
				_, err := v.Verify(ctx, tok)
				var te *identity.TokenError
				if !errors.As(err, &te) || !strings.Contains(te.Reason, "revoked") || !strings.Contains(te.Reason, tc.reason) {
					t.Errorf("%s: Verify = %v; want revoked (%s)", what, err, tc.reason)
				}
			}
			wantValid := func(v *identity.Verifier, tok string, what string) {
				t.Helper()
				if _, err := v.Verify(ctx, tok); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			// A node started afterwards loads the revocation.
			deny2, err := identity.NewDenyList(ctx, e.st, nil, clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []*identity.Verifier{e.verifier, identity.NewVerifier(e.keys, deny2, e.base)} {
				wantRevoked(v, before, "a token issued before the revocation")
				if tc.sameValue {
					wantRevoked(v, sameMilli, "a token issued in the millisecond of the revocation")
					wantValid(v, after, "a token issued 1 ms after the revocation, in the same second")
				}
				wantValid(v, other, "a token of another client, subject and family")
			}
			if why := e.deny.Denied(bc); !strings.Contains(why, tc.reason) {
				t.Errorf("Denied = %q", why)
			}
		})
	}

	// A token without iat_ms (older tokens, other issuers) is placed by iat.
	t.Run("without iat_ms", func(t *testing.T) {
		t.Parallel()
		clk := newClock(time.Now().Truncate(time.Second).Add(500 * time.Millisecond))
		e := newTestEnv(t, envOptions{clock: clk})
		if err := e.deny.Revoke(t.Context(), store.RevokeClient, "c", clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		now := clk.Now()
		if why := e.deny.Denied(identity.Claims{ClientID: "c", IssuedAt: now.Unix()}); why == "" {
			t.Errorf("a token of the revocation's second without iat_ms is accepted")
		}
		if why := e.deny.Denied(identity.Claims{ClientID: "c", IssuedAt: now.Unix() + 1}); why != "" {
			t.Errorf("a token of the next second without iat_ms is refused: %s", why)
		}
	})

	// A later revocation of the same value moves the cut-off; an earlier one (arriving
	// late from another node) does not move it back.
	t.Run("cut-off only moves forward", func(t *testing.T) {
		t.Parallel()
		clk := newClock(time.Now())
		e := newTestEnv(t, envOptions{clock: clk})
		ctx := t.Context()
		t0 := clk.Now()
		if err := e.deny.Revoke(ctx, store.RevokeSubject, "s", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) identity.Claims {
			return identity.Claims{Subject: "s", IssuedAtMillis: t0.Add(d).UnixMilli(), IssuedAt: t0.Add(d).Unix()}
		}
		if e.deny.Denied(at(10*time.Second)) != "" {
			t.Fatal("a token after the revocation is denied")
		}
		clk.Add(20 * time.Second)
		if err := e.deny.Revoke(ctx, store.RevokeSubject, "s", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e.deny.Denied(at(10*time.Second)) == "" {
			t.Error("the second revocation did not move the cut-off")
		}
		// Another node, whose clock is behind, revokes the same subject.
		lagging := newClock(t0.Add(5 * time.Second))
		other, err := identity.NewDenyList(ctx, e.st, nil, lagging.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Revoke(ctx, store.RevokeSubject, "s", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := e.deny.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if e.deny.Denied(at(10*time.Second)) == "" {
			t.Error("an older revocation moved the cut-off back")
		}
	})
}

// TestDenyListDropsExpired checks that revocations whose tokens have all expired are
// dropped at the next Refresh, and not loaded by a node started after.
func TestDenyListDropsExpired(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now())
	e := newTestEnv(t, envOptions{clock: clk})
	ctx := t.Context()
	issued := clk.Now().Add(-time.Second)
	c := identity.Claims{ClientID: "c1", IssuedAt: issued.Unix(), IssuedAtMillis: issued.UnixMilli()}
	c2 := identity.Claims{ClientID: "c2", IssuedAt: issued.Unix(), IssuedAtMillis: issued.UnixMilli()}
	if err := e.deny.Revoke(ctx, store.RevokeClient, "c1", clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.deny.Revoke(ctx, store.RevokeClient, "c2", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e.deny.Denied(c) == "" || e.deny.Denied(c2) == "" {
		t.Fatal("not denied after Revoke")
	}
	clk.Add(2 * time.Minute)
	if err := e.deny.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if why := e.deny.Denied(c); why != "" {
		t.Errorf("an expired revocation is still applied after Refresh: %s", why)
	}
	if e.deny.Denied(c2) == "" {
		t.Errorf("a current revocation was dropped by Refresh")
	}
	later, err := identity.NewDenyList(ctx, e.st, nil, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if later.Denied(c) != "" || later.Denied(c2) == "" {
		t.Errorf("a node started later: c1 %q (want none), c2 %q (want denied)", later.Denied(c), later.Denied(c2))
	}
}

// TestDenyListAcrossNodes revokes on one node and watches another node, polling the
// database every 200 ms, refuse the token within seconds; on both engines.
func TestDenyListAcrossNodes(t *testing.T) {
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
			const public = "https://orch.example"
			type node struct {
				keys *identity.Keys
				deny *identity.DenyList
				v    *identity.Verifier
			}
			newNode := func() node {
				keys, err := identity.NewKeys(ctx, st, key, identity.KeysOptions{})
				if err != nil {
					t.Fatal(err)
				}
				deny, err := identity.NewDenyList(ctx, st, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				return node{keys, deny, identity.NewVerifier(keys, deny, public)}
			}
			a, b := newNode(), newNode()
			runCtx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); b.deny.Run(runCtx, 200*time.Millisecond) }()
			t.Cleanup(func() { stop(); <-done })

			tok, _, err := a.keys.Issue(identity.Claims{Issuer: public + "/identity_", Subject: "s", SubType: identity.SubClient,
				ClientID: "cross-node-client", Scope: "OR.Jobs"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.v.Verify(ctx, tok); err != nil {
				t.Fatalf("node B refuses the token before any revocation: %v", err)
			}
			// (A revocation in the token's own millisecond covers it: no need to wait.)
			if err := a.deny.Revoke(ctx, store.RevokeClient, "cross-node-client", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.v.Verify(ctx, tok); err == nil {
				t.Fatal("node A accepts the token it just revoked")
			}
			start := time.Now()
			deadline := start.Add(5 * time.Second)
			for {
				_, err := b.v.Verify(ctx, tok)
				var te *identity.TokenError
				if errors.As(err, &te) && strings.Contains(te.Reason, "revoked") {
					t.Logf("node B refused the token %s after the revocation", time.Since(start).Round(time.Millisecond))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node B still accepts the token 5s after node A revoked it (last: %v)", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestDenyListLateCommit: on PostgreSQL, identity values are handed out when rows are
// inserted, not when they commit. A revocation inserted in a transaction that commits
// after a later revocation must still reach the other nodes.
func TestDenyListLateCommit(t *testing.T) {
	t.Parallel()
	// PostgreSQL only: SQLite has one writer at a time, so there ids commit in order.
	st := storetest.NewPostgres(t)
	ctx := t.Context()
	nodeA, err := identity.NewDenyList(ctx, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nodeB, err := identity.NewDenyList(ctx, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now().Add(-time.Second)
	claims := func(client string) identity.Claims {
		return identity.Claims{ClientID: client, IssuedAt: issued.Unix(), IssuedAtMillis: issued.UnixMilli()}
	}

	inserted, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.Tx(context.Background(), func(tx store.Store) error {
			// e.g. deleting an app and revoking its tokens in one transaction
			if _, err := tx.RevocationAdd(ctx, store.Revocation{Kind: store.RevokeClient, Value: "slow-commit",
				IssuedBefore: time.Now(), ExpireAt: time.Now().Add(time.Hour)}); err != nil {
				close(inserted)
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	if err := nodeA.Revoke(ctx, store.RevokeClient, "fast-commit", time.Now().Add(time.Hour)); err != nil {
		close(release)
		t.Fatal(err)
	}
	if err := nodeB.Refresh(ctx); err != nil { // sees fast-commit only
		close(release)
		t.Fatal(err)
	}
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if nodeB.Denied(claims("fast-commit")) == "" {
		t.Fatal("node B missed the revocation that committed first")
	}
	if nodeB.Denied(claims("slow-commit")) == "" {
		t.Error("node B never learns of the revocation whose transaction committed late")
	}
}
