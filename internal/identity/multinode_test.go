package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/postgres"
	"github.com/openorch/openorch/internal/store/storetest"
)

// Two server nodes on one database: what one node revokes (a PAT, an app's secret, an app,
// a refresh token family) the other refuses within seconds (DESIGN: within 5 s).

// The admin APIs of organization acme.
const (
	nodeAppsPath = "/" + orgName + "/identity_/api/ExternalApplications"
	nodePATsPath = "/" + orgName + "/identity_/api/PersonalAccessTokens"
)

// crossNodeLimit is how soon the other node must refuse a revoked token.
const crossNodeLimit = 5 * time.Second

// TestMultiNodeRevocation runs two full nodes on PostgreSQL (two connection pools on one
// schema) and on SQLite (two Services over one store, the default engine).
func TestMultiNodeRevocation(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		u := storetest.PostgresURL(t)
		testMultiNode(t, openPostgresStore(t, u), openPostgresStore(t, u))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st := storetest.NewSQLite(t)
		testMultiNode(t, st, st)
	})
}

// openPostgresStore opens and migrates a store of its own (its own pool) on url.
func openPostgresStore(t testing.TB, u string) store.Store {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db
}

// nodeAnswer is an HTTP answer of a node's admin API.
type nodeAnswer struct {
	status int
	body   []byte
	json   map[string]any
}

// callNode sends a request to a node's API at base+path with a Bearer token and a JSON body.
func callNode(t testing.TB, method, base, path, token string, body any) nodeAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := nodeAnswer{status: res.StatusCode, body: b}
	_ = json.Unmarshal(b, &a.json)
	return a
}

