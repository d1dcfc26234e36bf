package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// orch api: JSON on stdout and exit status 0 on 2xx; the server's message on stderr and
// status 1 otherwise; 2 for usage mistakes. Run as the real binary for the exit statuses.
func TestAPIExitStatus(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	tc.must(t, d.loginArgs("--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", d.ex["ORCH_DEMO_CLIENT_SECRET"])...)
	environ := map[string]string{"ORCH_CLI_CONFIG_DIR": tc.dir}

	code, stdout, stderr := orchExit(t, environ, "api", "/odata/Folders")
	var folders struct {
		Value []struct{ FullyQualifiedName string }
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &folders) != nil || len(folders.Value) == 0 || folders.Value[0].FullyQualifiedName != "Shared" {
		t.Fatalf("orch api /odata/Folders: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "\n  ") {
		t.Error("JSON piped to a file should come as the server sent it, not indented")
	}

	code, stdout, stderr = orchExit(t, environ, "api", "/odata/QueueDefinitions")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "An organization unit is required for this action.") ||
		!strings.Contains(stderr, "errorCode 1101") || !strings.Contains(stderr, "Shared (Id 1)") || !strings.Contains(stderr, "--folder") {
		t.Fatalf("orch api /odata/QueueDefinitions without a folder: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}

	code, _, stderr = orchExit(t, environ, "api", "/odata/Folders", "--bogus")
	if code != 2 || !strings.Contains(stderr, "orch api --help") {
		t.Fatalf("orch api with a bad flag: exit %d, stderr %s", code, stderr)
	}

	code, _, stderr = orchExit(t, map[string]string{"ORCH_CLI_CONFIG_DIR": t.TempDir()}, "api", "/odata/Folders")
	if code != 1 || !strings.Contains(stderr, "not logged in") || !strings.Contains(stderr, "orch login --url") {
		t.Fatalf("orch api when not logged in: exit %d, stderr %s", code, stderr)
	}
}

// orch api: folders by path and by Id, bodies from --data and -f, the method inferred or
// given, queries with spaces and quotes, indentation on a terminal.
func TestAPIRequests(t *testing.T) {
	t.Parallel()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	tc.must(t, d.loginArgs("--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", d.ex["ORCH_DEMO_CLIENT_SECRET"])...)

	for _, folder := range []string{"Shared", "1"} {
		if out := tc.must(t, "api", "--folder", folder, "/odata/QueueDefinitions"); !strings.Contains(out, `"Invoices"`) {
			t.Errorf("orch api --folder %s /odata/QueueDefinitions: %s", folder, out)
		}
	}
	if _, _, err := tc.do("api", "/odata/QueueDefinitions", "--folder", "Nowhere"); err == nil ||
		!strings.Contains(err.Error(), "errorCode 1100") || !strings.Contains(err.Error(), "Shared (Id 1)") {
		t.Errorf("an unknown folder: %v; want errorCode 1100 and the usable folders", err)
	}

	// -f builds a JSON object, values as JSON when they read as JSON; a body means POST.
	var created struct {
		ID                 int64 `json:"Id"`
		Name               string
		MaxNumberOfRetries int
		Description        string
	}
	out := tc.must(t, "api", "/odata/QueueDefinitions", "--folder", "Shared", "-f", "Name=Orders", "-f", "MaxNumberOfRetries=3", "-f", "Description=true story")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name != "Orders" || created.MaxNumberOfRetries != 3 || created.Description != "true story" {
		t.Fatalf("POST by -f: %v %s", err, out)
	}

	// --data, inline and from a file; an explicit method.
	out = tc.must(t, "api", "/odata/Queues/UiPathODataSvc.AddQueueItem", "--folder", "Shared",
		"--data", `{"itemData":{"Name":"Orders","Reference":"o-1","SpecificContent":{"Amount":42}}}`)
	if !strings.Contains(out, `"Reference":"o-1"`) {
		t.Errorf("POST by --data: %s", out)
	}
	file := filepath.Join(t.TempDir(), "body.json")
	os.WriteFile(file, []byte(`{"Name":"Orders","Description":"from a file","MaxNumberOfRetries":3}`), 0o600)
	tc.must(t, "api", "PUT", fmt.Sprintf("/odata/QueueDefinitions(%d)", created.ID), "--folder", "Shared", "--data", "@"+file)
	out = tc.must(t, "api", fmt.Sprintf("/odata/QueueDefinitions(%d)", created.ID), "--folder", "Shared")
	if !strings.Contains(out, `"Description":"from a file"`) {
		t.Errorf("after PUT by --data @file: %s", out)
	}
	c := tc.base
	c.stdin = strings.NewReader(`{"Name":"Orders","Description":"from stdin","MaxNumberOfRetries":3}`)
	if _, stderr, err := tc.doWith(c, "api", "patch", fmt.Sprintf("/odata/QueueDefinitions(%d)", created.ID), "--folder", "1", "--data", "@-"); err != nil {
		t.Fatalf("PATCH by --data @-: %v %s", err, stderr)
	}
	if out, _, err := tc.do("api", "DELETE", fmt.Sprintf("/odata/QueueDefinitions(%d)", created.ID), "--folder", "Shared"); err != nil || out != "" {
		t.Fatalf("DELETE: %v, output %q", err, out)
	}
	if _, _, err := tc.do("api", fmt.Sprintf("/odata/QueueDefinitions(%d)", created.ID), "--folder", "Shared"); err == nil ||
		!strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "errorCode 1002") {
		t.Errorf("GET after DELETE: %v; want 404 with errorCode 1002", err)
	}

	// A query typed as people type it, and a path without the leading slash.
	out = tc.must(t, "api", "odata/Folders?$filter=FullyQualifiedName eq 'Shared'&$select=Id,FullyQualifiedName")
	if !strings.Contains(out, `"FullyQualifiedName":"Shared"`) || strings.Contains(out, "DisplayName") {
		t.Errorf("a filtered, selected list: %s", out)
	}

	// On a terminal the JSON is indented.
	c = tc.base
	c.isTerminal = func(io.Writer) bool { return true }
	out, _, err := tc.doWith(c, "api", "/odata/Folders")
	if err != nil || !strings.Contains(out, "\n  \"value\": [") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("indented output: %v\n%s", err, out)
	}

	for _, args := range [][]string{
		{"api"},
		{"api", "GET", "/odata/Folders", "extra"},
		{"api", "G3T", "/odata/Folders"},
		{"api", "/odata/Folders", "--data", "{not json"},
		{"api", "/odata/Folders", "--data", "{}", "-f", "a=1"},
		{"api", "/odata/Folders", "-f", "novalue"},
		{"api", "http://elsewhere/odata/Folders"},
		{"api", "/odata/Folders", "--data", "@" + filepath.Join(t.TempDir(), "missing.json")},
	} {
		_, _, err := tc.do(args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("orch %s: %v; want a usage error", strings.Join(args, " "), err)
		}
	}
}
