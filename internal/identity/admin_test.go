package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// adminEnv is a testEnv with the people of the admin API tests and a Service of its own
// over the same store, keys and deny-list, for VerifyBearer.
type adminEnv struct {
	*testEnv
	svc *identity.Service
	// root administers acme, dev is an ordinary acme user, boss administers globex.
	root, dev, boss tenancy.User
}

func newAdminEnv(t testing.TB, opts envOptions) *adminEnv {
	t.Helper()
	a := &adminEnv{testEnv: newTestEnv(t, opts)}
	a.svc = identity.New(identity.Options{Store: a.st, Keys: a.keys, Deny: a.deny, PublicURL: a.base + "/", Now: a.now})
	ctx := context.Background()
	var err error
	for _, u := range []struct {
		to    *tenancy.User
		org   int64
		email string
		admin bool
	}{{&a.root, a.org.ID, "root@acme.test", true}, {&a.dev, a.org.ID, "dev@acme.test", false}, {&a.boss, a.org2.ID, "boss@globex.test", true}} {
		if *u.to, err = a.st.UserCreate(ctx, store.UserCreateParams{OrgID: u.org, Email: u.email, Name: u.email, OrgAdmin: u.admin}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// userToken issues a user access token as the /{org}/identity_ endpoints would.
func (a *adminEnv) userToken(t testing.TB, u tenancy.User, org tenancy.Organization, scope string) string {
	t.Helper()
	tok, _, err := a.keys.Issue(identity.Claims{Issuer: a.base + "/" + org.Name + "/identity_", Subject: u.Key, SubType: identity.SubUser,
		ClientID: "test-client", OrgKey: org.Key, Scope: scope}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiAnswer is an admin API answer.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (r apiAnswer) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r apiAnswer) list(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("body is not a JSON list: %v\n%s", err, r.body)
	}
	return l
}

// call sends an admin API request. auth is "Bearer …" or "" (none); body is JSON-encoded
// unless it is a string, which is sent as is.
func (a *adminEnv) call(t testing.TB, method, path, auth string, body any, header map[string]string) apiAnswer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiAnswer{status: res.StatusCode, header: res.Header, body: b}
}

// wantAPIError checks an Orchestrator-shaped error answer.
func wantAPIError(t testing.TB, r apiAnswer, status int, msgParts ...string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	m := r.obj(t)
	msg, _ := m["message"].(string)
	for _, p := range msgParts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q does not mention %q", msg, p)
		}
	}
	if _, ok := m["errorCode"].(float64); !ok {
		t.Errorf("no errorCode in %s", r.body)
	}
	if tr, _ := m["traceId"].(string); tr == "" {
		t.Errorf("no traceId in %s", r.body)
	}
	if status == http.StatusUnauthorized {
		wa := r.header.Get("WWW-Authenticate")
		if !strings.HasPrefix(wa, `Bearer error="invalid_token", error_description="`) {
			t.Errorf("WWW-Authenticate = %q", wa)
		}
		for _, p := range msgParts {
			if !strings.Contains(wa, strings.ReplaceAll(p, `"`, `\"`)) {
				t.Errorf("WWW-Authenticate %q does not mention %q", wa, p)
			}
		}
	}
	return m
}

const appsPath = "/" + orgName + "/identity_/api/ExternalApplications"

func bearer(tok string) string { return "Bearer " + tok }

func strList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestAdminAppsLifecycle(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			testAppsLifecycle(t, newAdminEnv(t, envOptions{store: eng.open}))
		})
	}
}

