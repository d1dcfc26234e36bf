package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// signInWithBrowser logs a profile in the default way, with a browser that signs the demo
// user in.
func signInWithBrowser(t *testing.T, d cliDemo, tc *testCLI, extra ...string) {
	t.Helper()
	c := tc.base
	errs := make(chan error, 1)
	c.openBrowser = func(authURL string) error {
		go func() {
			_, _, err := newPersonBrowser(d.URL, false).signIn(authURL, d.ex["ORCH_DEMO_USER"], d.ex["ORCH_DEMO_PASSWORD"])
			errs <- err
		}()
		return nil
	}
	if _, stderr, err := tc.doWith(c, d.loginArgs(extra...)...); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// orch token renews an expired token with the refresh token, saves the new pair (the
// refresh token rotates), and logout revokes the sign-in at the server.
func TestTokenRefreshAndLogout(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	signInWithBrowser(t, d, tc)
	before := tc.savedToken(t, "default")

	// Still valid: printed as saved, nothing renewed.
	if got := strings.TrimSpace(tc.must(t, "token")); got != before.AccessToken {
		t.Fatal("a valid token should be printed as saved")
	}

	tc.expire(t, "default")
	renewed := strings.TrimSpace(tc.must(t, "token"))
	after := tc.savedToken(t, "default")
	switch {
	case renewed == before.AccessToken:
		t.Fatal("an expired token was printed instead of being renewed")
	case after.AccessToken != renewed || after.RefreshToken == "" || after.RefreshToken == before.RefreshToken:
		t.Fatal("the renewed access token and the rotated refresh token should be saved")
	case !after.Valid():
		t.Fatalf("the saved expiry %v is not in the future", after.Expiry)
	}
	if status, body := d.call(t, "GET", "/odata/Folders", renewed, nil); status != http.StatusOK {
		t.Fatalf("the renewed token: %d %s", status, body)
	}

	// Signing in again to the same profile ends the sign-in it replaces.
	signInWithBrowser(t, d, tc)
	if status, body := d.refreshStatus(t, after.RefreshToken); status != http.StatusBadRequest || !strings.Contains(body, "revoked") {
		t.Errorf("the replaced sign-in's refresh token: %d %s; want it revoked", status, body)
	}
	after = tc.savedToken(t, "default")

	_, stderr, err := tc.do("logout")
	if err != nil || !strings.Contains(stderr, "revoked") {
		t.Fatalf("logout: %v\n%s", err, stderr)
	}
	if _, ok := tc.credentials(t).Profiles["default"]; ok {
		t.Error("logout left the profile in the credentials file")
	}
	if status, body := d.refreshStatus(t, after.RefreshToken); status != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
		t.Errorf("the refresh token after logout: %d %s; want invalid_grant", status, body)
	}
	if _, _, err := tc.do("logout"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("a second logout: %v; want not logged in", err)
	}
}

// A refresh token that the server no longer takes makes orch token say to log in again.
func TestTokenRefreshRefused(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	signInWithBrowser(t, d, tc)
	// Spending the saved refresh token elsewhere rotates it away from this profile; the
	// profile's next use is a reuse, which the server refuses.
	if status, body := d.refreshStatus(t, tc.savedToken(t, "default").RefreshToken); status != http.StatusOK {
		t.Fatalf("refresh: %d %s", status, body)
	}
	tc.expire(t, "default")
	_, _, err := tc.do("token")
	if err == nil || !strings.Contains(err.Error(), "already used") || !strings.Contains(err.Error(), "orch login --url "+d.URL) {
		t.Fatalf("orch token with a spent refresh token: %v; want the server's reason and the login command", err)
	}
	_, _, err = tc.do("api", "/odata/Folders")
	if err == nil || !strings.Contains(err.Error(), "orch login --url "+d.URL) {
		t.Fatalf("orch api with a spent refresh token: %v; want the login command", err)
	}
}

