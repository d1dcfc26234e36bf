package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testCLI runs the client commands in-process, as a person at a machine without a
// browser would, with its credentials in a directory of the test's own.
type testCLI struct {
	base cli
	dir  string // ORCH_CLI_CONFIG_DIR
}

func newTestCLI(t *testing.T, kv map[string]string) *testCLI {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "orch")
	m := map[string]string{"ORCH_CLI_CONFIG_DIR": dir}
	maps.Copy(m, kv)
	return &testCLI{dir: dir, base: cli{getenv: env(m), stdin: strings.NewReader(""),
		openBrowser: func(string) error { return errNoBrowser }, isTerminal: func(io.Writer) bool { return false },
		httpClient: &http.Client{Timeout: 30 * time.Second}}}
}

// do runs one command and returns what it printed.
func (tc *testCLI) do(args ...string) (stdout, stderr string, err error) {
	return tc.doWith(tc.base, args...)
}

// doWith runs one command with a cli changed by the test (stdin, browser).
func (tc *testCLI) doWith(c cli, args ...string) (stdout, stderr string, err error) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	if c.stdout == nil {
		c.stdout = out
	}
	if c.stderr == nil {
		c.stderr = errOut
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = c.run(ctx, args[0], args[1:])
	return out.String(), errOut.String(), err
}

