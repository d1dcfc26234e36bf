package legacy_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/bootstrap"
	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/legacy"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
	"github.com/openorch/openorch/internal/tenancy"
)

// setup is the installation of every test: acme, whose DefaultTenant keeps legacy basic
// authentication until the seed's sunset (July 15) and whose Closed tenant has it off; and
// globex. Both organizations have a tenant named Common, so that name alone is ambiguous.
// ann and gus are migrated accounts (basicAuth); newbie is not.
const setup = `
organizations:
  - name: acme
    displayName: Acme Corp
    users:
      - {email: ann@acme.test, name: Ann, password: ann-password-0001, basicAuth: true}
      - {email: newbie@acme.test, name: Newbie, password: newbie-password-01}
    apps:
      - {name: bot, clientId: acme-bot, clientSecret: acme-bot-secret-0123456789abcdef-xyz, appScopes: [OR.Folders.Read]}
    tenants:
      - name: DefaultTenant
        displayName: Default Tenant
        legacyBasicAuth: {enabled: true, until: 2026-07-15T00:00:00Z}
        folders:
          - path: Shared
            members:
              - {user: ann@acme.test, roles: [Automation User]}
        machines:
          - {name: worker-1, clientId: acme-worker-1, clientSecret: acme-worker-1-secret-0123456789abcdef, folders: [Shared]}
      - name: Closed
        legacyBasicAuth: {enabled: false}
      - name: Common
        legacyBasicAuth: {enabled: true}
  - name: globex
    users:
      - {email: gus@globex.test, name: Gus, password: gus-password-00001, basicAuth: true}
    tenants:
      - name: Common
        legacyBasicAuth: {enabled: true}
        folders:
          - path: Shared
            members:
              - {user: gus@globex.test, roles: [Automation User]}
`

const (
	annPassword    = "ann-password-0001"
	newbiePassword = "newbie-password-01"
	gusPassword    = "gus-password-00001"
	botSecret      = "acme-bot-secret-0123456789abcdef-xyz"
	workerSecret   = "acme-worker-1-secret-0123456789abcdef"
	// seedEraClient is the first-party client of the seed's PKCE flow.
	seedEraClient = "5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN"
)

// beforeSunset is when the tests start: legacy basic authentication still works in
// DefaultTenant. sunset is its end.
var (
	beforeSunset = time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)
	sunset       = time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
)

// clock is a settable clock for the identity service, its keys and its deny-list.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is identity, the Orchestrator API and the legacy endpoints on the real HTTP skeleton
// over a real store, served by httptest.
type env struct {
	url    string
	st     store.Store
	deny   *identity.DenyList
	clock  *clock
	acme   tenancy.Organization
	globex tenancy.Organization
}

