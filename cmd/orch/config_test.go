package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store/storetest"
)

// configFile describes two organizations; contoso's app may read folders and queues in
// Finance, and admin@contoso.test administers the organization.
const configFile = `
organizations:
  - name: contoso
    users:
      - {email: admin@contoso.test, name: Admin, orgAdmin: true, password: admin-password-123}
    apps:
      - name: reporter
        clientId: contoso-reporter
        clientSecretEnv: REPORTER_SECRET
        appScopes: [OR.Folders.Read, OR.Queues.Read]
    tenants:
      - name: Prod
        folders:
          - path: Finance/AP
            members:
              - {app: contoso-reporter, roles: [Automation User]}
          - path: HR
        queues:
          - {name: Invoices, folder: Finance/AP}
  - name: fabrikam
    apps:
      - {name: other, clientId: fabrikam-bot, clientSecret: fabrikam-secret-0123456789abcdef-0123, appScopes: [OR.Folders]}
    tenants:
      - name: Prod
        folders:
          - path: Fabrikam Only
            members:
              - {app: fabrikam-bot, roles: [Folder Administrator]}
`

// TestServeFromConfigFile starts `orch serve --config` (no demo) on each engine and uses
// the API as an external application would: a token, the folders it may see, a $filter,
// the folder headers, and nothing of the other organization.
func TestServeFromConfigFile(t *testing.T) {
	t.Parallel()
	secretValue := "reporter-secret-0123456789abcdef-0123"
	engines := map[string]func(t *testing.T) ([]string, map[string]string){
		"sqlite": func(t *testing.T) ([]string, map[string]string) {
			return []string{"--data-dir", t.TempDir()}, map[string]string{"REPORTER_SECRET": secretValue}
		},
		"postgres": func(t *testing.T) ([]string, map[string]string) {
			return []string{"--database-url", storetest.PostgresURL(t), "--data-dir", t.TempDir()},
				map[string]string{"REPORTER_SECRET": secretValue, "ORCH_SECRET_KEY": strings.Repeat("3c", 32)}
		},
	}
	for name, setup := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args, vars := setup(t)
			cfg := filepath.Join(t.TempDir(), "orch.yaml")
			if err := os.WriteFile(cfg, []byte(configFile), 0o600); err != nil {
				t.Fatal(err)
			}
			s := startServe(t, env(vars), append(args, "--config", cfg)...)

			tok := func(id, secretValue string) string {
				t.Helper()
				resp, err := http.PostForm(s.URL+"/identity_/connect/token", url.Values{"grant_type": {"client_credentials"},
					"client_id": {id}, "client_secret": {secretValue}})
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct {
					AccessToken string `json:"access_token"`
				}
				json.NewDecoder(resp.Body).Decode(&body)
				if resp.StatusCode != 200 || body.AccessToken == "" {
					t.Fatalf("token for %s: status %d", id, resp.StatusCode)
				}
				return body.AccessToken
			}
			call := func(tok, path string, h map[string]string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest("GET", s.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				for k, v := range h {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			want := func(status int, body string, wantStatus int, parts ...string) {
				t.Helper()
				if status != wantStatus {
					t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
				}
				for _, p := range parts {
					if !strings.Contains(body, p) {
						t.Errorf("body lacks %s: %s", p, body)
					}
				}
			}

			reporter := tok("contoso-reporter", secretValue)
			api := "/contoso/Prod/orchestrator_"
			st, body := call(reporter, api+"/odata/Folders", nil)
			want(st, body, 200, `"FullyQualifiedName":"Finance/AP"`)
			if strings.Contains(body, `"HR"`) || strings.Contains(body, "Fabrikam") {
				t.Errorf("the app sees folders it holds no role in: %s", body)
			}
			st, body = call(reporter, api+"/odata/Folders?$filter="+url.QueryEscape("startswith(FullyQualifiedName,'Finance/')")+"&$count=true", nil)
			want(st, body, 200, `"@odata.count":1`, `"DisplayName":"AP"`)
			st, body = call(reporter, api+"/odata/QueueDefinitions", nil)
			want(st, body, 400, `"errorCode":1101`, "X-UIPATH-FolderPath")
			st, body = call(reporter, api+"/odata/QueueDefinitions", map[string]string{"X-UIPATH-FolderPath": "Finance/AP"})
			want(st, body, 200, `"Name":"Invoices"`)
			st, body = call(reporter, api+"/odata/QueueDefinitions", map[string]string{"X-UIPATH-FolderPath": "HR"})
			want(st, body, 403, `"errorCode":1100`)
			// The older layout, with the tenant header.
			st, body = call(reporter, "/contoso/Prod/odata/Folders", map[string]string{"X-UIPATH-TenantName": "Prod"})
			want(st, body, 200, "Finance/AP")

			// Another organization's token is refused in contoso, and sees only its own.
			other := tok("fabrikam-bot", "fabrikam-secret-0123456789abcdef-0123")
			st, body = call(other, api+"/odata/Folders", nil)
			want(st, body, 401, "issued for organization fabrikam")
			st, body = call(other, "/fabrikam/Prod/orchestrator_/odata/Folders", nil)
			want(st, body, 200, "Fabrikam Only")
			if strings.Contains(body, "Finance") {
				t.Errorf("fabrikam sees contoso's folders: %s", body)
			}
		})
	}
}
