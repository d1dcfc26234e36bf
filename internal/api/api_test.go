package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/openorch/openorch/internal/api"
	"github.com/openorch/openorch/internal/bootstrap"
	"github.com/openorch/openorch/internal/config"
	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

const setup = `
organizations:
  - name: acme
    users:
      - {email: ann@acme.test, name: Ann, orgAdmin: true}
      - {email: bob@acme.test, name: Bob}
      - {email: eve@acme.test, name: Eve}
    apps:
      - {name: bot, clientId: acme-bot, clientSecret: acme-bot-secret-0123456789abcdef-xyz, appScopes: [OR.Folders.Read, OR.Queues]}
      - {name: narrow, clientId: acme-narrow, clientSecret: acme-narrow-secret-0123456789abcdef-x, appScopes: [OR.Jobs]}
    tenants:
      - name: DefaultTenant
        folders:
          - path: Shared
            members:
              - {user: bob@acme.test, roles: [Automation User]}
              - {app: acme-bot, roles: [Automation User]}
          - path: Finance/AP
            members:
              - {user: bob@acme.test, roles: [Automation User]}
          - path: Secret
        queues:
          - {name: Invoices, folder: Shared}
          - {name: Payments, folder: Finance/AP}
      - name: Other
        folders:
          - path: Hidden
  - name: globex
    apps:
      - {name: gbot, clientId: globex-bot, clientSecret: globex-bot-secret-0123456789abcdef-xy, appScopes: [OR.Folders]}
    tenants:
      - name: DefaultTenant
        folders:
          - path: Shared
            members:
              - {app: globex-bot, roles: [Folder Administrator]}
`

type env struct {
	url       string
	st        store.Store
	keys      *identity.Keys
	ids       *identity.Service
	deny      *identity.DenyList
	secretKey *secret.Key // the installation's secret key, as api.Options.SecretKey
}

// envSeeds add rows that every environment starts with, such as a row of each entity set
// for the metadata test; entity sets' test files register them from init functions.
var envSeeds []func(t testing.TB, e *env)

func newEnv(t testing.TB, open func(testing.TB) store.Store) *env {
	t.Helper()
	return newEnvWith(t, open, nil)
}

