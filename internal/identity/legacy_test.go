package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// legacyService is a second identity service over the environment's store, keys and
// deny-list, for calling the methods the legacy endpoints use.
func legacyService(e *testEnv) *identity.Service {
	return identity.New(identity.Options{Store: e.st, Keys: e.keys, Deny: e.deny, PublicURL: e.public, Now: e.now})
}

// TestVerifyIDToken checks the verification of id_tokens, which the seed-era discovery
// endpoints accept as credentials: a real one from the authorization-code flow passes with
// its client as ClientID; access tokens and PATs are told apart (ErrNotIDToken); a foreign
// signature, expiry and revocation of the user refuse it.
func TestVerifyIDToken(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(time.Now())
			e := newTestEnv(t, envOptions{store: eng.open, clock: clk})
			ids := legacyService(e)
			ctx := t.Context()
			u, v := e.cliAuthorize(orgName, cliScope)
			r := e.exchangeCode(t, orgName, cliID, "", newBrowser(t, e).codeFor(t, u), v, cliRedirect)
			access, _ := wantTokens(t, r)
			idToken := r.str("id_token")

			c, err := ids.VerifyIDToken(ctx, idToken)
			if err != nil {
				t.Fatalf("VerifyIDToken of a fresh id_token: %v", err)
			}
			if c.Subject != e.alice.Key || c.OrgKey != e.org.Key || c.ClientID != cliID || c.SubType != identity.SubUser ||
				c.Issuer != e.identityBase(orgName) {
				t.Errorf("claims %+v; want alice's, of acme, client %s, issuer %s", c, cliID, e.identityBase(orgName))
			}
			if _, err := ids.VerifyIDToken(ctx, access); !errors.Is(err, identity.ErrNotIDToken) {
				t.Errorf("an access token: %v, want ErrNotIDToken", err)
			}
			if _, err := ids.VerifyIDToken(ctx, "oo_pat_abc"); !errors.Is(err, identity.ErrNotIDToken) {
				t.Errorf("a PAT: %v, want ErrNotIDToken", err)
			}
			// The same claims signed by someone else.
			payload := strings.Split(idToken, ".")[1]
			forged := signWith(t, attackerSigner(t, e.keys.SigningKID(), false), b64d(t, payload))
			var te *identity.TokenError
			if _, err := ids.VerifyIDToken(ctx, forged); !errors.As(err, &te) || !strings.Contains(te.Reason, "signature is not valid") {
				t.Errorf("a forged id_token: %v, want a refused signature", err)
			}
			// Revoking the user ends the id_token.
			clk.Add(time.Second)
			if err := e.deny.Revoke(ctx, store.RevokeSubject, e.alice.Key, clk.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := ids.VerifyIDToken(ctx, idToken); !errors.As(err, &te) || !strings.Contains(te.Reason, "revoked") {
				t.Errorf("the id_token of a revoked user: %v, want revoked", err)
			}
			// Another user's id_token, an hour and more later, has expired.
			u, v = e.cliAuthorize(orgName, cliScope)
			b := newBrowser(t, e)
			p := b.get(t, u)
			code := b.signIn(t, p, orgName, bobEmail, userPassword).redirect(t).Query().Get("code")
			bobID := e.exchangeCode(t, orgName, cliID, "", code, v, cliRedirect).str("id_token")
			if _, err := ids.VerifyIDToken(ctx, bobID); err != nil {
				t.Fatalf("bob's fresh id_token: %v", err)
			}
			clk.Add(time.Hour + 2*time.Minute)
			if _, err := ids.VerifyIDToken(ctx, bobID); !errors.As(err, &te) || !strings.Contains(te.Reason, "id_token expired at") {
				t.Errorf("an id_token past its hour: %v, want expired", err)
			}
		})
	}
}

