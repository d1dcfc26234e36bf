package legacy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// jsonKeys returns the keys of a JSON object, sorted.
func jsonKeys(t testing.TB, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestDiscovery follows seed 000: sign in (authorization code with PKCE), then discover
// the account and its service instances with the id_token as Bearer, as the old scripts
// did, and the organization's tenants with the access token, as the SDKs do. The answers
// carry exactly the wire's field names.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng.open)
			access, idToken := e.signIn(t, "acme", "ann@acme.test", annPassword)

			for _, token := range []struct{ name, value string }{{"id_token", idToken}, {"access token", access}} {
				t.Run(token.name, func(t *testing.T) {
					r := e.get(t, "/cloudrpa/api/getAccountsForUser", token.value, nil)
					if r.status != http.StatusOK {
						t.Fatalf("getAccountsForUser: %d %s", r.status, r.body)
					}
					if k := jsonKeys(t, json.RawMessage(r.body)); !slices.Equal(k, []string{"accounts", "userEmail"}) {
						t.Errorf("getAccountsForUser keys %v, want accounts, userEmail", k)
					}
					var accounts struct {
						UserEmail string            `json:"userEmail"`
						Accounts  []json.RawMessage `json:"accounts"`
					}
					json.Unmarshal([]byte(r.body), &accounts)
					if accounts.UserEmail != "ann@acme.test" || len(accounts.Accounts) != 1 {
						t.Fatalf("getAccountsForUser: %s; want ann's one account", r.body)
					}
					if k := jsonKeys(t, accounts.Accounts[0]); !slices.Equal(k, []string{"accountLogicalName", "accountName"}) {
						t.Errorf("account keys %v, want accountLogicalName, accountName", k)
					}
					if !strings.Contains(r.body, `"accountName":"Acme Corp","accountLogicalName":"acme"`) {
						t.Errorf("account: %s; want name Acme Corp, logical name acme", r.body)
					}

					// The account's logical name in any case, or its Key.
					for _, name := range []string{"acme", "ACME", e.acme.Key} {
						r = e.get(t, "/cloudrpa/api/account/"+name+"/getAllServiceInstances", token.value, nil)
						if r.status != http.StatusOK {
							t.Fatalf("getAllServiceInstances(%s): %d %s", name, r.status, r.body)
						}
						var instances []json.RawMessage
						if err := json.Unmarshal([]byte(r.body), &instances); err != nil || len(instances) != 3 {
							t.Fatalf("getAllServiceInstances: %s; want acme's three tenants", r.body)
						}
						if k := jsonKeys(t, instances[0]); !slices.Equal(k, []string{"serviceInstanceLogicalName", "serviceInstanceName", "serviceType", "serviceUrl"}) {
							t.Errorf("service instance keys %v", k)
						}
						want := `{"serviceInstanceName":"Default Tenant","serviceInstanceLogicalName":"DefaultTenant","serviceType":"ORCHESTRATOR","serviceUrl":"` +
							e.url + `/acme/DefaultTenant"}`
						if !strings.Contains(r.body, want) || !strings.Contains(r.body, `"serviceInstanceLogicalName":"Closed"`) {
							t.Errorf("getAllServiceInstances: %s; want %s among them", r.body, want)
						}
					}
				})
			}

			// tenantsAndOrganizationInfo, by logical name and by Key (prt_id, as SDKs call it).
			for _, org := range []string{"acme", e.acme.Key} {
				r := e.get(t, "/"+org+"/portal_/api/filtering/leftnav/tenantsAndOrganizationInfo", access, nil)
				if r.status != http.StatusOK {
					t.Fatalf("tenantsAndOrganizationInfo(%s): %d %s", org, r.status, r.body)
				}
				var info struct {
					Organization map[string]string   `json:"organization"`
					Tenants      []map[string]string `json:"tenants"`
				}
				json.Unmarshal([]byte(r.body), &info)
				if k := jsonKeys(t, json.RawMessage(r.body)); !slices.Equal(k, []string{"organization", "tenants"}) {
					t.Errorf("keys %v, want organization, tenants", k)
				}
				if !reflect.DeepEqual(info.Organization, map[string]string{"id": e.acme.Key, "name": "acme"}) || len(info.Tenants) != 3 {
					t.Errorf("tenantsAndOrganizationInfo: %s", r.body)
				}
				for _, tn := range info.Tenants {
					if len(tn) != 2 || tn["id"] == "" || tn["name"] == "" {
						t.Errorf("tenant entry %v, want exactly id and name", tn)
					}
				}
			}

			// An external application's token and a machine's (which sees its own tenant only).
			bot := e.clientToken(t, "acme-bot", botSecret)
			if r := e.get(t, "/acme/portal_/api/filtering/leftnav/tenantsAndOrganizationInfo", bot, nil); r.status != http.StatusOK ||
				strings.Count(r.body, `"name"`) != 4 {
				t.Errorf("with an app's token: %d %s; want the organization and its three tenants", r.status, r.body)
			}
			worker := e.clientToken(t, "acme-worker-1", workerSecret)
			r := e.get(t, "/cloudrpa/api/account/acme/getAllServiceInstances", worker, nil)
			if r.status != http.StatusOK || strings.Count(r.body, "serviceInstanceLogicalName") != 1 || !strings.Contains(r.body, `"DefaultTenant"`) {
				t.Errorf("with a machine's token: %d %s; want its tenant only", r.status, r.body)
			}
		})
	}
}

