package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSeedEraEndToEnd runs the seed-era flows against a real `orch serve --demo`, as their
// scripts do with only the host changed: seed 000 (PKCE sign-in through the login page, the
// code shown on /mobile, the JSON token call with an empty redirect_uri, the refresh token
// used again and again) and seed 002 (a user key exchanged for 24-hour tokens until it is
// revoked). Every token is tried on the Orchestrator API.
func TestSeedEraEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServe(t, env(nil), "--demo", "--data-dir", t.TempDir())
	demo := demoExports(s.Stdout.String())
	base, org, tenant := s.URL, demo["ORCH_DEMO_ORG"], demo["ORCH_DEMO_TENANT"]
	folders := base + "/" + org + "/" + tenant + "/orchestrator_/odata/Folders"

	// Seed 000: PKCE through the login page, the code from /mobile, the JSON token call.
	tok, code, verifier := seedSignIn(t, base, demo)
	wantAPI(t, folders, tok["access_token"], nil, http.StatusOK, `"Shared"`)
	// The older layout, as the PowerShell module and the 2020 scripts call it.
	wantAPI(t, base+"/"+org+"/"+tenant+"/odata/Folders", tok["access_token"], map[string]string{"X-UIPATH-TenantName": tenant},
		http.StatusOK, `"Shared"`)

	// The refresh token, twice: it does not rotate, and each access token works.
	for range 2 {
		fresh := tokenCall(t, base, `{"grant_type": "refresh_token", "client_id": "5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN", "refresh_token": "`+tok["refresh_token"]+`"}`)
		if fresh["refresh_token"] != "" || fresh["access_token"] == tok["access_token"] {
			t.Errorf("the refresh answered %v", fresh)
		}
		wantAPI(t, folders, fresh["access_token"], nil, http.StatusOK, `"Shared"`)
	}

	// Seed 002: a user key, created with that access token, exchanged three times.
	req := newRequest(t, http.MethodPost, base+"/"+org+"/identity_/api/UserKeys", "application/json", `{"name":"scheduled report"}`)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	res, body := fetch(t, http.DefaultClient, req)
	var created struct{ ID int64 }
	var shown struct{ UserKey string }
	json.Unmarshal([]byte(body), &created)
	json.Unmarshal([]byte(body), &shown)
	if res.StatusCode != http.StatusCreated || !strings.HasPrefix(shown.UserKey, "oo_uk_") {
		t.Fatalf("create a user key: %d %s", res.StatusCode, body)
	}
	userKeyBody := `{"grant_type":"refresh_token","client_id":"8DEv1AMNXczW3y4U15LL3jYf62jK93n5","refresh_token":"` + shown.UserKey + `"}`
	var minted string
	for range 3 {
		minted = tokenCall(t, base, userKeyBody)["access_token"]
		wantAPI(t, folders, minted, nil, http.StatusOK, `"Shared"`)
	}

	// Revoked: the key is refused, and the token obtained with it stops within seconds.
	req = newRequest(t, http.MethodDelete, base+"/"+org+"/identity_/api/UserKeys/"+strconv.FormatInt(created.ID, 10), "", "")
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	if res, body = fetch(t, http.DefaultClient, req); res.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke the user key: %d %s", res.StatusCode, body)
	}
	res, body = fetch(t, http.DefaultClient, newRequest(t, http.MethodPost, base+"/oauth/token", "application/json", userKeyBody))
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `the user key \"scheduled report\" was revoked at `) {
		t.Errorf("the revoked user key: %d %s", res.StatusCode, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body := callAPI(t, folders, minted, nil)
		if status == http.StatusUnauthorized && strings.Contains(body, "the user key it was obtained with was revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the revocation the API still answers %d %s to the key's token", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantAPI(t, folders, tok["access_token"], nil, http.StatusOK, `"Shared"`) // the sign-in's tokens are unaffected

	// No secret reaches the log.
	logs := s.Stderr.String()
	for name, v := range map[string]string{"code": code, "verifier": verifier, "refresh token": tok["refresh_token"],
		"user key": shown.UserKey, "access token": tok["access_token"]} {
		if strings.Contains(logs, v) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// newRequest makes a request with a body of Content-Type ct ("" for none).
// seedSignIn signs the demo user in as seed 000's script does: PKCE at /authorize through
// the login page, the code from /mobile, the JSON token call with an empty redirect_uri.
// It returns the token answer, the code and the verifier.
func seedSignIn(t *testing.T, base string, demo map[string]string) (tok map[string]string, code, verifier string) {
	t.Helper()
	org := demo["ORCH_DEMO_ORG"]
	// Seed 000, step 2: the verifier and the challenge, as its Node script makes them.
	raw := make([]byte, 32)
	rand.Read(raw)
	verifier = base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	// Step 3: the sign-in link in a browser; the login page asks for the organization.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	authorize := base + "/authorize?response_type=code&nonce=n123&state=s123&code_challenge=" + challenge +
		"&code_challenge_method=S256&scope=openid+profile+offline_access+email&audience=https%3A%2F%2Forchestrator.cloud.uipath.com" +
		"&client_id=5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN&redirect_uri=" + url.QueryEscape(base+"/mobile")
	res, body := fetch(t, browser, newRequest(t, http.MethodGet, authorize, "", ""))
	form := url.Values{"csrf": {formField(t, body, "csrf")}, "request": {formField(t, body, "request")}, "org": {org},
		"email": {demo["ORCH_DEMO_USER"]}, "password": {demo["ORCH_DEMO_PASSWORD"]}}
	action := html.UnescapeString(regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(body)[1])
	res, body = fetch(t, browser, newRequest(t, http.MethodPost, action, "application/x-www-form-urlencoded", form.Encode()))
	// The browser ends on /mobile, which shows the code and OK.
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/mobile" || res.Request.URL.Query().Get("state") != "s123" {
		t.Fatalf("after the sign-in: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	code = res.Request.URL.Query().Get("code")
	if !strings.Contains(body, `value="`+code+`"`) || !strings.Contains(body, "<h1>OK</h1>") || !strings.Contains(body, `id="copy"`) {
		t.Errorf("the /mobile page does not show the code, OK and a copy button:\n%s", body)
	}

	// Step 4: the token call, a JSON body with redirect_uri empty.
	tok = tokenCall(t, base, `{
    "grant_type": "authorization_code",
    "code": "`+code+`",
    "redirect_uri": "",
    "code_verifier": "`+verifier+`",
    "client_id": "5v7PmPJL6FOGu6RB8I1Y4adLBhIwovQN"
}`)
	if tok["id_token"] == "" || !strings.HasPrefix(tok["refresh_token"], "oo_rt_") {
		t.Fatalf("the code exchange answered %v", tok)
	}
	return tok, code, verifier
}

func newRequest(t *testing.T, method, u, ct, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

// fetch sends r with c and reads the answer.
func fetch(t *testing.T, c *http.Client, r *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// formField reads a hidden field of the login page.
func formField(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + name + `" value="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no field %s:\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

// tokenCall posts a JSON body to /oauth/token and checks a 24-hour Bearer answer with an
// access token and an id_token.
func tokenCall(t *testing.T, base, body string) map[string]string {
	t.Helper()
	res, text := fetch(t, http.DefaultClient, newRequest(t, http.MethodPost, base+"/oauth/token", "application/json", body))
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST /oauth/token: %d %s", res.StatusCode, text)
	}
	if out["expires_in"] != float64(86400) || out["token_type"] != "Bearer" || out["access_token"] == nil || out["id_token"] == nil {
		t.Fatalf("POST /oauth/token answered %s; want a Bearer access token and an id_token for 86400 s", text)
	}
	strs := map[string]string{}
	for k, v := range out {
		if s, ok := v.(string); ok {
			strs[k] = s
		}
	}
	return strs
}

func callAPI(t *testing.T, u, token string, header map[string]string) (int, string) {
	t.Helper()
	req := newRequest(t, http.MethodGet, u, "", "")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, body := fetch(t, http.DefaultClient, req)
	return res.StatusCode, body
}

func wantAPI(t *testing.T, u, token string, header map[string]string, status int, contains string) {
	t.Helper()
	if got, body := callAPI(t, u, token, header); got != status || !strings.Contains(body, contains) {
		t.Errorf("GET %s: %d %s; want %d with %s", u, got, body, status, contains)
	}
}
