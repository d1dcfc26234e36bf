package identity_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

const patsPath = "/" + orgName + "/identity_/api/PersonalAccessTokens"

// createPAT creates a PAT for u through the API and returns the answer's fields.
func (a *adminEnv) createPAT(t testing.TB, u tenancy.User, body any) map[string]any {
	t.Helper()
	r := a.call(t, "POST", patsPath, bearer(a.userToken(t, u, a.org, "IdentityServerApi")), body, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create PAT: %d %s", r.status, r.body)
	}
	return r.obj(t)
}

// wantTokenError checks that err is a *TokenError mentioning parts.
func wantTokenError(t testing.TB, err error, parts ...string) {
	t.Helper()
	var te *identity.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T), want a *TokenError", err, err)
	}
	for _, p := range parts {
		if !strings.Contains(te.Reason, p) {
			t.Errorf("reason %q does not mention %q", te.Reason, p)
		}
	}
}

func TestPATLifecycle(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testPATLifecycle(t, newAdminEnv(t, envOptions{store: eng.open}))
		})
	}
}

func testPATLifecycle(t *testing.T, a *adminEnv) {
	ctx := context.Background()
	before := time.Now()
	// Any user of the organization may have PATs; keys are case-insensitive.
	p := a.createPAT(t, a.dev, `{"NAME":"nightly build","Scopes":["OR.Jobs","OR.Queues.Read","OR.Jobs"]}`)
	tok, _ := p["token"].(string)
	if !strings.HasPrefix(tok, "oo_pat_") || len(tok) < 40 {
		t.Fatalf("token = %q", tok)
	}
	key, _ := p["key"].(string)
	id := int64(p["id"].(float64))
	if p["name"] != "nightly build" || key == "" || p["revokedAt"] != nil || p["lastUsedAt"] != nil {
		t.Errorf("created PAT: %v", p)
	}
	exp, err := time.Parse(time.RFC3339, p["expiresAt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if want := before.Add(30 * 24 * time.Hour); exp.Before(want.Add(-time.Minute)) || exp.After(want.Add(time.Minute)) {
		t.Errorf("expiresAt %s, want 30 days from now", exp)
	}

	// The token is a Bearer token with a user's claims.
	c, err := a.svc.VerifyBearer(ctx, tok)
	if err != nil {
		t.Fatalf("VerifyBearer: %v", err)
	}
	want := identity.Claims{Issuer: a.base + "/" + orgName + "/identity_", Subject: a.dev.Key, SubType: identity.SubUser,
		ClientID: identity.PATClientID, OrgKey: a.org.Key, Scope: "OR.Jobs OR.Queues.Read", ID: key, Expiry: exp.Unix()}
	if c.Issuer != want.Issuer || c.Subject != want.Subject || c.SubType != want.SubType || c.ClientID != want.ClientID ||
		c.OrgKey != want.OrgKey || c.Scope != want.Scope || c.ID != want.ID || c.Expiry != want.Expiry ||
		len(c.Audience) != 1 || c.Audience[0] != identity.Audience || c.IssuedAt < before.Unix()-1 {
		t.Errorf("claims %+v\nwant %+v", c, want)
	}

	// Listed without the token or its hash; its use is recorded.
	auth := bearer(a.userToken(t, a.dev, a.org, "IdentityServerApi"))
	r := a.call(t, "GET", patsPath, auth, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	for _, bad := range []string{tok, secret.HashToken(tok), `"token"`, "Hash"} {
		if strings.Contains(string(r.body), bad) {
			t.Errorf("list contains %q: %s", bad, r.body)
		}
	}
	l := r.list(t)
	if len(l) != 1 || l[0]["key"] != key || l[0]["lastUsedAt"] == nil {
		t.Errorf("list: %s", r.body)
	}
	r = a.call(t, "GET", patsPath+"/"+key, auth, nil, nil)
	if r.status != http.StatusOK || r.obj(t)["id"].(float64) != float64(id) {
		t.Errorf("get by key: %d %s", r.status, r.body)
	}
	// Nobody else sees it.
	if r := a.call(t, "GET", patsPath, bearer(a.userToken(t, a.root, a.org, "IdentityServerApi")), nil, nil); string(r.body) != "[]\n" {
		t.Errorf("root's list: %d %s", r.status, r.body)
	}

	// Revoked: 204, and refused from then on.
	r = a.call(t, "DELETE", patsPath+"/"+strconv.FormatInt(id, 10), auth, nil, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	_, err = a.svc.VerifyBearer(ctx, tok)
	wantTokenError(t, err, "revoked at", "nightly build")
	wantAPIError(t, a.call(t, "GET", patsPath, bearer(tok), nil, nil), http.StatusUnauthorized, "revoked at")
	if r := a.call(t, "DELETE", patsPath+"/"+key, auth, nil, nil); r.status != http.StatusNoContent {
		t.Errorf("revoking again: %d %s", r.status, r.body)
	}
	r = a.call(t, "GET", patsPath, auth, nil, nil)
	if l := r.list(t); len(l) != 1 || l[0]["revokedAt"] == nil {
		t.Errorf("list after revoke: %s", r.body)
	}

	evs, err := a.st.IdentityEventList(ctx, a.org.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Subject == a.dev.Key {
			seen[e.Kind] = true
		}
	}
	if !seen["pat.created"] || !seen["pat.revoked"] {
		t.Errorf("events %+v: want pat.created and pat.revoked by %s", evs, a.dev.Key)
	}
}

func TestPATAsCaller(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	full, _ := a.createPAT(t, a.root, map[string]any{"name": "all", "scopes": []string{"OrchestratorApiUserAccess"}})["token"].(string)
	narrow, _ := a.createPAT(t, a.root, map[string]any{"name": "jobs", "scopes": []string{"OR.Jobs"}})["token"].(string)
	// A PAT with OrchestratorApiUserAccess acts for its user, an administrator here.
	if r := a.call(t, "GET", appsPath, bearer(full), nil, nil); r.status != http.StatusOK {
		t.Errorf("apps with a full PAT: %d %s", r.status, r.body)
	}
	if r := a.call(t, "GET", patsPath, bearer(full), nil, nil); r.status != http.StatusOK || len(r.list(t)) != 2 {
		t.Errorf("PATs with a full PAT: %d %s", r.status, r.body)
	}
	// A narrower one may not manage identity (nor mint itself a broader token).
	wantAPIError(t, a.call(t, "POST", patsPath, bearer(narrow), map[string]any{"name": "x", "scopes": []string{"OrchestratorApiUserAccess"}}, nil),
		http.StatusForbidden, "lacks scope OrchestratorApiUserAccess")
	// Not in another organization.
	wantAPIError(t, a.call(t, "GET", "/globex/identity_/api/PersonalAccessTokens", bearer(full), nil, nil), http.StatusForbidden, "wrong organization")
	// A disabled user's PATs stop.
	if _, err := a.st.UserUpdate(context.Background(), a.org.ID, a.root.ID, func(u tenancy.User) (tenancy.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := a.svc.VerifyBearer(context.Background(), full)
	wantTokenError(t, err, "disabled")
	_, err = a.svc.VerifyBearer(context.Background(), "oo_pat_"+strings.Repeat("x", 43))
	wantTokenError(t, err, "not a known personal access token")
}

func TestPATExpiryAndTouch(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Now().Truncate(time.Second))
	a := newAdminEnv(t, envOptions{clock: clk})
	ctx := context.Background()
	start := clk.Now()

	p := a.createPAT(t, a.dev, map[string]any{"name": "short", "scopes": []string{"OR.Jobs"}, "expiresInDays": 1})
	tok := p["token"].(string)
	at := clk.Now().Add(48 * time.Hour).UTC()
	p2 := a.createPAT(t, a.dev, map[string]any{"name": "until", "scopes": []string{"OR.Jobs"}, "expiresAt": at.Format(time.RFC3339)})
	if p2["expiresAt"] != at.Format(time.RFC3339) {
		t.Errorf("expiresAt %v, want %s", p2["expiresAt"], at.Format(time.RFC3339))
	}

	lastUsed := func() *time.Time {
		t.Helper()
		ps, err := a.st.PATList(ctx, a.org.ID, a.dev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ps {
			if x.Name == "short" {
				return x.LastUsedAt
			}
		}
		t.Fatal("PAT short not found")
		return nil
	}
	if _, err := a.svc.VerifyBearer(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if lu := lastUsed(); lu == nil || !lu.Equal(start) {
		t.Errorf("lastUsedAt %v, want %s", lu, start)
	}
	// Used again within the minute: not written again.
	clk.Add(30 * time.Second)
	if _, err := a.svc.VerifyBearer(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if lu := lastUsed(); lu == nil || !lu.Equal(start) {
		t.Errorf("lastUsedAt %v, want still %s", lu, start)
	}
	clk.Add(31 * time.Second)
	if _, err := a.svc.VerifyBearer(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if lu := lastUsed(); lu == nil || !lu.Equal(start.Add(61*time.Second)) {
		t.Errorf("lastUsedAt %v, want %s", lu, start.Add(61*time.Second))
	}

	// A day later the one-day token has expired; the other lives on.
	clk.Set(start.Add(24 * time.Hour))
	_, err := a.svc.VerifyBearer(ctx, tok)
	wantTokenError(t, err, "expired at", start.Add(24*time.Hour).UTC().Format(time.RFC3339))
	if _, err := a.svc.VerifyBearer(ctx, p2["token"].(string)); err != nil {
		t.Errorf("the 48-hour token after a day: %v", err)
	}
	clk.Set(at)
	_, err = a.svc.VerifyBearer(ctx, p2["token"].(string))
	wantTokenError(t, err, "expired at")
}

func TestPATOtherUser(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	p := a.createPAT(t, a.dev, map[string]any{"name": "mine", "scopes": []string{"OR.Jobs"}})
	id := strconv.FormatInt(int64(p["id"].(float64)), 10)
	// Another user, even an administrator, cannot see or revoke it.
	other := bearer(a.userToken(t, a.root, a.org, "IdentityServerApi"))
	for _, ref := range []string{id, p["key"].(string)} {
		wantAPIError(t, a.call(t, "DELETE", patsPath+"/"+ref, other, nil, nil), http.StatusNotFound, ref)
		wantAPIError(t, a.call(t, "GET", patsPath+"/"+ref, other, nil, nil), http.StatusNotFound)
	}
	if _, err := a.svc.VerifyBearer(context.Background(), p["token"].(string)); err != nil {
		t.Errorf("the PAT after another user's attempt: %v", err)
	}
	// Nor can the store be asked to.
	if _, err := a.st.PATRevoke(context.Background(), a.org.ID, a.root.ID, int64(p["id"].(float64)), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("store PATRevoke by another user: %v", err)
	}
}

func TestPATValidation(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	auth := bearer(a.userToken(t, a.dev, a.org, "IdentityServerApi"))
	for _, c := range []struct {
		name  string
		body  any
		parts []string
	}{
		{"identity scope", map[string]any{"name": "x", "scopes": []string{"OR.Jobs", "IdentityServerApi"}}, []string{"scopes[1]", `"IdentityServerApi"`}},
		{"openid", map[string]any{"name": "x", "scopes": []string{"openid"}}, []string{`"openid"`, "OR scopes"}},
		{"not an OR scope", map[string]any{"name": "x", "scopes": []string{"OR.Jobs.Delete"}}, []string{`"OR.Jobs.Delete"`}},
		{"no scopes", map[string]any{"name": "x"}, []string{"scopes is missing"}},
		{"no name", map[string]any{"scopes": []string{"OR.Jobs"}}, []string{"name is missing"}},
		{"long name", map[string]any{"name": strings.Repeat("é", 101), "scopes": []string{"OR.Jobs"}}, []string{"at most 100"}},
		{"too long", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresInDays": 366}, []string{"1 to 365"}},
		{"zero days", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresInDays": 0}, []string{"1 to 365"}},
		{"both", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresInDays": 3, "expiresAt": "2099-01-01T00:00:00Z"}, []string{"not both"}},
		{"far", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresAt": time.Now().AddDate(1, 1, 0).Format(time.RFC3339)}, []string{"365 days"}},
		{"past", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresAt": "2001-01-01T00:00:00Z"}, []string{"not in the future"}},
		{"bad time", map[string]any{"name": "x", "scopes": []string{"OR.Jobs"}, "expiresAt": "tomorrow"}, []string{"RFC 3339"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantAPIError(t, a.call(t, "POST", patsPath, auth, c.body, nil), http.StatusBadRequest, c.parts...)
		})
	}
	// 100 characters (not bytes) is fine, and 365 days.
	a.createPAT(t, a.dev, map[string]any{"name": strings.Repeat("é", 100), "scopes": []string{"OR.Jobs"}, "expiresInDays": 365})
}