// Profiles are separate, and concurrent commands of one profile renew its token once:
// spending a rotating refresh token twice would make the server revoke the sign-in.
func TestTokenProfilesAndConcurrency(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	signInWithBrowser(t, d, tc)
	tc.must(t, d.loginArgs("--profile", "bot", "--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", d.ex["ORCH_DEMO_CLIENT_SECRET"])...)
	user := strings.TrimSpace(tc.must(t, "token"))
	bot := strings.TrimSpace(tc.must(t, "token", "--profile", "bot"))
	if user == bot {
		t.Fatal("two profiles printed the same token")
	}
	c := tc.base
	c.getenv = env(map[string]string{"ORCH_CLI_CONFIG_DIR": tc.dir, "ORCH_CLI_PROFILE": "bot"})
	if out, _, err := tc.doWith(c, "token"); err != nil || strings.TrimSpace(out) != bot {
		t.Errorf("ORCH_CLI_PROFILE=bot orch token: %v; want the bot's token", err)
	}

	tc.expire(t, "default")
	var wg sync.WaitGroup
	tokens := make([]string, 4)
	errs := make([]error, 4)
	for i := range tokens {
		wg.Go(func() {
			var out string
			out, _, errs[i] = tc.do("token")
			tokens[i] = strings.TrimSpace(out)
		})
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("concurrent orch token %d: %v, same token as the first %v", i, errs[i], tokens[i] == tokens[0])
		}
	}
	final := tc.savedToken(t, "default")
	if status, body := d.refreshStatus(t, final.RefreshToken); status != http.StatusOK {
		t.Fatalf("the saved refresh token after concurrent renewals: %d %s", status, body)
	}

	// Logging one profile out leaves the other.
	tc.must(t, "logout", "--profile", "bot")
	if _, _, err := tc.do("token", "--profile", "bot"); err == nil {
		t.Error("the bot profile still prints a token after logout")
	}
	if _, ok := tc.credentials(t).Profiles["default"]; !ok {
		t.Error("logging out of bot removed the default profile")
	}
}

// Inside a job, ORCH_URL and ORCH_ACCESS_TOKEN replace the login, and ORCH_FOLDER_ID is
// the folder of API calls that name none.
func TestJobEnvironment(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	login := newTestCLI(t, nil)
	login.must(t, d.loginArgs("--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", d.ex["ORCH_DEMO_CLIENT_SECRET"])...)
	jobToken := strings.TrimSpace(login.must(t, "token"))

	job := newTestCLI(t, map[string]string{"ORCH_URL": d.apiBase(), "ORCH_ACCESS_TOKEN": jobToken, "ORCH_FOLDER_ID": "1"})
	if got := strings.TrimSpace(job.must(t, "token")); got != jobToken {
		t.Error("orch token inside a job should print ORCH_ACCESS_TOKEN")
	}
	if out := job.must(t, "api", "/odata/Folders"); !strings.Contains(out, `"Shared"`) {
		t.Errorf("orch api /odata/Folders inside a job: %s", out)
	}
	if out := job.must(t, "api", "/odata/QueueDefinitions"); !strings.Contains(out, `"Invoices"`) {
		t.Errorf("orch api /odata/QueueDefinitions in the job's folder: %s", out)
	}
	// A named profile wins over the job's environment.
	if _, _, err := job.do("api", "--profile", "other", "/odata/Folders"); err == nil || !strings.Contains(err.Error(), `no profile "other"`) {
		t.Errorf("orch api --profile other inside a job: %v", err)
	}
	noURL := newTestCLI(t, map[string]string{"ORCH_ACCESS_TOKEN": jobToken})
	if _, _, err := noURL.do("api", "/odata/Folders"); err == nil || !strings.Contains(err.Error(), "ORCH_URL is not") {
		t.Errorf("orch api with ORCH_ACCESS_TOKEN but no ORCH_URL: %v", err)
	}
}
