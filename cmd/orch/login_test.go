package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// A person signs in with the browser: the CLI opens the authorize address, the browser
// signs in and is redirected to the CLI's loopback listener, and orch token then prints a
// token that the API takes.
func TestLoginBrowser(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	c := tc.base
	type outcome struct {
		authURL string
		status  int
		page    string
		err     error
	}
	browsed := make(chan outcome, 1)
	c.openBrowser = func(authURL string) error {
		go func() {
			status, page, err := newPersonBrowser(d.URL, false).signIn(authURL, d.ex["ORCH_DEMO_USER"], d.ex["ORCH_DEMO_PASSWORD"])
			browsed <- outcome{authURL, status, page, err}
		}()
		return nil
	}
	_, stderr, err := tc.doWith(c, d.loginArgs()...)
	if err != nil {
		t.Fatalf("login: %v\nstderr:\n%s", err, stderr)
	}
	b := <-browsed
	if b.err != nil || b.status != http.StatusOK || !strings.Contains(b.page, "You are signed in") {
		t.Fatalf("the browser ended on %d %q (%v); want the CLI's page saying it is signed in", b.status, b.page, b.err)
	}
	u, err := url.Parse(b.authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	switch {
	case u.Path != "/demo/identity_/connect/authorize":
		t.Errorf("authorize path %s; want the organization's /demo/identity_/connect/authorize", u.Path)
	case q.Get("client_id") != "orch-cli" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(q.Get("state")) < 16:
		t.Errorf("authorize query %v; want client orch-cli, an S256 challenge and a state", q)
	case redirect == nil || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" || redirect.Port() == "":
		t.Errorf("redirect_uri %q; want http://127.0.0.1:PORT/callback", q.Get("redirect_uri"))
	case !strings.Contains(q.Get("scope"), "offline_access"):
		t.Errorf("scope %q lacks offline_access: the sign-in could not be renewed", q.Get("scope"))
	}
	if !strings.Contains(stderr, "as "+d.ex["ORCH_DEMO_USER"]) || !strings.Contains(stderr, `profile "default"`) {
		t.Errorf("login should say who signed in and where it was saved:\n%s", stderr)
	}

	token := strings.TrimSpace(tc.must(t, "token"))
	if status, body := d.call(t, "GET", "/odata/Folders", token, nil); status != http.StatusOK || !strings.Contains(body, `"Shared"`) {
		t.Fatalf("GET /odata/Folders with the printed token: %d %s", status, body)
	}
	saved := tc.savedToken(t, "default")
	if saved.RefreshToken == "" || saved.AccessToken != token {
		t.Errorf("saved token: refresh token set %v, access token the printed one %v", saved.RefreshToken != "", saved.AccessToken == token)
	}
	wantNoSecrets(t, stderr, saved.AccessToken, saved.RefreshToken, d.ex["ORCH_DEMO_PASSWORD"])

	// Only its owner may read the credentials.
	for path, want := range map[string]os.FileMode{tc.dir: 0o700, tc.dir + "/credentials.json": 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o; want %o", path, got, want)
		}
	}
}

// Without a browser here, the person opens the printed address elsewhere and pastes the
// address that browser ended on. An answer with another state is ignored.
func TestLoginBrowserPasted(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	c := tc.base
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	c.stdin = stdinR
	errOut := &syncBuffer{}
	c.stderr = errOut
	done := make(chan error, 1)
	go func() {
		_, _, err := tc.doWith(c, d.loginArgs("--no-browser")...)
		done <- err
	}()
	authURL := waitForOutput(t, errOut, regexp.MustCompile(`(http://\S+/connect/authorize\?\S+)`))[1]
	b := newPersonBrowser(d.URL, true)
	if _, _, err := b.signIn(authURL, d.ex["ORCH_DEMO_USER"], d.ex["ORCH_DEMO_PASSWORD"]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.stoppedAt, "code=") {
		t.Fatalf("the browser should end on the loopback address with a code, got %q", b.stoppedAt)
	}
	forged, _ := url.Parse(b.stoppedAt)
	q := forged.Query()
	q.Set("state", "not-this-sign-in")
	forged.RawQuery = q.Encode()
	io.WriteString(stdinW, forged.String()+"\n")
	waitForOutput(t, errOut, regexp.MustCompile(`ignored an answer whose state`))
	io.WriteString(stdinW, "\n  "+b.stoppedAt+"  \n")
	if err := <-done; err != nil {
		t.Fatalf("login: %v\nstderr:\n%s", err, errOut)
	}
	if out := tc.must(t, "api", "/odata/Folders"); !strings.Contains(out, `"Shared"`) {
		t.Errorf("orch api /odata/Folders after a pasted sign-in: %s", out)
	}
}