func testAppsLifecycle(t *testing.T, a *adminEnv) {
	ctx := context.Background()
	auth := bearer(a.userToken(t, a.root, a.org, "openid IdentityServerApi"))

	// Create: keys in any case; confidential by default.
	r := a.call(t, "POST", appsPath, auth, `{"Name":"reporting","APPSCOPES":["OR.Jobs","OR.Queues.Read"],"userScopes":["OR.Jobs","openid"],
		"redirectUris":["https://reports.acme.example/cb","http://localhost:8080/cb"]}`, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.obj(t)
	sec, _ := created["clientSecret"].(string)
	clientID, _ := created["clientId"].(string)
	id := int64(created["id"].(float64))
	if !strings.HasPrefix(sec, "oo_cs_") || len(sec) < 40 {
		t.Fatalf("clientSecret = %q", sec)
	}
	if _, err := uuid.Parse(clientID); err != nil {
		t.Errorf("clientId %q is not a UUID", clientID)
	}
	if created["confidential"] != true || created["name"] != "reporting" || created["key"] == "" || created["createdAt"] == "" {
		t.Errorf("created app: %s", r.body)
	}
	if got := strList(created["appScopes"]); !slices.Equal(got, []string{"OR.Jobs", "OR.Queues.Read"}) {
		t.Errorf("appScopes = %v", got)
	}
	if loc := r.header.Get("Location"); loc != appsPath+"/"+strconv.FormatInt(id, 10) {
		t.Errorf("Location = %q", loc)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	for _, k := range []string{"secretHash", "SecretHash"} {
		if _, ok := created[k]; ok {
			t.Errorf("the answer carries %s", k)
		}
	}

	// The secret works with client_credentials.
	tr := a.postForm(t, orgName, clientCreds(clientID, sec, "OR.Jobs"), nil)
	if tr.status != http.StatusOK {
		t.Fatalf("client_credentials with the new app: %d %s", tr.status, tr.body)
	}
	oldToken := tr.str("access_token")
	if _, err := a.verifier.Verify(ctx, oldToken); err != nil {
		t.Fatalf("token of the new app: %v", err)
	}

	// List and get (by id and by client id) never show a secret.
	noSecret := func(r apiAnswer) {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, bad := range []string{sec, secret.HashToken(sec), "clientSecret", "ecretHash"} {
			if bytes.Contains(r.body, []byte(bad)) {
				t.Errorf("GET answer contains %q: %s", bad, r.body)
			}
		}
	}
	r = a.call(t, "GET", appsPath, auth, nil, nil)
	noSecret(r)
	var names []string
	for _, app := range r.list(t) {
		names = append(names, app["name"].(string))
	}
	if !slices.Contains(names, "reporting") || !slices.Contains(names, appName) || slices.Contains(names, "reporter") {
		t.Errorf("list names %v: want reporting and %s, not globex's reporter", names, appName)
	}
	for _, p := range []string{strconv.FormatInt(id, 10), clientID} {
		r = a.call(t, "GET", appsPath+"/"+p, auth, nil, nil)
		noSecret(r)
		if got := r.obj(t); got["clientId"] != clientID {
			t.Errorf("GET %s: %s", p, r.body)
		}
	}
	// Another organization's app is not found, by id or client id.
	for _, p := range []string{strconv.FormatInt(a.otherApp.ID, 10), otherAppID, "nope"} {
		wantAPIError(t, a.call(t, "GET", appsPath+"/"+p, auth, nil, nil), http.StatusNotFound, p)
	}

	// PATCH changes what it names; PUT replaces everything.
	r = a.call(t, "PATCH", appsPath+"/"+clientID, auth, map[string]any{"name": "reports", "appScopes": []string{"OR.Jobs.Read"}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	got := r.obj(t)
	if got["name"] != "reports" || !slices.Equal(strList(got["appScopes"]), []string{"OR.Jobs.Read"}) ||
		len(strList(got["redirectUris"])) != 2 || got["clientSecret"] != nil {
		t.Errorf("after PATCH: %s", r.body)
	}
	r = a.call(t, "PUT", appsPath+"/"+strconv.FormatInt(id, 10), auth, map[string]any{"name": "reports", "appScopes": []string{"OR.Jobs"},
		"redirectUris": []string{"https://reports.acme.example/v2"}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	got = r.obj(t)
	if len(strList(got["redirectUris"])) != 1 || got["userScopes"] == nil || len(got["userScopes"].([]any)) != 0 {
		t.Errorf("after PUT: %s", r.body)
	}
	wantAPIError(t, a.call(t, "PATCH", appsPath+"/"+clientID, auth, map[string]any{"confidential": false}, nil),
		http.StatusBadRequest, "confidential cannot change")

	// Regenerate: a new secret, shown once; the old one and its tokens stop at once.
	r = a.call(t, "POST", appsPath+"/"+clientID+"/secret", auth, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("regenerate: %d %s", r.status, r.body)
	}
	newSec, _ := r.obj(t)["clientSecret"].(string)
	if !strings.HasPrefix(newSec, "oo_cs_") || newSec == sec {
		t.Fatalf("regenerated secret %q", newSec)
	}
	wantError(t, a.postForm(t, orgName, clientCreds(clientID, sec, ""), nil), http.StatusUnauthorized, "invalid_client", "wrong")
	if _, err := a.verifier.Verify(ctx, oldToken); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("the token obtained with the old secret: %v, want revoked", err)
	}
	if _, err := a.svc.VerifyBearer(ctx, oldToken); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("VerifyBearer of the token obtained with the old secret: %v, want revoked", err)
	}
	time.Sleep(5 * time.Millisecond) // a new token must be issued after the revocation's instant
	tr = a.postForm(t, orgName, clientCreds(clientID, newSec, ""), nil)
	if tr.status != http.StatusOK {
		t.Fatalf("client_credentials with the new secret: %d %s", tr.status, tr.body)
	}
	newToken := tr.str("access_token")
	if _, err := a.verifier.Verify(ctx, newToken); err != nil {
		t.Errorf("token from the new secret: %v", err)
	}
	noSecret(a.call(t, "GET", appsPath+"/"+clientID, auth, nil, nil))

	// Delete: 204, gone, its tokens refused.
	r = a.call(t, "DELETE", appsPath+"/"+clientID, auth, nil, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	wantAPIError(t, a.call(t, "GET", appsPath+"/"+clientID, auth, nil, nil), http.StatusNotFound)
	wantAPIError(t, a.call(t, "DELETE", appsPath+"/"+clientID, auth, nil, nil), http.StatusNotFound)
	if _, err := a.verifier.Verify(ctx, newToken); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("token of the deleted app: %v, want revoked", err)
	}
	wantError(t, a.postForm(t, orgName, clientCreds(clientID, newSec, ""), nil), http.StatusUnauthorized, "invalid_client")

	// Every change is in the audit trail, with the administrator as subject.
	evs, err := a.st.IdentityEventList(ctx, a.org.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if e.ClientID == clientID && e.Subject == a.root.Key {
			seen[e.Kind] = true
		}
	}
	for _, k := range []string{"app.created", "app.updated", "app.secret_regenerated", "app.deleted"} {
		if !seen[k] {
			t.Errorf("no event %s for the app by %s (events: %+v)", k, a.root.Key, evs)
		}
	}
}

func TestAdminAppsValidation(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	auth := bearer(a.userToken(t, a.root, a.org, "IdentityServerApi"))
	for _, c := range []struct {
		name   string
		body   any
		status int
		parts  []string
	}{
		{"no name", `{"appScopes":["OR.Jobs"]}`, 400, []string{"name is missing"}},
		{"long name", map[string]any{"name": strings.Repeat("x", 101)}, 400, []string{"at most 100"}},
		{"scope with space", map[string]any{"name": "x", "appScopes": []string{"OR.Jobs OR.Queues"}}, 400, []string{"appScopes[0]", "white space"}},
		{"empty scope", map[string]any{"name": "x", "userScopes": []string{""}}, 400, []string{"userScopes[0] is empty"}},
		{"unknown scope", map[string]any{"name": "x", "userScopes": []string{"OR.Jobs", "Jobs"}}, 400, []string{"userScopes[1]", `"Jobs"`}},
		{"user scope as app scope", map[string]any{"name": "x", "appScopes": []string{"openid"}}, 400, []string{"appScopes[0]", "not an application scope"}},
		{"relative redirect", map[string]any{"name": "x", "redirectUris": []string{"/callback"}}, 400, []string{"redirectUris[0]", "absolute"}},
		{"fragment", map[string]any{"name": "x", "redirectUris": []string{"https://a.example/cb#x"}}, 400, []string{"fragment"}},
		{"no host", map[string]any{"name": "x", "redirectUris": []string{"https:///cb"}}, 400, []string{"no host"}},
		{"public with app scopes", map[string]any{"name": "x", "confidential": false, "appScopes": []string{"OR.Jobs"}}, 400, []string{"public", "application scopes"}},
		{"unknown field", `{"name":"x","secret":"mine"}`, 400, []string{`"secret"`}},
		{"wrong type", `{"name":"x","appScopes":"OR.Jobs"}`, 400, []string{"appScopes", "list of strings"}},
		{"not JSON", `{"name":`, 400, []string{"not valid JSON"}},
		{"empty body", ``, 400, []string{"empty"}},
		{"duplicate name", map[string]any{"name": appName}, 409, []string{appName, "already exists"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantAPIError(t, a.call(t, "POST", appsPath, auth, c.body, nil), c.status, c.parts...)
		})
	}
	r := a.call(t, "POST", appsPath, auth, "name=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	wantAPIError(t, r, http.StatusUnsupportedMediaType, "application/json")

	// A public app: no secret, and none to regenerate; it signs users in with PKCE.
	r = a.call(t, "POST", appsPath, auth, map[string]any{"name": "cli", "confidential": false, "userScopes": []string{"OR.Jobs", "offline_access"},
		"redirectUris": []string{"http://127.0.0.1/cb", "com.acme.app:/oauth"}}, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("public app: %d %s", r.status, r.body)
	}
	pub := r.obj(t)
	if pub["confidential"] != false || pub["clientSecret"] != nil {
		t.Errorf("public app: %s", r.body)
	}
	wantAPIError(t, a.call(t, "POST", appsPath+"/"+pub["clientId"].(string)+"/secret", auth, nil, nil), http.StatusBadRequest, "public")
	// Renaming onto another app's name is a conflict.
	wantAPIError(t, a.call(t, "PATCH", appsPath+"/"+pub["clientId"].(string), auth, map[string]any{"name": appName}, nil), http.StatusConflict, appName)
	// Built-in first-party clients are not the organization's to edit.
	wantAPIError(t, a.call(t, "DELETE", appsPath+"/orch-cli", auth, nil, nil), http.StatusNotFound)
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	ctx := context.Background()

	t.Run("no credentials", func(t *testing.T) {
		wantAPIError(t, a.call(t, "GET", appsPath, "", nil, nil), http.StatusUnauthorized, "no Authorization header")
	})
	t.Run("malformed header", func(t *testing.T) {
		wantAPIError(t, a.call(t, "GET", appsPath, "Basic cm9vdDpwdw==", nil, nil), http.StatusUnauthorized, "malformed", `"Basic"`)
		wantAPIError(t, a.call(t, "GET", appsPath, "Bearer", nil, nil), http.StatusUnauthorized, "malformed")
	})
	t.Run("not a token", func(t *testing.T) {
		wantAPIError(t, a.call(t, "GET", appsPath, "Bearer garbage", nil, nil), http.StatusUnauthorized, "not a JWT")
		wantAPIError(t, a.call(t, "GET", appsPath, "Bearer oo_pat_garbage", nil, nil), http.StatusUnauthorized, "not a known personal access token")
	})
	t.Run("revoked token", func(t *testing.T) {
		tok := a.userToken(t, a.root, a.org, "IdentityServerApi")
		if err := a.deny.Revoke(ctx, store.RevokeSubject, a.root.Key, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, a.call(t, "GET", appsPath, bearer(tok), nil, nil), http.StatusUnauthorized, "revoked")
	})
	t.Run("scope missing", func(t *testing.T) {
		tok := a.userToken(t, a.dev, a.org, "OR.Jobs openid")
		wantAPIError(t, a.call(t, "GET", "/acme/identity_/api/PersonalAccessTokens", bearer(tok), nil, nil), http.StatusForbidden,
			"lacks scope IdentityServerApi", "OR.Jobs openid")
	})
	t.Run("user access scope", func(t *testing.T) {
		tok := a.userToken(t, a.dev, a.org, "OrchestratorApiUserAccess")
		if r := a.call(t, "GET", "/acme/identity_/api/PersonalAccessTokens", bearer(tok), nil, nil); r.status != http.StatusOK {
			t.Errorf("OrchestratorApiUserAccess: %d %s", r.status, r.body)
		}
	})
	t.Run("not an administrator", func(t *testing.T) {
		tok := a.userToken(t, a.dev, a.org, "IdentityServerApi")
		wantAPIError(t, a.call(t, "GET", appsPath, bearer(tok), nil, nil), http.StatusForbidden, "organization administrator", "dev@acme.test")
		wantAPIError(t, a.call(t, "POST", appsPath, bearer(tok), map[string]any{"name": "x"}, nil), http.StatusForbidden, "organization administrator")
	})
	t.Run("another organization's administrator", func(t *testing.T) {
		tok := a.userToken(t, a.boss, a.org2, "IdentityServerApi")
		wantAPIError(t, a.call(t, "GET", appsPath, bearer(tok), nil, nil), http.StatusForbidden, "wrong organization", otherOrg)
		wantAPIError(t, a.call(t, "GET", appsPath+"/"+appClientID, bearer(tok), nil, nil), http.StatusForbidden, "wrong organization")
		// A token claiming acme for a globex user finds no such user in acme.
		forged := a.userToken(t, a.boss, a.org, "IdentityServerApi")
		wantAPIError(t, a.call(t, "GET", appsPath, bearer(forged), nil, nil), http.StatusUnauthorized, "no longer exists")
	})
	t.Run("a client's token", func(t *testing.T) {
		tok, _, err := a.keys.Issue(identity.Claims{Issuer: a.base + "/identity_", Subject: a.app.Key, SubType: identity.SubClient,
			ClientID: appClientID, OrgKey: a.org.Key, Scope: "IdentityServerApi"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, a.call(t, "GET", appsPath, bearer(tok), nil, nil), http.StatusForbidden, "not a user")
	})
	t.Run("organization by key and in any case", func(t *testing.T) {
		boss := a.userToken(t, a.boss, a.org2, "IdentityServerApi")
		for _, org := range []string{"GLOBEX", a.org2.Key, strings.ToUpper(a.org2.Key)} {
			if r := a.call(t, "GET", "/"+org+"/identity_/api/ExternalApplications", bearer(boss), nil, nil); r.status != http.StatusOK {
				t.Errorf("%s: %d %s", org, r.status, r.body)
			} else if l := r.list(t); len(l) != 1 || l[0]["clientId"] != otherAppID {
				t.Errorf("%s: %s", org, r.body)
			}
		}
	})
}

func TestAdminSessionCookie(t *testing.T) {
	t.Parallel()
	a := newAdminEnv(t, envOptions{})
	ctx := context.Background()
	session := func(u tenancy.User) string {
		tok := secret.NewToken("oo_ss_")
		now := time.Now()
		if err := a.st.SessionCreate(ctx, store.Session{IDHash: secret.HashToken(tok), OrgID: u.OrgID, UserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	csrf := secret.NewToken("")
	root := "oo_session=" + session(a.root) + "; oo_csrf=" + csrf

	r := a.call(t, "GET", appsPath, "", nil, map[string]string{"Cookie": root})
	if r.status != http.StatusOK {
		t.Fatalf("GET with the session: %d %s", r.status, r.body)
	}
	body := map[string]any{"name": "from the portal", "appScopes": []string{"OR.Jobs"}}
	wantAPIError(t, a.call(t, "POST", appsPath, "", body, map[string]string{"Cookie": root}), http.StatusForbidden, "X-CSRF-Token")
	wantAPIError(t, a.call(t, "POST", appsPath, "", body, map[string]string{"Cookie": root, "X-CSRF-Token": secret.NewToken("")}),
		http.StatusForbidden, "X-CSRF-Token", "does not match")
	wantAPIError(t, a.call(t, "POST", appsPath, "", body, map[string]string{"Cookie": "oo_session=" + session(a.root), "X-CSRF-Token": csrf}),
		http.StatusForbidden, "X-CSRF-Token")
	r = a.call(t, "POST", appsPath, "", body, map[string]string{"Cookie": root, "X-CSRF-Token": csrf})
	if r.status != http.StatusCreated {
		t.Fatalf("POST with session and CSRF token: %d %s", r.status, r.body)
	}
	// A PAT through the session, too.
	r = a.call(t, "POST", "/acme/identity_/api/PersonalAccessTokens", "", map[string]any{"name": "ci", "scopes": []string{"OR.Jobs"}},
		map[string]string{"Cookie": root, "X-CSRF-Token": csrf})
	if r.status != http.StatusCreated {
		t.Fatalf("PAT with the session: %d %s", r.status, r.body)
	}

	wantAPIError(t, a.call(t, "GET", appsPath, "", nil, map[string]string{"Cookie": "oo_session=" + secret.NewToken("oo_ss_")}),
		http.StatusUnauthorized, "session has expired")
	wantAPIError(t, a.call(t, "GET", appsPath, "", nil, map[string]string{"Cookie": "oo_session=" + session(a.dev)}),
		http.StatusForbidden, "organization administrator")
	wantAPIError(t, a.call(t, "GET", "/globex/identity_/api/ExternalApplications", "", nil, map[string]string{"Cookie": root}),
		http.StatusForbidden, "wrong organization")
	if _, err := a.svc.VerifyBearer(ctx, "oo_ss_x"); err == nil {
		t.Error("a session token is not a bearer token")
	} else if te := (*identity.TokenError)(nil); !errors.As(err, &te) {
		t.Errorf("VerifyBearer error %T, want *TokenError", err)
	}
}