// TestDiscoveryRefusals checks the refusals: another organization's id_token, an unknown
// account, no or a bad token, an expired id_token, a revoked user.
func TestDiscoveryRefusals(t *testing.T) {
	t.Parallel()
	for _, eng := range engines() {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng.open)
			_, annID := e.signIn(t, "acme", "ann@acme.test", annPassword)
			gusAccess, gusID := e.signIn(t, "globex", "gus@globex.test", gusPassword)

			for _, c := range []struct {
				name, path, token string
				status            int
				parts             []string
			}{
				{"another organization's id_token", "/cloudrpa/api/account/acme/getAllServiceInstances", gusID, 403,
					[]string{"user gus@globex.test of organization globex, not acme"}},
				{"another organization's access token", "/acme/portal_/api/filtering/leftnav/tenantsAndOrganizationInfo", gusAccess, 403,
					[]string{"organization globex, not acme"}},
				{"unknown account", "/cloudrpa/api/account/nope/getAllServiceInstances", annID, 404,
					[]string{`account "nope" does not exist`}},
				{"unknown organization", "/nope/portal_/api/filtering/leftnav/tenantsAndOrganizationInfo", annID, 404,
					[]string{`organization "nope" does not exist`}},
				{"no token", "/cloudrpa/api/getAccountsForUser", "", 401, []string{"no Authorization header", "id_token"}},
				{"not a token", "/cloudrpa/api/getAccountsForUser", "garbage", 401, []string{"not a JWT"}},
				{"altered id_token", "/cloudrpa/api/getAccountsForUser", annID[:len(annID)-4] + "AAAA", 401, []string{"signature is not valid"}},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := e.get(t, c.path, c.token, nil)
					if r.status != c.status {
						t.Fatalf("got %d, want %d: %s", r.status, c.status, r.body)
					}
					for _, p := range c.parts {
						if !strings.Contains(r.str("message"), p) {
							t.Errorf("message %q does not say %q", r.str("message"), p)
						}
					}
					if !strings.HasPrefix(r.str("traceId"), "00-") {
						t.Errorf("no traceId: %s", r.body)
					}
					if c.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
						t.Errorf("401 without WWW-Authenticate: %v", r.header)
					}
				})
			}

			// Revoking the user ends its id_tokens too.
			sub, _ := claimsOf(t, annID)["sub"].(string)
			e.clock.Set(e.clock.Now().Add(time.Second))
			if err := e.deny.Revoke(context.Background(), store.RevokeSubject, sub, e.clock.Now().Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if r := e.get(t, "/cloudrpa/api/getAccountsForUser", annID, nil); r.status != 401 || !strings.Contains(r.str("message"), "revoked") {
				t.Errorf("a revoked user's id_token: %d %s; want 401 saying revoked", r.status, r.body)
			}
			// An id_token lives an hour.
			e.clock.Set(e.clock.Now().Add(2 * time.Hour))
			if r := e.get(t, "/cloudrpa/api/getAccountsForUser", gusID, nil); r.status != 401 || !strings.Contains(r.str("message"), "id_token expired at") {
				t.Errorf("an expired id_token: %d %s; want 401 saying it expired", r.status, r.body)
			}
		})
	}
}