// The device flow: the CLI shows a code, the person approves it on the device page of
// any browser, and the CLI's polling gets the tokens.
func TestLoginDevice(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	c := tc.base
	errOut := &syncBuffer{}
	c.stderr = errOut
	done := make(chan error, 1)
	go func() {
		_, _, err := tc.doWith(c, d.loginArgs("--device", "--profile", "box")...)
		done <- err
	}()
	m := waitForOutput(t, errOut, regexp.MustCompile(`(?s)(http://\S+/device)\s.*enter the code\s+([A-Z]{4}-[A-Z]{4}).*\(or open (\S+)\)`))
	if !strings.HasSuffix(m[1], "/demo/identity_/device") {
		t.Errorf("verification address %s; want the organization's device page", m[1])
	}
	if err := newPersonBrowser(d.URL, false).approveDevice(m[3], d.ex["ORCH_DEMO_USER"], d.ex["ORCH_DEMO_PASSWORD"]); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("login --device: %v\nstderr:\n%s", err, errOut)
	}
	token := strings.TrimSpace(tc.must(t, "token", "--profile", "box"))
	if status, body := d.call(t, "GET", "/odata/Folders", token, nil); status != http.StatusOK {
		t.Fatalf("GET /odata/Folders with the device sign-in's token: %d %s", status, body)
	}
	if p := tc.credentials(t).Profiles["box"]; p.Method != methodDevice || p.Subject != d.ex["ORCH_DEMO_USER"] || p.Token.RefreshToken == "" {
		t.Errorf("saved profile: method %s, subject %s, refresh token set %v", p.Method, p.Subject, p.Token.RefreshToken != "")
	}
}

