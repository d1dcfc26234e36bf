package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAPIAccessPageCommands signs the demo user in on the API access page of a real
// `orch serve --demo`, creates a user key and a personal access token there, and runs the
// commands the page shows with them, as a reader pastes them into a shell: they must reach
// the Orchestrator API.
func TestAPIAccessPageCommands(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the page's commands need curl (.ci/run installs it)")
	}
	s := startServe(t, env(nil), "--demo", "--data-dir", t.TempDir())
	demo := demoExports(s.Stdout.String())
	base, org := s.URL, demo["ORCH_DEMO_ORG"]
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}

	// The page sends the browser to the login page, and the login back to the page.
	res, body := fetch(t, browser, newRequest(t, http.MethodGet, base+"/"+org+"/portal_/apiAccess", "", ""))
	form := url.Values{"csrf": {formField(t, body, "csrf")}, "return": {formField(t, body, "return")},
		"email": {demo["ORCH_DEMO_USER"]}, "password": {demo["ORCH_DEMO_PASSWORD"]}}
	action := html.UnescapeString(regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(body)[1])
	res, body = fetch(t, browser, newRequest(t, http.MethodPost, action, "application/x-www-form-urlencoded", form.Encode()))
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/"+org+"/portal_/apiAccess" {
		t.Fatalf("after signing in: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
	}
	csrf := formField(t, body, "csrf")
	post := func(path string, form url.Values) string {
		t.Helper()
		form.Set("csrf", csrf)
		res, body := fetch(t, browser, newRequest(t, http.MethodPost, base+"/"+org+"/portal_/apiAccess"+path,
			"application/x-www-form-urlencoded", form.Encode()))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="new-secret"`) {
			t.Fatalf("POST %s: %d\n%s", path, res.StatusCode, body)
		}
		return body
	}
	sh := func(command string, env ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		cmd.Env = append(os.Environ(), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr // curl's progress meter
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v\n--- command\n%s\n--- output\n%s%s", err, command, out, stderr.String())
		}
		return string(out)
	}

	// A user key: the exchange command, then the API call with its access token.
	page := post("/userKeys", url.Values{"name": {"scheduled report"}})
	key := html.UnescapeString(regexp.MustCompile(`id="new-secret" value="([^"]*)"`).FindStringSubmatch(page)[1])
	out := sh(codeBlock(t, page, "curl-token"))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("the exchange command printed %s", out)
	}
	if out := sh(codeBlock(t, page, "curl-folders"), "ACCESS_TOKEN="+tok.AccessToken); !strings.Contains(out, `"Shared"`) {
		t.Errorf("the API call with the key's access token printed %s", out)
	}

	// A personal access token that may read folders: the API call with it.
	page = post("/personalAccessTokens", url.Values{"name": {"ci"}, "scopes": {"OR.Folders.Read"}, "expiresInDays": {"7"}})
	pat := html.UnescapeString(regexp.MustCompile(`id="new-secret" value="([^"]*)"`).FindStringSubmatch(page)[1])
	if out := sh(codeBlock(t, page, "curl-pat")); !strings.Contains(out, `"Shared"`) {
		t.Errorf("the API call with the personal access token printed %s", out)
	}

	// Neither secret reaches the log.
	logs := s.Stderr.String()
	for name, v := range map[string]string{"user key": key, "personal access token": pat} {
		if v == "" || strings.Contains(logs, v) {
			t.Errorf("the %s is empty or in the log", name)
		}
	}
}

// codeBlock is the text of a page's <code id="…">: a command as the reader copies it.
func codeBlock(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<code id="` + id + `">(.*?)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no code %s:\n%s", id, page)
	}
	return html.UnescapeString(m[1])
}
