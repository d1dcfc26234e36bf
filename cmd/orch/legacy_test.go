package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// legacyBootstrap is seed 001's situation: a migrated account (basicAuth) in a tenant that
// keeps basic authentication, and a tenant whose "until July 15" has passed.
const legacyBootstrap = `
organizations:
  - name: acme
    users:
      - {email: ann@acme.test, name: Ann, password: ann-password-0001, basicAuth: true}
    tenants:
      - name: DefaultTenant
        legacyBasicAuth: {enabled: true, until: 2099-01-01T00:00:00Z}
        folders:
          - path: Shared
            members:
              - {user: ann@acme.test, roles: [Automation User]}
      - name: Retired
        legacyBasicAuth: {enabled: true, until: 2020-07-15T00:00:00Z}
`

// TestLegacyAuthenticateServe drives the real `orch serve` as the seed-era scripts did:
// seed 001's login at the tenant's URL, the token on the older layout with
// X-UIPATH-TenantName and on the current one, discovery with that token, and the refusal
// of a tenant whose sunset has passed, posted to the path as UiPath documented it.
func TestLegacyAuthenticateServe(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "orch.yaml")
	if err := os.WriteFile(cfg, []byte(legacyBootstrap), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, env(nil), "--data-dir", t.TempDir(), "--config", cfg)

	send := func(method, path, body string, header map[string]string) (int, http.Header, map[string]any, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, s.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return res.StatusCode, res.Header, m, string(b)
	}

	// Seed 001: POST {account}/{service instance}/api/account/authenticate.
	status, _, body, raw := send(http.MethodPost, "/acme/DefaultTenant/api/account/authenticate",
		`{"tenancyName":"DefaultTenant","usernameOrEmailAddress":"ann@acme.test","password":"ann-password-0001"}`, nil)
	token, _ := body["result"].(string)
	if status != http.StatusOK || body["success"] != true || body["__abp"] != true || strings.Count(token, ".") != 2 {
		t.Fatalf("seed 001 login: %d %s; want 200 with the token in result", status, raw)
	}
	if _, ok := body["errorCode"]; ok {
		t.Errorf("the success carries errorCode, which clients read as a failure: %s", raw)
	}
	auth := map[string]string{"Authorization": "Bearer " + token}
	for _, c := range []struct{ path, tenantHeader string }{
		{"/acme/DefaultTenant/odata/Folders", "DefaultTenant"},
		{"/acme/DefaultTenant/orchestrator_/odata/Folders", ""},
	} {
		h := map[string]string{"Authorization": auth["Authorization"]}
		if c.tenantHeader != "" {
			h["X-UIPATH-TenantName"] = c.tenantHeader
		}
		if status, _, _, raw := send(http.MethodGet, c.path, "", h); status != http.StatusOK || !strings.Contains(raw, `"FullyQualifiedName":"Shared"`) {
			t.Errorf("GET %s with the legacy token: %d %s; want Shared", c.path, status, raw)
		}
	}
	if status, _, _, raw := send(http.MethodGet, "/cloudrpa/api/account/acme/getAllServiceInstances", "", auth); status != http.StatusOK ||
		!strings.Contains(raw, `"serviceInstanceLogicalName":"DefaultTenant"`) || !strings.Contains(raw, `"serviceUrl":"`+s.URL+`/acme/DefaultTenant"`) {
		t.Errorf("getAllServiceInstances with the legacy token: %d %s", status, raw)
	}

	// After the sunset: refused, saying when it ended and what to use instead.
	status, _, body, raw = send(http.MethodPost, "/api/Account/Authenticate",
		`{"TenancyName":"Retired","UsernameOrEmailAddress":"ann@acme.test","Password":"ann-password-0001"}`, nil)
	msg, _ := body["message"].(string)
	if status != http.StatusForbidden || body["success"] != false || !strings.Contains(msg, "ended at 2020-07-15T00:00:00Z") ||
		!strings.Contains(msg, "client credentials") {
		t.Errorf("login to a tenant past its sunset: %d %s; want 403 saying it ended and what to use", status, raw)
	}
	if strings.Contains(s.Stderr.String(), "ann-password-0001") || strings.Contains(s.Stderr.String(), token) {
		t.Error("the log contains the password or the token")
	}
}