// TestLegacyToken checks the methods of the legacy login: the password check with its
// failure limit, the rules IssueLegacyToken enforces itself (tenant switch, sunset,
// basicAuth), and the token it issues, which the API's verifier accepts and the deny-list
// ends.
func TestLegacyToken(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC))
	e := newTestEnv(t, envOptions{clock: clk})
	ids := legacyService(e)
	ctx := context.Background()
	req := httptest.NewRequest(http.MethodPost, "/api/account/authenticate", nil)
	req.RemoteAddr = "198.51.100.7:4000"

	alice, err := ids.AuthenticatePassword(req, e.org, " ALICE@acme.test ", userPassword, identity.LegacyClientID)
	if err != nil || alice.ID != e.alice.ID {
		t.Fatalf("AuthenticatePassword with the right password: %v", err)
	}
	if _, err := ids.AuthenticatePassword(req, e.org2, aliceEmail, userPassword, identity.LegacyClientID); !errors.Is(err, identity.ErrBadCredentials) {
		t.Errorf("alice in another organization: %v, want ErrBadCredentials", err)
	}

	// The rules, in the order a login meets them.
	issue := func() (string, error) {
		tn, err := e.st.TenantGet(ctx, e.org.ID, e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.st.UserGet(ctx, e.org.ID, e.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := ids.LegacyTenantAllowed(req, e.org, tn, aliceEmail); err != nil {
			return "", err
		}
		tok, _, err := ids.IssueLegacyToken(req, e.org, tn, u)
		return tok, err
	}
	wantRefused := func(parts ...string) {
		t.Helper()
		_, err := issue()
		var lr *identity.LegacyRefusedError
		if !errors.As(err, &lr) {
			t.Fatalf("got %v, want a LegacyRefusedError", err)
		}
		for _, p := range parts {
			if !strings.Contains(lr.Message, p) {
				t.Errorf("refusal %q does not say %q", lr.Message, p)
			}
		}
	}
	wantRefused("turned off for tenant Default of organization acme", "client credentials", "personal access token")
	until := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	if _, err := e.st.TenantUpdate(ctx, e.org.ID, e.tenant.ID, func(t tenancy.Tenant) (tenancy.Tenant, error) {
		t.LegacyBasicAuth, t.LegacyBasicAuthUntil = true, &until
		return t, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRefused("alice@acme.test may not use legacy basic authentication", "basicAuth")
	if _, err := e.st.UserUpdate(ctx, e.org.ID, e.alice.ID, func(u tenancy.User) (tenancy.User, error) {
		u.BasicAuth = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	token, err := issue()
	if err != nil {
		t.Fatalf("a basicAuth user in an enabled tenant: %v", err)
	}
	c, err := e.verifier.Verify(ctx, token)
	if err != nil {
		t.Fatalf("the API's verifier refuses the legacy token: %v", err)
	}
	if c.Issuer != e.public+"/" || c.SubType != identity.SubUser || c.Subject != e.alice.Key || c.ClientID != identity.LegacyClientID ||
		c.OrgKey != e.org.Key || c.Scope != "OrchestratorApiUserAccess" || c.Expiry-c.IssuedAt != 1800 {
		t.Errorf("claims %+v; want alice's 30-minute OrchestratorApiUserAccess token issued by %s/", c, e.public)
	}
	// Every legacy token ends with its client id.
	clk.Add(time.Second)
	if err := e.deny.Revoke(ctx, store.RevokeClient, identity.LegacyClientID, clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verifier.Verify(ctx, token); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("a legacy token after its client id was revoked: %v", err)
	}
	clk.Set(until)
	wantRefused("legacy basic authentication for tenant Default of organization acme ended at 2026-07-15T00:00:00Z")

	// Ten failures block the account, the right password included, until the window ends.
	for range 10 {
		if _, err := ids.AuthenticatePassword(req, e.org, bobEmail, "guess", identity.LegacyClientID); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	_, err = ids.AuthenticatePassword(req, e.org, bobEmail, userPassword, identity.LegacyClientID)
	var blocked *identity.BlockedError
	if !errors.As(err, &blocked) || blocked.WaitSeconds() != 900 {
		t.Fatalf("the 11th attempt: %v, want blocked for 900s", err)
	}
	evs, err := e.st.IdentityEventList(ctx, e.org.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, ev := range evs {
		if ev.ClientID == identity.LegacyClientID {
			kinds[ev.Kind] = true
		}
		if strings.Contains(ev.Detail, userPassword) {
			t.Errorf("an event holds the password: %+v", ev)
		}
	}
	for _, k := range []string{"signin", "signin.failed", "signin.blocked", "token.refused"} {
		if !kinds[k] {
			b, _ := json.Marshal(evs)
			t.Errorf("no %s event of the legacy login: %s", k, b)
		}
	}
}