// must runs a command that must succeed and returns its stdout.
func (tc *testCLI) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := tc.do(args...)
	if err != nil {
		t.Fatalf("orch %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// credentials reads the saved credentials file.
func (tc *testCLI) credentials(t *testing.T) *credentialsFile {
	t.Helper()
	f, err := credStore{dir: tc.dir}.load()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expire makes a profile's saved access token expired, as it is an hour after login.
func (tc *testCLI) expire(t *testing.T, name string) {
	t.Helper()
	err := credStore{dir: tc.dir}.update(func(f *credentialsFile) (bool, error) {
		p := f.Profiles[name]
		if p == nil {
			return false, fmt.Errorf("no profile %q", name)
		}
		p.Token.Expiry = time.Now().Add(-time.Hour)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cliDemo is a --demo server and its credentials.
type cliDemo struct {
	*served
	ex map[string]string
}

func startCLIDemo(t *testing.T) cliDemo {
	t.Helper()
	s := startServe(t, env(nil), "--demo", "--data-dir", t.TempDir())
	return cliDemo{served: s, ex: demoExports(s.Stdout.String())}
}

// loginArgs are the --url, --org and --tenant of the demo tenant.
func (d cliDemo) loginArgs(extra ...string) []string {
	return append([]string{"login", "--url", d.URL, "--org", d.ex["ORCH_DEMO_ORG"], "--tenant", d.ex["ORCH_DEMO_TENANT"]}, extra...)
}

// apiBase is the demo tenant's API base, as jobs get it in ORCH_URL.
func (d cliDemo) apiBase() string {
	return d.URL + "/" + d.ex["ORCH_DEMO_ORG"] + "/" + d.ex["ORCH_DEMO_TENANT"] + "/orchestrator_"
}

// call makes an API call with a bearer token and returns the status and body.
func (d cliDemo) call(t *testing.T, method, path, token string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.apiBase()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
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

// userToken signs the demo user in the legacy way, for the identity APIs (PATs, user keys).
func (d cliDemo) userToken(t *testing.T) string {
	t.Helper()
	body := fmt.Sprintf(`{"tenancyName":%q,"usernameOrEmailAddress":%q,"password":%q}`,
		d.ex["ORCH_DEMO_TENANT"], d.ex["ORCH_DEMO_USER"], d.ex["ORCH_DEMO_PASSWORD"])
	var out struct{ Result string }
	d.postJSON(t, d.URL+"/api/account/authenticate", "", body, &out)
	if out.Result == "" {
		t.Fatal("the legacy login gave no token")
	}
	return out.Result
}

// postJSON posts a JSON body and decodes a 2xx answer.
func (d cliDemo) postJSON(t *testing.T, u, token, body string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("POST %s: %v: %s", u, err, b)
	}
}

// refreshStatus spends a refresh token of orch-cli at the demo organization's token
// endpoint and returns the status and body.
func (d cliDemo) refreshStatus(t *testing.T, refreshToken string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(d.URL+"/"+d.ex["ORCH_DEMO_ORG"]+"/identity_/connect/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"orch-cli"}, "refresh_token": {refreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// personBrowser plays the person's browser: it keeps cookies and posts the identity
// pages' forms. When stopAtLoopback is set it does not follow the last redirect to the
// CLI's loopback address (the browser runs on another machine) and reports it instead.
type personBrowser struct {
	hc         *http.Client
	serverHost string
	stoppedAt  string // the loopback address the browser would have gone to
}

func newPersonBrowser(serverURL string, stopAtLoopback bool) *personBrowser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(serverURL)
	b := &personBrowser{serverHost: u.Host}
	b.hc = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stopAtLoopback && req.URL.Host != b.serverHost {
			b.stoppedAt = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// get opens a page.
func (b *personBrowser) get(u string) (status int, body string, err error) {
	resp, err := b.hc.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

var (
	postFormRe = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)">(.*?)</form>`)
	hiddenRe   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// submit posts the page's form with its hidden fields and the fields given.
func (b *personBrowser) submit(page string, fields url.Values) (status int, body string, err error) {
	m := postFormRe.FindStringSubmatch(page)
	if m == nil {
		return 0, "", fmt.Errorf("no form on the page: %.300s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	for k, vs := range fields {
		form[k] = vs
	}
	resp, err := b.hc.PostForm(html.UnescapeString(m[1]), form)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

// signIn opens an authorize address and signs in on the login page; the redirects then
// lead to the client's redirect URI. It returns the last page.
func (b *personBrowser) signIn(authURL, email, password string) (status int, body string, err error) {
	status, page, err := b.get(authURL)
	if err != nil || status != http.StatusOK {
		return status, page, errors.Join(err, fmt.Errorf("authorize page: %d %.300s", status, page))
	}
	return b.submit(page, url.Values{"email": {email}, "password": {password}})
}

// approveDevice signs in on the device page for a user code and allows the device.
func (b *personBrowser) approveDevice(deviceURL, email, password string) error {
	status, page, err := b.get(deviceURL)
	if err != nil || status != http.StatusOK {
		return errors.Join(err, fmt.Errorf("device page: %d %.300s", status, page))
	}
	status, page, err = b.submit(page, url.Values{"email": {email}, "password": {password}})
	if err != nil || status != http.StatusOK || !strings.Contains(page, `value="allow"`) {
		return errors.Join(err, fmt.Errorf("after signing in, want the confirmation page, got %d %.300s", status, page))
	}
	status, page, err = b.submit(page, url.Values{"decision": {"allow"}})
	if err != nil || status != http.StatusOK || !strings.Contains(page, "Device signed in") {
		return errors.Join(err, fmt.Errorf("allow: %d %.300s", status, page))
	}
	return nil
}

// waitFor polls a buffer until re matches, and returns the submatches.
func waitForOutput(t *testing.T, b *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no match for %s in:\n%s", re, b)
	return nil
}

// orchExit runs the built orch binary with env and returns its exit status and output.
func orchExit(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, orchBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range environ {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// wantNoSecrets fails when output carries any of the secrets.
func wantNoSecrets(t *testing.T, output string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(output, s) {
			t.Errorf("the output shows a secret (%.12s…):\n%s", s, output)
		}
	}
}

// savedToken is a profile's saved token.
func (tc *testCLI) savedToken(t *testing.T, name string) *oauth2.Token {
	t.Helper()
	p := tc.credentials(t).Profiles[name]
	if p == nil || p.Token == nil {
		t.Fatalf("no saved profile %q", name)
	}
	return p.Token
}