// waitRefused polls svc until it refuses token as revoked and returns how long that took,
// failing the test after crossNodeLimit.
func waitRefused(t testing.TB, svc *identity.Service, token, what string, since time.Time) time.Duration {
	t.Helper()
	for {
		_, err := svc.VerifyBearer(context.Background(), token)
		var te *identity.TokenError
		if errors.As(err, &te) && strings.Contains(te.Reason, "revoked") {
			d := time.Since(since)
			t.Logf("%s: node B refused it %s after node A answered", what, d.Round(time.Millisecond))
			return d
		}
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("%s: VerifyBearer on node B: %v", what, err)
		}
		if time.Since(since) > crossNodeLimit {
			t.Errorf("%s: node B still accepts the token %s after node A revoked it (last: %v)", what, crossNodeLimit, err)
			return time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testMultiNode builds node A (the test environment over stA) and node B (its own keys,
// deny-list, Service, HTTP server over stB, the same secret key and public URL), both
// deny-lists refreshing every 200 ms, and revokes on A what B must then refuse.
func testMultiNode(t *testing.T, stA, stB store.Store) {
	e := newTestEnv(t, envOptions{store: func(testing.TB) store.Store { return stA }})
	ctx := t.Context()
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Go(func() { e.deny.Run(runCtx, 200*time.Millisecond) })
	nodeA := serviceOf(e)

	keysB, err := identity.NewKeys(ctx, stB, e.key, identity.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	denyB, err := identity.NewDenyList(ctx, stB, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { denyB.Run(runCtx, 200*time.Millisecond) })
	nodeB := identity.New(identity.Options{Store: stB, Keys: keysB, Deny: denyB, PublicURL: e.public + "/"})
	srvB := server.New(server.Options{})
	nodeB.Mount(srvB)
	tsB := httptest.NewServer(srvB)
	t.Cleanup(tsB.Close)
	baseA, baseB := e.base, tsB.URL
	tokenAt := func(base string, form url.Values) response {
		t.Helper()
		return e.postEndpoint(t, base+"/identity_/connect/token", form, nil)
	}

	// An organization administrator acts on node A's admin API.
	admin, err := e.st.UserCreate(ctx, store.UserCreateParams{OrgID: e.org.ID, Email: "admin@acme.test", Name: "Admin", OrgAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	adminTok, _, err := e.keys.Issue(identity.Claims{Issuer: e.public + "/" + orgName + "/identity_", Subject: admin.Key,
		SubType: identity.SubUser, ClientID: "admin-console", OrgKey: e.org.Key, Scope: "IdentityServerApi"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var (
		latMu     sync.Mutex
		latencies []string
	)
	record := func(what string, d time.Duration) {
		latMu.Lock()
		defer latMu.Unlock()
		latencies = append(latencies, what+" "+d.Round(time.Millisecond).String())
	}
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("cross-node latencies: %s", strings.Join(latencies, ", "))
		}
	})

	t.Run("regenerated secret", func(t *testing.T) {
		t.Parallel()
		cc := tokenAt(baseA, clientCreds(appClientID, e.appSecret, ""))
		if cc.status != http.StatusOK {
			t.Fatalf("client_credentials on A: %d %s", cc.status, cc.body)
		}
		old := cc.str("access_token")
		wantAccepted(t, nodeB, old, "node B before the regeneration")
		r := callNode(t, "POST", baseA, nodeAppsPath+"/"+strconv.FormatInt(e.app.ID, 10)+"/secret", adminTok, nil)
		newSecret, _ := r.json["clientSecret"].(string)
		if r.status != http.StatusOK || !strings.HasPrefix(newSecret, "oo_cs_") {
			t.Fatalf("regenerate on A: %d %s", r.status, r.body)
		}
		answered := time.Now()
		wantRefused(t, nodeA, old, "revoked", "secret was regenerated")
		record("regenerated secret", waitRefused(t, nodeB, old, "a token of an app whose secret was regenerated", answered))
		// B's token endpoint knows the new secret at once (a database read), not the old.
		wantError(t, tokenAt(baseB, clientCreds(appClientID, e.appSecret, "")), 401, "invalid_client", "client_secret is wrong")
		fresh := tokenAt(baseB, clientCreds(appClientID, newSecret, ""))
		if fresh.status != http.StatusOK {
			t.Fatalf("client_credentials with the new secret on B: %d %s", fresh.status, fresh.body)
		}
		wantAccepted(t, nodeA, fresh.str("access_token"), "a token of the new secret on node A")
		wantAccepted(t, nodeB, fresh.str("access_token"), "a token of the new secret on node B")
	})

	t.Run("deleted app", func(t *testing.T) {
		t.Parallel()
		r := callNode(t, "POST", baseA, nodeAppsPath, adminTok, map[string]any{"name": "cleanup-bot", "appScopes": []string{"OR.Jobs"}})
		clientID, _ := r.json["clientId"].(string)
		sec, _ := r.json["clientSecret"].(string)
		id, _ := r.json["id"].(float64)
		if r.status != http.StatusCreated || clientID == "" || sec == "" {
			t.Fatalf("create app on A: %d %s", r.status, r.body)
		}
		// A token from each node.
		var toks []string
		for _, base := range []string{baseA, baseB} {
			cc := tokenAt(base, clientCreds(clientID, sec, ""))
			if cc.status != http.StatusOK {
				t.Fatalf("client_credentials: %d %s", cc.status, cc.body)
			}
			toks = append(toks, cc.str("access_token"))
			wantAccepted(t, nodeB, cc.str("access_token"), "node B before the deletion")
		}
		if r := callNode(t, "DELETE", baseA, nodeAppsPath+"/"+strconv.FormatInt(int64(id), 10), adminTok, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete on A: %d %s", r.status, r.body)
		}
		answered := time.Now()
		for i, tok := range toks {
			wantRefused(t, nodeA, tok, "revoked", "deleted")
			record("deleted app", waitRefused(t, nodeB, tok, "a token of a deleted app (issued on node "+"AB"[i:i+1]+")", answered))
		}
		wantError(t, tokenAt(baseB, clientCreds(clientID, sec, "")), 401, "invalid_client", "not known")
	})

	t.Run("revoked PAT", func(t *testing.T) {
		t.Parallel()
		r := callNode(t, "POST", baseA, nodePATsPath, adminTok, map[string]any{"name": "ci", "scopes": []string{"OrchestratorApiUserAccess"}})
		pat, _ := r.json["token"].(string)
		id, _ := r.json["id"].(float64)
		if r.status != http.StatusCreated || pat == "" {
			t.Fatalf("create PAT on A: %d %s", r.status, r.body)
		}
		wantAccepted(t, nodeB, pat, "the PAT on node B")
		if r := callNode(t, "GET", baseB, nodePATsPath, pat, nil); r.status != http.StatusOK {
			t.Fatalf("node B's API with the PAT: %d %s", r.status, r.body)
		}
		if r := callNode(t, "DELETE", baseA, nodePATsPath+"/"+strconv.FormatInt(int64(id), 10), adminTok, nil); r.status != http.StatusNoContent {
			t.Fatalf("revoke the PAT on A: %d %s", r.status, r.body)
		}
		// A database read on node B: refused at once, without waiting.
		answered := time.Now()
		wantRefused(t, nodeB, pat, "revoked", `"ci"`)
		record("revoked PAT", time.Since(answered))
		if r := callNode(t, "GET", baseB, nodePATsPath, pat, nil); r.status != http.StatusUnauthorized {
			t.Errorf("node B's API with the revoked PAT: %d %s", r.status, r.body)
		}
	})

	t.Run("refresh token reuse", func(t *testing.T) {
		t.Parallel()
		access1, rt1 := wantTokens(t, e.deviceTokens(t, "", cliID, "", "openid offline_access OR.Jobs", orgName, aliceEmail))
		access2, rt2 := wantTokens(t, e.refresh(t, "", cliID, "", rt1, ""))
		wantAccepted(t, nodeB, access1, "the first access token on node B")
		wantAccepted(t, nodeB, access2, "the second access token on node B")
		// rt1 again, on A: a replay; the family goes.
		wantError(t, e.refresh(t, "", cliID, "", rt1, ""), 400, "invalid_grant", "already used")
		answered := time.Now()
		for _, tok := range []string{access1, access2} {
			wantRefused(t, nodeA, tok, "revoked", "refresh token family")
			record("refresh family", waitRefused(t, nodeB, tok, "an access token of a replayed refresh token's family", answered))
		}
		// Node B's token endpoint refuses the family's latest refresh token (a database read).
		wantError(t, tokenAt(baseB, url.Values{"grant_type": {"refresh_token"}, "client_id": {cliID}, "refresh_token": {rt2}}),
			400, "invalid_grant", "revoked")
	})
}