func newEnv(t testing.TB, open func(testing.TB) store.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{st: open(t), clock: &clock{t: beforeSunset}}
	f, err := config.ParseFile("orch.yaml", []byte(setup), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.Apply(ctx, e.st, f, "orch.yaml"); err != nil {
		t.Fatal(err)
	}
	sk, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := identity.NewKeys(ctx, e.st, sk, identity.KeysOptions{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if e.deny, err = identity.NewDenyList(ctx, e.st, nil, e.clock.Now); err != nil {
		t.Fatal(err)
	}
	// Loopback is a trusted proxy, so that each test can pose as a client address of its
	// own (X-Forwarded-For) and the sign-in limits of one never touch another.
	srv := server.New(server.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	ids := identity.New(identity.Options{Store: e.st, Keys: keys, Deny: e.deny, PublicURL: ts.URL, Now: e.clock.Now})
	ids.Mount(srv)
	api.New(api.Options{Store: e.st, Auth: ids, PublicURL: ts.URL, Version: "test"}).Mount(srv)
	legacy.New(legacy.Options{Store: e.st, Identity: ids, PublicURL: ts.URL}).Mount(srv)
	if e.acme, err = e.st.OrganizationGetByName(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if e.globex, err = e.st.OrganizationGetByName(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	return e
}

// engines are the store engines to run a test on: SQLite, and PostgreSQL when
// ORCH_TEST_POSTGRES_URL allows (the subtest skips otherwise).
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

// addrs hands out distinct client addresses (documentation range 198.18.0.0/15).
var addrs atomic.Int64

func freshAddr() string {
	n := addrs.Add(1)
	return fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)
}

// response is an answer, its body parsed when it is JSON.
type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (r response) str(k string) string { s, _ := r.json[k].(string); return s }

// errorField returns a field of the ABP envelope's error object.
func (r response) errorField(k string) any {
	e, _ := r.json["error"].(map[string]any)
	return e[k]
}

// call sends a request from addr (X-Forwarded-For) with the given headers.
func (e *env) call(t testing.TB, method, path, body, addr string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(b) > 0 {
		if err := json.Unmarshal(b, &r.json); err != nil {
			// A JSON array: keep the body only.
			r.json = nil
		}
	}
	return r
}

// authenticate posts a login body (JSON text) to path.
func (e *env) authenticate(t testing.TB, path, body, addr string, header map[string]string) response {
	t.Helper()
	return e.call(t, http.MethodPost, path, body, addr, header)
}

// get sends a GET with a bearer token ("" for none).
func (e *env) get(t testing.TB, path, token string, header map[string]string) response {
	t.Helper()
	h := map[string]string{}
	for k, v := range header {
		h[k] = v
	}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return e.call(t, http.MethodGet, path, "", "", h)
}

// loginBody is the camelCase body clients send.
func loginBody(tenancy, user, password string) string {
	b, _ := json.Marshal(map[string]string{"tenancyName": tenancy, "usernameOrEmailAddress": user, "password": password})
	return string(b)
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// signIn runs the authorization-code flow with PKCE over HTTP, as a person and the seed's
// script would: the authorize URL, the login page, the code at the loopback redirect, the
// token call. It returns the access token and the id_token.
func (e *env) signIn(t testing.TB, org, email, password string) (access, idToken string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := freshAddr()
	const redirect = "http://127.0.0.1:9/cb"
	client := &http.Client{Jar: jar, CheckRedirect: func(next *http.Request, via []*http.Request) error {
		if strings.HasPrefix(next.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		next.Header.Set("X-Forwarded-For", addr)
		return nil
	}}
	do := func(req *http.Request) (*http.Response, string) {
		req.Header.Set("X-Forwarded-For", addr)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	verifier := secret.NewToken("v")
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {seedEraClient}, "redirect_uri": {redirect},
		"scope": {"openid profile email offline_access"}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/"+org+"/identity_/connect/authorize?"+q.Encode(), nil)
	_, page := do(req)
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the login page lacks %s:\n%s", re, page)
		}
		return html.UnescapeString(m[1])
	}
	action := field(`<form method="post" action="([^"]*)"`)
	form := url.Values{"csrf": {field(`name="csrf" value="([^"]*)"`)}, "request": {field(`name="request" value="([^"]*)"`)},
		"email": {email}, "password": {password}, "org": {org}}
	req, _ = http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := do(req)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in of %s: %d Location %q; want a redirect with a code:\n%s", email, res.StatusCode, res.Header.Get("Location"), body)
	}
	tok, err := http.PostForm(e.url+"/"+org+"/identity_/connect/token", url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "client_id": {seedEraClient}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.NewDecoder(tok.Body).Decode(&out); err != nil || tok.StatusCode != http.StatusOK || out.IDToken == "" {
		t.Fatalf("code exchange: %d %v; want an access token and an id_token", tok.StatusCode, err)
	}
	return out.AccessToken, out.IDToken
}

// clientToken gets a client_credentials token.
func (e *env) clientToken(t testing.TB, id, secretValue string) string {
	t.Helper()
	res, err := http.PostForm(e.url+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secretValue}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials for %s: %d %v", id, res.StatusCode, err)
	}
	return out.AccessToken
}

// events returns the identity events of an organization, newest first.
func (e *env) events(t testing.TB, org tenancy.Organization) []store.IdentityEvent {
	t.Helper()
	evs, err := e.st.IdentityEventList(context.Background(), org.ID, 200)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// hasEvent reports whether an event of kind by LegacyClientID has detail containing part.
func hasEvent(evs []store.IdentityEvent, kind, part string) bool {
	for _, ev := range evs {
		if ev.Kind == kind && ev.ClientID == identity.LegacyClientID && strings.Contains(ev.Detail, part) {
			return true
		}
	}
	return false
}