// newEnvWith is newEnv with the API's options changed by opts (when not nil).
func newEnvWith(t testing.TB, open func(testing.TB) store.Store, opts func(*api.Options)) *env {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	f, err := config.ParseFile("orch.yaml", []byte(setup), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.Apply(ctx, st, f, "orch.yaml"); err != nil {
		t.Fatal(err)
	}
	sk, _ := secret.GenerateKey()
	keys, err := identity.NewKeys(ctx, st, sk, identity.KeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deny, err := identity.NewDenyList(ctx, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{})
	ts := httptest.NewUnstartedServer(srv)
	ts.Start()
	t.Cleanup(ts.Close)
	ids := identity.New(identity.Options{Store: st, Keys: keys, Deny: deny, PublicURL: ts.URL})
	ids.Mount(srv)
	o := api.Options{Store: st, Auth: ids, PublicURL: ts.URL, Version: "test", Registry: srv.Registry(), Revoker: api.DenyListRevoker(deny),
		SecretKey: sk}
	if opts != nil {
		opts(&o)
	}
	api.New(o).Mount(srv)
	e := &env{url: ts.URL, st: st, keys: keys, ids: ids, deny: deny, secretKey: sk}
	for _, seed := range envSeeds {
		seed(t, e)
	}
	return e
}

// secondNode serves the same installation (database, keys, public URL) from another API
// node, as behind a load balancer, with its options changed by opts; it returns the node's
// URL.
func (e *env) secondNode(t testing.TB, opts func(*api.Options)) string {
	t.Helper()
	srv := server.New(server.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	o := api.Options{Store: e.st, Auth: e.ids, PublicURL: e.url, Version: "test", Revoker: api.DenyListRevoker(e.deny),
		SecretKey: e.secretKey}
	if opts != nil {
		opts(&o)
	}
	api.New(o).Mount(srv)
	return ts.URL
}

// appToken gets a client_credentials token.
func (e *env) appToken(t testing.TB, id, secretValue, scope string) string {
	t.Helper()
	resp, err := http.PostForm(e.url+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secretValue}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 {
		t.Fatalf("token for %s: %d", id, resp.StatusCode)
	}
	return body.AccessToken
}

// userToken issues a user's access token as the identity service would.
func (e *env) userToken(t testing.TB, org, email, scope string) string {
	t.Helper()
	ctx := context.Background()
	o, err := e.st.OrganizationGetByName(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.st.UserGetByEmail(ctx, o.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.keys.Issue(identity.Claims{Issuer: e.url + "/identity_", Subject: u.Key, SubType: identity.SubUser,
		ClientID: "orch-cli", OrgKey: o.Key, Scope: scope}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) get(t *testing.T, path string, headers map[string]string) reply {
	t.Helper()
	return e.send(t, "GET", path, "", headers)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range h {
		out[a] = b
	}
	return out
}

func names(t *testing.T, r reply, field string) []string {
	t.Helper()
	var out []string
	vals, _ := r.body["value"].([]any)
	for _, v := range vals {
		out = append(out, v.(map[string]any)[field].(string))
	}
	return out
}

func wantStatus(t *testing.T, r reply, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	for _, p := range parts {
		if !strings.Contains(r.raw, p) {
			t.Errorf("body lacks %q: %s", p, r.raw)
		}
	}
}

func engines() map[string]func(testing.TB) store.Store {
	return map[string]func(testing.TB) store.Store{
		"sqlite":   func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) },
		"postgres": func(tb testing.TB) store.Store { return storetest.NewPostgres(tb) },
	}
}

const base = "/acme/DefaultTenant/orchestrator_"

func TestAPI(t *testing.T) {
	t.Parallel()
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, open)
			bot := e.appToken(t, "acme-bot", "acme-bot-secret-0123456789abcdef-xyz", "")
			bob := e.userToken(t, "acme", "bob@acme.test", "OrchestratorApiUserAccess")
			ann := e.userToken(t, "acme", "ann@acme.test", "OR.Folders OR.Queues OR.Users")

			t.Run("status version", func(t *testing.T) {
				r := e.get(t, "/orchestrator_/api/status/version", nil)
				wantStatus(t, r, 200, `"version":"test"`)
			})
			t.Run("no token", func(t *testing.T) {
				r := e.get(t, base+"/odata/Folders", nil)
				wantStatus(t, r, 401, "no Authorization header")
				if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
				}
				if r.body["traceId"] == nil || r.body["errorCode"] == nil {
					t.Errorf("not the Orchestrator error shape: %s", r.raw)
				}
			})
			t.Run("older layout answers the ABP envelope", func(t *testing.T) {
				r := e.get(t, "/acme/DefaultTenant/odata/Folders", map[string]string{"X-UIPATH-TenantName": "DefaultTenant"})
				wantStatus(t, r, 401, `"message":"You are not authenticated!"`, `"__abp":true`, `"success":false`, "no Authorization header")
				errObj, _ := r.body["error"].(map[string]any)
				if errObj == nil || !strings.Contains(errObj["details"].(string), "Authorization") {
					t.Errorf("ABP error.details should say why: %s", r.raw)
				}
			})
			t.Run("older layout works with a token", func(t *testing.T) {
				r := e.get(t, "/acme/defaulttenant/odata/Folders", with(bearer(bot), "x-uipath-tenantname", "DefaultTenant"))
				wantStatus(t, r, 200)
			})
			t.Run("tenant header disagreeing with the URL", func(t *testing.T) {
				r := e.get(t, "/acme/DefaultTenant/odata/Folders", with(bearer(bot), "X-UIPATH-TenantName", "Other"))
				wantStatus(t, r, 400, `tenant \"Other\"`, `URL says \"DefaultTenant\"`)
			})
			t.Run("unknown tenant names the tenants", func(t *testing.T) {
				r := e.get(t, "/acme/Nope/orchestrator_/odata/Folders", bearer(bot))
				wantStatus(t, r, 404, "DefaultTenant, Other")
			})
			t.Run("malformed and lower-case scheme", func(t *testing.T) {
				wantStatus(t, e.get(t, base+"/odata/Folders", map[string]string{"Authorization": "Basic abc"}), 401, "Bearer <token>")
				wantStatus(t, e.get(t, base+"/odata/Folders", map[string]string{"authorization": "bearer " + bot}), 200)
				wantStatus(t, e.get(t, base+"/odata/Folders", bearer("garbage")), 401, "not a JWT")
			})
			t.Run("token of another organization", func(t *testing.T) {
				g := e.appToken(t, "globex-bot", "globex-bot-secret-0123456789abcdef-xy", "")
				wantStatus(t, e.get(t, base+"/odata/Folders", bearer(g)), 401, "issued for organization globex, not acme")
			})
			t.Run("missing scope names it", func(t *testing.T) {
				n := e.appToken(t, "acme-narrow", "acme-narrow-secret-0123456789abcdef-x", "")
				wantStatus(t, e.get(t, base+"/odata/Folders", bearer(n)), 403, "OR.Folders", "OR.Folders.Read", "OR.Jobs")
			})
			t.Run("folders the caller may use", func(t *testing.T) {
				r := e.get(t, base+"/odata/Folders", bearer(bob))
				wantStatus(t, r, 200)
				got := strings.Join(names(t, r, "FullyQualifiedName"), ",")
				if got != "Shared,Finance/AP" {
					t.Errorf("bob sees %s, want Shared,Finance/AP", got)
				}
				r = e.get(t, base+"/odata/Folders?%24count=true&%24top=1", bearer(ann))
				wantStatus(t, r, 200, `"@odata.count":4`, `"@odata.context":"`+e.url+base+`/odata/$metadata#Folders"`)
				if len(names(t, r, "DisplayName")) != 1 {
					t.Errorf("$top=1 returned %s", r.raw)
				}
				wantStatus(t, e.get(t, base+"/odata/Folders?$top=5000", bearer(ann)), 400, "the most this list returns is 1000")
			})
			t.Run("OData queries as clients send them", func(t *testing.T) {
				// Spaces go as + or %20, as clients send them.
				q := func(raw string) reply {
					return e.get(t, base+"/odata/Folders?"+strings.ReplaceAll(raw, " ", "+"), bearer(ann))
				}
				r := q("$filter=FullyQualifiedName eq 'shared'")
				wantStatus(t, r, 200)
				if got := strings.Join(names(t, r, "FullyQualifiedName"), ","); got != "Shared" {
					t.Errorf("FullyQualifiedName eq 'shared' → %s", got)
				}
				r = q("%24filter=FullyQualifiedName%20eq%20%27Finance%2FAP%27%20or%20DisplayName+eq+%27Secret%27&%24orderby=Id+desc&%24count=true")
				wantStatus(t, r, 200, `"@odata.count":2`)
				if got := strings.Join(names(t, r, "FullyQualifiedName"), ","); got != "Secret,Finance/AP" {
					t.Errorf("or + orderby desc → %s", got)
				}
				r = q("$filter=contains(DisplayName,'an')&$top=1&$skip=0")
				wantStatus(t, r, 200, `"FullyQualifiedName":"Finance"`)
				wantStatus(t, q("$filter=Nope eq 1"), 400, "Nope", "FullyQualifiedName")
				wantStatus(t, q("$filter=contains(DisplayName,'x'"), 400, "$filter: at")
				wantStatus(t, q("$filter=Id eq 'abc'"), 400, "Id")
				// bob sees only his folders, whatever the filter says.
				r = e.get(t, base+"/odata/Folders?$filter=DisplayName%20eq%20'Secret'&$count=true", bearer(bob))
				wantStatus(t, r, 200, `"@odata.count":0`)
				r = e.get(t, base+"/odata/QueueDefinitions?$filter=Name+eq+'INVOICES'", with(bearer(bob), "X-UIPATH-FolderPath", "Shared"))
				wantStatus(t, r, 200, `"Name":"Invoices"`)
			})
			t.Run("a non-member is refused", func(t *testing.T) {
				eve := e.userToken(t, "acme", "eve@acme.test", "OrchestratorApiUserAccess")
				wantStatus(t, e.get(t, base+"/odata/Folders", bearer(eve)), 403, "user eve@acme.test is not a member of tenant DefaultTenant")
			})
			t.Run("folder required", func(t *testing.T) {
				r := e.get(t, base+"/odata/QueueDefinitions", bearer(bob))
				wantStatus(t, r, 400, `"errorCode":1101`, "An organization unit is required for this action.",
					"X-UIPATH-OrganizationUnitId", "X-UIPATH-FolderKey", "X-UIPATH-FolderPath", "X-UIPATH-FolderPath-Encoded", `"FullyQualifiedName":"Finance/AP"`)
				if strings.Contains(r.raw, `"Secret"`) {
					t.Error("details list a folder bob may not use")
				}
			})
			ctx := context.Background()
			acme, _ := e.st.OrganizationGetByName(ctx, "acme")
			tn, _ := e.st.TenantGetByName(ctx, acme.ID, "DefaultTenant")
			shared, _ := e.st.FolderGetByPath(ctx, tn.ID, "Shared")
			ap, _ := e.st.FolderGetByPath(ctx, tn.ID, "Finance/AP")
			secretF, _ := e.st.FolderGetByPath(ctx, tn.ID, "Secret")
			t.Run("folder headers in every form", func(t *testing.T) {
				cases := map[string]map[string]string{
					"id, odd case":     with(bearer(bob), "X-Uipath-Organizationunitid", itoa(shared.ID)),
					"key, lower case":  with(bearer(bob), "x-uipath-folderkey", shared.Key),
					"path":             with(bearer(bob), "X-UIPATH-FolderPath", "shared"),
					"encoded path":     with(bearer(bob), "X-UIPATH-FolderPath-Encoded", utf16b64("Shared")),
					"relative encoded": with(with(bearer(bob), "X-UIPATH-OrganizationUnitId", itoa(ap.ID)), "X-UIPATH-FolderPath-Encoded", utf16b64("../../Shared")),
				}
				for name, h := range cases {
					r := e.get(t, base+"/odata/QueueDefinitions", h)
					if r.status != 200 || !strings.Contains(r.raw, `"Name":"Invoices"`) {
						t.Errorf("%s: %d %s", name, r.status, r.raw)
					}
				}
				r := e.get(t, base+"/odata/QueueDefinitions", with(with(bearer(bob), "X-UIPATH-OrganizationUnitId", itoa(ap.ID)), "X-UIPATH-FolderPath-Encoded", utf16b64(".")))
				wantStatus(t, r, 200, `"Name":"Payments"`)
				// Above the top of the tree is not a folder.
				r = e.get(t, base+"/odata/QueueDefinitions", with(with(bearer(bob), "X-UIPATH-OrganizationUnitId", itoa(ap.ID)), "X-UIPATH-FolderPath-Encoded", utf16b64("../..")))
				wantStatus(t, r, 403, `"errorCode":1100`)
			})
			t.Run("unknown and forbidden folders look the same", func(t *testing.T) {
				unknown := e.get(t, base+"/odata/QueueDefinitions", with(bearer(bob), "X-UIPATH-OrganizationUnitId", "999999"))
				forbiddenF := e.get(t, base+"/odata/QueueDefinitions", with(bearer(bob), "X-UIPATH-OrganizationUnitId", itoa(secretF.ID)))
				for _, r := range []reply{unknown, forbiddenF} {
					wantStatus(t, r, 403, `"errorCode":1100`, "Folder does not exist or the user does not have access to the folder.", `"FullyQualifiedName":"Shared"`)
				}
			})
			t.Run("another tenant's ids are not found", func(t *testing.T) {
				other, _ := e.st.TenantGetByName(ctx, acme.ID, "Other")
				hidden, _ := e.st.FolderGetByPath(ctx, other.ID, "Hidden")
				wantStatus(t, e.get(t, base+"/odata/Folders("+itoa(hidden.ID)+")", bearer(ann)), 404)
				wantStatus(t, e.get(t, base+"/odata/Folders("+itoa(shared.ID)+")", bearer(ann)), 200, `"FullyQualifiedName":"Shared"`, `"@odata.context"`)
				wantStatus(t, e.get(t, base+"/odata/Folders("+itoa(secretF.ID)+")", bearer(bob)), 404)
			})
			t.Run("actions under both namespaces", func(t *testing.T) {
				for _, ns := range []string{"UiPath.Server.Configuration.OData", "UiPathODataSvc"} {
					r := e.get(t, base+"/odata/Users/"+ns+".GetCurrentUser", bearer(ann))
					wantStatus(t, r, 200, `"EmailAddress":"ann@acme.test"`, `"TenancyName":"DefaultTenant"`)
				}
				r := e.get(t, base+"/odata/Users/UiPath.Server.Configuration.OData.GetCurrentUser", bearer(bot))
				wantStatus(t, r, 403, "lacks scope OR.Users")
			})
			t.Run("unknown set and wrong method", func(t *testing.T) {
				wantStatus(t, e.get(t, base+"/odata/Nope", bearer(ann)), 404, "known entity sets", "Folders")
				req, _ := http.NewRequest("DELETE", e.url+base+"/odata/QueueDefinitions", nil)
				req.Header.Set("Authorization", "Bearer "+ann)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 405 {
					t.Errorf("DELETE QueueDefinitions: %d, want 405", resp.StatusCode)
				}
			})
		})
	}
}

func itoa(n int64) string { return strconvI(n) }

func utf16b64(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, x := range u {
		b[2*i], b[2*i+1] = byte(x), byte(x>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}
