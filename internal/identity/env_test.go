package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

// clock is a settable clock for the identity service, its keys and its deny-list.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// The fixtures every environment has. The scopes are in the order the registration lists
// them, which is the order an empty scope request grants them in.
const (
	orgName     = "acme"
	otherOrg    = "globex"
	appName     = "invoice-bot"
	appClientID = "invoice-bot-client"
	machineName = "worker-1"
	machineID   = "worker-1-client"
	publicAppID = "acme-spa"
	otherAppID  = "globex-reporter"
)

var appScopes = []string{"OR.Queues", "OR.Jobs", "OR.Folders.Read"}

// envOptions vary an environment.
type envOptions struct {
	clock *clock                       // nil: the real clock
	alg   string                       // KeysOptions.Alg
	store func(testing.TB) store.Store // nil: a fresh SQLite store
	// publicURL is the public URL the service is told (e.g. an https one, to see Secure
	// cookies); requests still go to the httptest URL. "": the httptest URL.
	publicURL string
}

// testEnv is a running identity service over a real store, mounted on the real HTTP
// skeleton and served by an httptest server.
type testEnv struct {
	st         store.Store
	key        *secret.Key
	keys       *identity.Keys
	deny       *identity.DenyList
	verifier   *identity.Verifier
	srv        *httptest.Server
	base       string // the httptest URL, where requests go
	public     string // the public URL the service knows: base unless envOptions.publicURL
	now        func() time.Time
	org, org2  tenancy.Organization
	tenant     tenancy.Tenant
	app        tenancy.App
	appSecret  string
	otherApp   tenancy.App
	otherSec   string
	publicApp  tenancy.App
	machine    tenancy.Machine
	machineSec string

	// People who sign in on the login page, all with password userPassword: alice and bob
	// in acme, carol in globex.
	alice, bob, carol tenancy.User
	// dashApp is a confidential acme app for user sign-ins with a loopback redirect URI
	// (dashRedirect) and the user scope OR.Jobs; webApp is a confidential acme app with an
	// https redirect URI (webRedirect), also its post-logout redirect.
	dashApp, webApp tenancy.App
	dashSec, webSec string

	// chunked records, per X-Test-Request header, whether the server saw a chunked body.
	chunked sync.Map
}

