package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEveryTokenOnBothLayouts gets a token from each flow — the seed-era JSON token call, a
// user key, the legacy login, an external application, a personal access token — and calls
// GetLicense and Folders with it on the current layout and on the older one with
// X-UIPATH-TenantName.
func TestEveryTokenOnBothLayouts(t *testing.T) {
	t.Parallel()
	s := startServe(t, env(nil), "--demo", "--data-dir", t.TempDir())
	demo := demoExports(s.Stdout.String())
	base, org, tenant := s.URL, demo["ORCH_DEMO_ORG"], demo["ORCH_DEMO_TENANT"]
	post := func(path, ct, body, bearer string) map[string]any {
		t.Helper()
		req := newRequest(t, http.MethodPost, base+path, ct, body)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, text := fetch(t, http.DefaultClient, req)
		var out map[string]any
		if err := json.Unmarshal([]byte(text), &out); err != nil || res.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, text)
		}
		return out
	}
	str := func(m map[string]any, k string) string {
		t.Helper()
		v, _ := m[k].(string)
		if v == "" {
			t.Fatalf("no %s in %v", k, m)
		}
		return v
	}

	tokens := map[string]string{}
	seed, _, _ := seedSignIn(t, base, demo)
	tokens["seed-era JSON token"] = seed["access_token"]
	legacy := post("/api/account/authenticate", "application/json", `{"TenancyName":"`+tenant+`","UsernameOrEmailAddress":"`+
		demo["ORCH_DEMO_USER"]+`","Password":"`+demo["ORCH_DEMO_PASSWORD"]+`"}`, "")
	tokens["legacy login"] = str(legacy, "result")
	key := post("/"+org+"/identity_/api/UserKeys", "application/json", `{"name":"layouts"}`, seed["access_token"])
	exchanged := post("/oauth/token", "application/json", `{"grant_type":"refresh_token","client_id":"8DEv1AMNXczW3y4U15LL3jYf62jK93n5",`+
		`"refresh_token":"`+str(key, "userKey")+`"}`, "")
	tokens["user key"] = str(exchanged, "access_token")
	app := post("/identity_/connect/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"},
		"client_id": {demo["ORCH_DEMO_CLIENT_ID"]}, "client_secret": {demo["ORCH_DEMO_CLIENT_SECRET"]}}.Encode(), "")
	tokens["external application"] = str(app, "access_token")
	pat := post("/"+org+"/identity_/api/PersonalAccessTokens", "application/json",
		`{"name":"layouts","scopes":["OR.Settings.Read","OR.Folders.Read"],"expiresInDays":1}`, seed["access_token"])
	tokens["personal access token"] = str(pat, "token")

	for flow, tok := range tokens {
		for _, layout := range []struct {
			prefix string
			header map[string]string
		}{
			{"/" + org + "/" + tenant + "/orchestrator_", nil},
			{"/" + org + "/" + tenant, map[string]string{"X-UIPATH-TenantName": tenant}},
		} {
			wantAPI(t, base+layout.prefix+"/odata/Settings/UiPath.Server.Configuration.OData.GetLicense", tok, layout.header,
				http.StatusOK, `"IsExpired":false`)
			wantAPI(t, base+layout.prefix+"/odata/Folders", tok, layout.header, http.StatusOK, `"FullyQualifiedName":"Shared"`)
			if t.Failed() {
				t.Fatalf("the %s failed on %s", flow, layout.prefix)
			}
		}
	}
	if strings.Contains(s.Stderr.String(), tokens["personal access token"]) {
		t.Error("the log contains the personal access token")
	}
}
