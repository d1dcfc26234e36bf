package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/openorch/openorch/client"
	"github.com/openorch/openorch/internal/testutil"
)

// orchBin is the orch binary, built once, that the end-to-end tests serve with.
var orchBin string

func TestMain(m *testing.M) {
	bin, remove, err := testutil.BuildOrch("../cmd/orch")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	orchBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

type lockedBuffer = testutil.Buffer

// demoServer is `orch serve --demo` on a free port, with the demo's exported values.
type demoServer struct {
	URL string
	ex  map[string]string
}

func startDemo(t *testing.T) demoServer {
	t.Helper()
	cmd := exec.Command(orchBin, "serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		u := servingURL(stderr.String())
		ex := exports(stdout.String())
		if u != "" && ex["ORCH_DEMO_CLIENT_SECRET"] != "" {
			return demoServer{URL: u, ex: ex}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("orch serve --demo did not start\nstderr:\n%s", stderr)
	return demoServer{}
}

func servingURL(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct{ Msg, URL string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "OpenOrch is serving" {
			return line.URL
		}
	}
	return ""
}

func exports(stdout string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ORCH_DEMO_") {
			out[k] = v
		}
	}
	return out
}

// appTokens is the demo app's client-credentials token source.
func (d demoServer) appTokens() oauth2.TokenSource {
	conf := clientcredentials.Config{ClientID: d.ex["ORCH_DEMO_CLIENT_ID"], ClientSecret: d.ex["ORCH_DEMO_CLIENT_SECRET"],
		TokenURL: client.Endpoint(d.URL, d.ex["ORCH_DEMO_ORG"]).TokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return conf.TokenSource(context.Background())
}

func (d demoServer) client(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL, cfg.Org, cfg.Tenant = d.URL, d.ex["ORCH_DEMO_ORG"], d.ex["ORCH_DEMO_TENANT"]
	}
	if cfg.TokenSource == nil {
		cfg.TokenSource = d.appTokens()
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	ctx := context.Background()
	c := d.client(t, client.Config{})

	t.Run("folders", func(t *testing.T) {
		folders, resp, err := c.Folders.List(ctx, nil)
		if err != nil || resp.StatusCode != http.StatusOK || len(folders) != 1 || folders[0].FullyQualifiedName != "Shared" || folders[0].Key == "" {
			t.Fatalf("List: %v %+v", err, folders)
		}
		f, _, err := c.Folders.Get(ctx, folders[0].ID)
		if err != nil || f.DisplayName != "Shared" {
			t.Fatalf("Get: %v %+v", err, f)
		}
		f, _, err = c.Folders.GetByPath(ctx, "Shared")
		if err != nil || f.ID != folders[0].ID {
			t.Fatalf("GetByPath: %v %+v", err, f)
		}
		for name, call := range map[string]func() error{
			"Get":       func() error { _, _, err := c.Folders.Get(ctx, 999999); return err },
			"GetByPath": func() error { _, _, err := c.Folders.GetByPath(ctx, "Nowhere"); return err },
		} {
			var e *client.Error
			if err := call(); !errors.As(err, &e) || e.StatusCode != http.StatusNotFound || e.ErrorCode != 1002 {
				t.Errorf("%s of a missing folder: %v; want 404 with errorCode 1002", name, err)
			}
		}
		page, _, err := client.List[client.Folder](ctx, c, "odata/Folders", &client.ListOptions{Count: true, Select: "Id,FullyQualifiedName"})
		if err != nil || page.Count == nil || *page.Count != 1 || !strings.Contains(page.Context, "$metadata#Folders") {
			t.Fatalf("List with $count: %v %+v", err, page)
		}
		n := 0
		for f, err := range client.All[client.Folder](ctx, c, "odata/Folders", nil) {
			if err != nil {
				t.Fatal(err)
			}
			if f.FullyQualifiedName == "Shared" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("All found Shared %d times", n)
		}
	})

	t.Run("folder required", func(t *testing.T) {
		req, _ := c.NewRequest("GET", "odata/QueueDefinitions", nil)
		_, err := c.Do(ctx, req, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusBadRequest || e.ErrorCode != 1101 || e.TraceID == "" ||
			!strings.Contains(e.Reason(), "works in one folder") || !strings.Contains(string(e.Details), `"Shared"`) {
			t.Fatalf("QueueDefinitions without a folder: %v (%+v)", err, e)
		}
		for _, opt := range []client.RequestOption{client.InFolder("Shared"), client.InFolder("1"), client.InFolderPath("Shared")} {
			page, _, err := client.List[map[string]any](ctx, c, "odata/QueueDefinitions", nil, opt)
			if err != nil || len(page.Value) != 1 || page.Value[0]["Name"] != "Invoices" {
				t.Errorf("QueueDefinitions in Shared: %v %+v", err, page)
			}
		}
		inShared := d.client(t, client.Config{URL: c.BaseURL().String(), Folder: "Shared"})
		if _, _, err := client.List[map[string]any](ctx, inShared, "odata/QueueDefinitions", nil); err != nil {
			t.Errorf("a client whose default folder is Shared, on the API base URL: %v", err)
		}
		_, _, err = client.List[map[string]any](ctx, c, "odata/QueueDefinitions", nil, client.InFolder("Nowhere"))
		if !errors.As(err, &e) || e.StatusCode != http.StatusForbidden || e.ErrorCode != 1100 {
			t.Errorf("an unknown folder: %v; want 403 with errorCode 1100", err)
		}
	})

	t.Run("ABP envelope", func(t *testing.T) {
		// The older layout answers in the ABP envelope; Do reads it all the same.
		req, _ := http.NewRequest("GET", d.URL+"/"+d.ex["ORCH_DEMO_ORG"]+"/"+d.ex["ORCH_DEMO_TENANT"]+"/odata/QueueDefinitions", nil)
		req.Header.Set("X-UIPATH-TenantName", d.ex["ORCH_DEMO_TENANT"])
		_, err := c.Do(ctx, req, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.ErrorCode != 1101 || e.Message == "" || !bytes.Contains(e.Body, []byte(`"__abp":true`)) {
			t.Fatalf("the older layout without a folder: %v (%s)", err, e.Body)
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		bad := d.client(t, client.Config{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-a-token"})})
		_, _, err := bad.Folders.List(ctx, nil)
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized || !strings.Contains(e.Message, "You are not authenticated!") {
			t.Fatalf("a bad token: %v", err)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		tok, err := d.appTokens().Token()
		if err != nil {
			t.Fatal(err)
		}
		own := d.client(t, client.Config{TokenSource: oauth2.StaticTokenSource(tok)})
		if _, _, err := own.Folders.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := client.Revoke(ctx, d.URL, d.ex["ORCH_DEMO_ORG"], d.ex["ORCH_DEMO_CLIENT_ID"], d.ex["ORCH_DEMO_CLIENT_SECRET"], tok.AccessToken, "access_token"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, _, err := own.Folders.List(ctx, nil)
			var e *client.Error
			if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the revoked token still works: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		err = client.Revoke(ctx, d.URL, d.ex["ORCH_DEMO_ORG"], d.ex["ORCH_DEMO_CLIENT_ID"], "wrong", tok.AccessToken, "")
		var e *client.Error
		if !errors.As(err, &e) || e.OAuthError != "invalid_client" {
			t.Errorf("revoking with a wrong secret: %v; want invalid_client", err)
		}
	})

	t.Run("raw body", func(t *testing.T) {
		req, _ := c.NewRequest("GET", "odata/Folders?$select=Id", nil)
		var raw strings.Builder
		if _, err := c.Do(ctx, req, &raw); err != nil || !json.Valid([]byte(raw.String())) {
			t.Fatalf("raw answer %q: %v", raw.String(), err)
		}
	})
}