func newTestEnv(t testing.TB, opts envOptions) *testEnv {
	t.Helper()
	ctx := context.Background()
	e := &testEnv{}
	if opts.store != nil {
		e.st = opts.store(t)
	} else {
		e.st = storetest.NewSQLite(t)
	}
	e.now = time.Now
	if opts.clock != nil {
		e.now = opts.clock.Now
	}
	var err error
	if e.key, err = secret.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	if e.keys, err = identity.NewKeys(ctx, e.st, e.key, identity.KeysOptions{Alg: opts.alg, Now: e.now}); err != nil {
		t.Fatalf("NewKeys: %v", err)
	}
	if e.deny, err = identity.NewDenyList(ctx, e.st, nil, e.now); err != nil {
		t.Fatalf("NewDenyList: %v", err)
	}

	// The public URL is the httptest URL: take the listener's address before serving.
	ts := httptest.NewUnstartedServer(nil)
	e.base = "http://" + ts.Listener.Addr().String()
	e.public = e.base
	if opts.publicURL != "" {
		e.public = strings.TrimRight(opts.publicURL, "/")
	}
	srv := server.New(server.Options{
		// Loopback is a trusted proxy, so that tests can pose as other client addresses
		// with X-Forwarded-For.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	})
	identity.New(identity.Options{Store: e.st, Keys: e.keys, Deny: e.deny, PublicURL: e.public + "/", Now: e.now}).Mount(srv)
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-Request"); id != "" {
			e.chunked.Store(id, len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked" && r.ContentLength == -1)
		}
		srv.ServeHTTP(w, r)
	})
	ts.Start()
	t.Cleanup(ts.Close)
	if ts.URL != e.base {
		t.Fatalf("httptest URL %s, expected %s", ts.URL, e.base)
	}
	e.srv = ts
	e.verifier = identity.NewVerifier(e.keys, e.deny, e.public)

	// The organizations and their clients.
	if e.org, err = e.st.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: orgName, DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if e.org2, err = e.st.OrganizationCreate(ctx, store.OrganizationCreateParams{Name: otherOrg, DisplayName: "Globex"}); err != nil {
		t.Fatal(err)
	}
	if e.tenant, err = e.st.TenantCreate(ctx, store.TenantCreateParams{OrgID: e.org.ID, Name: "Default"}); err != nil {
		t.Fatal(err)
	}
	e.appSecret = secret.NewToken("oo_cs_")
	if e.app, err = e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org.ID, Name: appName, ClientID: appClientID,
		SecretHash: secret.HashToken(e.appSecret), AppScopes: appScopes}); err != nil {
		t.Fatal(err)
	}
	e.otherSec = secret.NewToken("oo_cs_")
	if e.otherApp, err = e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org2.ID, Name: "reporter", ClientID: otherAppID,
		SecretHash: secret.HashToken(e.otherSec), AppScopes: []string{"OR.Jobs"}}); err != nil {
		t.Fatal(err)
	}
	if e.publicApp, err = e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org.ID, Name: "spa", ClientID: publicAppID,
		AppScopes: []string{"OR.Jobs"}, UserScopes: []string{"OR.Jobs"}, RedirectURIs: []string{"http://localhost:3000"}}); err != nil {
		t.Fatal(err)
	}
	e.machineSec = secret.NewToken("oo_cs_")
	if e.machine, err = e.st.MachineCreate(ctx, store.MachineCreateParams{TenantID: e.tenant.ID, Name: machineName, ClientID: machineID,
		SecretHash: secret.HashToken(e.machineSec), Slots: 1}); err != nil {
		t.Fatal(err)
	}

	// The people and the apps they sign in to.
	pw := userPasswordHash(t)
	for _, u := range []struct {
		to          *tenancy.User
		org         int64
		email, name string
	}{{&e.alice, e.org.ID, aliceEmail, "Alice Archer"}, {&e.bob, e.org.ID, bobEmail, "Bob Baker"}, {&e.carol, e.org2.ID, carolEmail, "Carol Cole"}} {
		if *u.to, err = e.st.UserCreate(ctx, store.UserCreateParams{OrgID: u.org, Email: u.email, Name: u.name, PasswordHash: pw}); err != nil {
			t.Fatal(err)
		}
	}
	e.dashSec = secret.NewToken("oo_cs_")
	if e.dashApp, err = e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org.ID, Name: "dashboard", ClientID: dashAppID,
		SecretHash: secret.HashToken(e.dashSec), UserScopes: []string{"OR.Jobs"}, RedirectURIs: []string{dashRedirect}}); err != nil {
		t.Fatal(err)
	}
	e.webSec = secret.NewToken("oo_cs_")
	if e.webApp, err = e.st.AppCreate(ctx, store.AppCreateParams{OrgID: e.org.ID, Name: "portal", ClientID: webAppID,
		SecretHash: secret.HashToken(e.webSec), UserScopes: []string{"OR.Jobs", "OR.Queues.Read"}, RedirectURIs: []string{webRedirect}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// The people and user-flow apps of every environment.
const (
	aliceEmail   = "alice@acme.test"
	bobEmail     = "bob@acme.test"
	carolEmail   = "carol@globex.test"
	userPassword = "correct horse battery staple"
	dashAppID    = "acme-dashboard"
	dashRedirect = "http://localhost:5173/callback"
	webAppID     = "acme-portal"
	webRedirect  = "https://portal.acme.example/callback"
)

// userPasswordHash hashes userPassword once for the whole package: the hash is slow.
var userPasswordHash = func() func(testing.TB) string {
	once := sync.OnceValues(func() (string, error) { return secret.HashPassword(userPassword) })
	return func(t testing.TB) string {
		t.Helper()
		h, err := once()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
}()

// tokenURL is the token endpoint under /identity_ (org "") or /{org}/identity_.
func (e *testEnv) tokenURL(org string) string { return e.identityBase(org) + "/connect/token" }

func (e *testEnv) identityBase(org string) string {
	if org == "" {
		return e.base + "/identity_"
	}
	return e.base + "/" + org + "/identity_"
}

// response is a token endpoint answer.
type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (r response) str(k string) string { s, _ := r.json[k].(string); return s }

// do sends req and reads the answer.
func (e *testEnv) do(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	if len(b) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.json); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", req.Method, req.URL, err, b)
		}
	}
	return r
}

// postForm posts form to the token endpoint of org; header entries are added to the request.
func (e *testEnv) postForm(t testing.TB, org string, form url.Values, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.tokenURL(org), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.do(t, req)
}

// wantError checks an RFC 6749 error answer.
func wantError(t testing.TB, r response, status int, code string, descParts ...string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d %s; body: %s", r.status, r.str("error"), status, code, r.body)
	}
	desc := r.str("error_description")
	for _, p := range descParts {
		if !strings.Contains(desc, p) {
			t.Errorf("error_description %q does not mention %q", desc, p)
		}
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

// clientCreds is a form with client credentials.
func clientCreds(id, sec, scope string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

// engines are the store engines to run a test on: SQLite, and PostgreSQL when
// storetest.PostgresURL allows (it skips the subtest otherwise).
func engines() []struct {
	name string
	open func(testing.TB) store.Store
} {
	return []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) }},
		{"postgres", func(tb testing.TB) store.Store { return storetest.NewPostgres(tb) }},
	}
}

// b64 is the base64 of JWTs.
var b64 = base64.RawURLEncoding