// Told to slow down, the device flow polls 5 seconds slower from then on (RFC 8628 §3.5).
func TestLoginDeviceSlowDown(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		polls []time.Time
	)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acme/identity_/connect/deviceauthorization", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"http://x/device","expires_in":600,"interval":1}`)
	})
	mux.HandleFunc("POST /acme/identity_/connect/token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		polls = append(polls, time.Now())
		n := len(polls)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"slow_down","error_description":"polling too fast"}`)
			return
		}
		io.WriteString(w, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}`)
	})
	mux.HandleFunc("GET /acme/T/orchestrator_/odata/Folders", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"value":[]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tc := newTestCLI(t, nil)
	_, stderr, err := tc.do("login", "--device", "--url", srv.URL, "--org", "acme", "--tenant", "T")
	if err != nil {
		t.Fatalf("login --device: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "BCDF-GHJK") || !strings.Contains(stderr, "http://x/device") {
		t.Errorf("the code and the page to enter it were not shown:\n%s", stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(polls) != 2 || polls[1].Sub(polls[0]) < 5500*time.Millisecond {
		t.Errorf("polls %v; want a second one 6 s after slow_down", polls)
	}
}

// An external application signs in with client credentials; the secret may come from
// ORCH_CLI_CLIENT_SECRET (out of the shell's history) and is never printed.
func TestLoginClientCredentials(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	secret := d.ex["ORCH_DEMO_CLIENT_SECRET"]
	tc := newTestCLI(t, map[string]string{"ORCH_CLI_CLIENT_SECRET": secret})
	stdout, stderr, err := tc.do(d.loginArgs("--profile", "bot", "--client-id", d.ex["ORCH_DEMO_CLIENT_ID"])...)
	if err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
	wantNoSecrets(t, stdout+stderr, secret)
	token := strings.TrimSpace(tc.must(t, "token", "--profile", "bot"))
	if status, body := d.call(t, "GET", "/odata/Folders", token, nil); status != http.StatusOK {
		t.Fatalf("GET /odata/Folders: %d %s", status, body)
	}

	// Expired: a new token is obtained with the saved credentials, and saved.
	tc.expire(t, "bot")
	renewed := strings.TrimSpace(tc.must(t, "token", "--profile", "bot"))
	if renewed == token || tc.savedToken(t, "bot").AccessToken != renewed {
		t.Fatal("orch token should have obtained and saved a new token for the expired one")
	}
	if status, _ := d.call(t, "GET", "/odata/Folders", renewed, nil); status != http.StatusOK {
		t.Fatalf("the renewed token: %d", status)
	}

	// A wrong secret is refused with the server's reason, and nothing is saved.
	_, _, err = newTestCLI(t, nil).do(d.loginArgs("--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", "wrong-secret")...)
	if err == nil || !strings.Contains(err.Error(), "client_secret is wrong") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("login with a wrong secret: %v; want the server's reason without the secret", err)
	}
}

// A personal access token, created through the identity API, is saved and sent as it is;
// logging out forgets it and leaves it valid.
func TestLoginPAT(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	var pat struct{ Token string }
	d.postJSON(t, d.URL+"/demo/identity_/api/PersonalAccessTokens", d.userToken(t),
		`{"name":"cli","scopes":["OR.Folders.Read","OR.Queues"],"expiresInDays":5}`, &pat)
	tc := newTestCLI(t, nil)
	c := tc.base
	c.stdin = strings.NewReader(pat.Token + "\n")
	stdout, stderr, err := tc.doWith(c, d.loginArgs("--pat", "-")...)
	if err != nil {
		t.Fatalf("login --pat -: %v\n%s", err, stderr)
	}
	wantNoSecrets(t, stdout+stderr, pat.Token)
	if got := strings.TrimSpace(tc.must(t, "token")); got != pat.Token {
		t.Errorf("orch token printed %.12s…; want the PAT", got)
	}
	if out := tc.must(t, "api", "/odata/QueueDefinitions", "--folder", "Shared"); !strings.Contains(out, `"Invoices"`) {
		t.Errorf("orch api with the PAT: %s", out)
	}
	_, stderr, err = tc.do("logout")
	if err != nil || !strings.Contains(stderr, "stays valid") {
		t.Fatalf("logout: %v; want it to say the PAT stays valid:\n%s", err, stderr)
	}
	if status, _ := d.call(t, "GET", "/odata/Folders", pat.Token, nil); status != http.StatusOK {
		t.Errorf("the PAT after logout: %d; logout only forgets it", status)
	}
	if _, _, err := tc.do("token"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("orch token after logout: %v; want not logged in", err)
	}

	// A PAT the server does not know is refused before it is saved.
	_, _, err = tc.do(d.loginArgs("--pat", "oo_pat_unknown")...)
	if err == nil || !strings.Contains(err.Error(), "personal access token") {
		t.Errorf("login with an unknown PAT: %v", err)
	}
	if len(tc.credentials(t).Profiles) != 0 {
		t.Error("a refused PAT was saved")
	}
}

// A user key (the seed era's "API access") is exchanged at /oauth/token with the built-in
// client 8DEv…, again whenever the access token expires.
func TestLoginUserKey(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	var key struct{ UserKey string }
	d.postJSON(t, d.URL+"/demo/identity_/api/UserKeys", d.userToken(t), `{"name":"cli"}`, &key)
	tc := newTestCLI(t, nil)
	stdout, stderr, err := tc.do(d.loginArgs("--profile", "uk", "--user-key", key.UserKey)...)
	if err != nil {
		t.Fatalf("login --user-key: %v\n%s", err, stderr)
	}
	wantNoSecrets(t, stdout+stderr, key.UserKey)
	first := strings.TrimSpace(tc.must(t, "token", "--profile", "uk"))
	tc.expire(t, "uk")
	second := strings.TrimSpace(tc.must(t, "token", "--profile", "uk"))
	saved := tc.savedToken(t, "uk")
	if second == first || saved.AccessToken != second || saved.RefreshToken != key.UserKey {
		t.Fatal("the expired token should be renewed with the user key, which stays saved")
	}
	if status, body := d.call(t, "GET", "/odata/Folders", second, nil); status != http.StatusOK {
		t.Fatalf("the renewed token: %d %s", status, body)
	}
	if _, stderr, err := tc.do("logout", "--profile", "uk"); err != nil || !strings.Contains(stderr, "user key itself stays valid") {
		t.Fatalf("logout: %v\n%s", err, stderr)
	}
}

// Usage mistakes are usage errors (exit status 2) that say what to do; --help shows
// examples.
func TestLoginUsage(t *testing.T) {
	t.Parallel()
	tc := newTestCLI(t, nil)
	for _, args := range [][]string{
		{"login", "--org", "demo", "--tenant", "T"},
		{"login", "--url", "http://127.0.0.1:1", "--tenant", "T"},
		{"login", "--url", "http://127.0.0.1:1", "--org", "demo"},
		{"login", "--url", "ftp://x", "--org", "demo", "--tenant", "T"},
		{"login", "--url", "http://h/demo/T/orchestrator_", "--org", "demo", "--tenant", "T"},
		{"login", "--url", "http://h", "--org", "o", "--tenant", "t", "--device", "--pat", "x"},
		{"login", "--url", "http://h", "--org", "o", "--tenant", "t", "--client-secret", "s"},
		{"login", "--url", "http://h", "--org", "o", "--tenant", "t", "--bogus"},
		{"login", "stray"},
		{"token", "--bogus"},
		{"logout", "extra"},
	} {
		_, _, err := tc.do(args...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "orch ") && !strings.Contains(err.Error(), "--") {
			t.Errorf("orch %s: %v; want a usage error that says what to do", strings.Join(args, " "), err)
		}
	}
	for _, cmd := range []string{"login", "token", "logout", "api"} {
		out, _, err := tc.do(cmd, "--help")
		if err != nil || !strings.HasPrefix(out, "Usage: orch "+cmd) || !strings.Contains(out, "Examples:") {
			t.Errorf("orch %s --help: %v\n%s", cmd, err, out)
		}
	}
	if _, _, err := tc.do("token"); err == nil || !strings.Contains(err.Error(), "run `orch login --url") {
		t.Errorf("orch token when not logged in: %v; want how to log in", err)
	}
}
