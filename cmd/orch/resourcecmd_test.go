package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// res runs a client command through runCommand, as main does.
func (tc *testCLI) res(args ...string) (stdout, stderr string, err error) {
	c := tc.base
	out, errOut := &syncBuffer{}, &syncBuffer{}
	c.stdout, c.stderr = out, errOut
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = c.runCommand(ctx, args[0], args[1:])
	return out.String(), errOut.String(), err
}

func (tc *testCLI) mustRes(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := tc.res(args...)
	if err != nil {
		t.Fatalf("orch %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// demoCLI is a --demo server and a CLI signed in to it as demo-app.
func demoCLI(t *testing.T) *testCLI {
	t.Helper()
	d := startCLIDemo(t)
	tc := newTestCLI(t, nil)
	tc.must(t, d.loginArgs("--client-id", d.ex["ORCH_DEMO_CLIENT_ID"], "--client-secret", d.ex["ORCH_DEMO_CLIENT_SECRET"])...)
	return tc
}

// writeProject writes a process project: project.json and the script it runs.
func writeProject(t *testing.T, dir, version string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	proj := `{"name":"Hello","version":"` + version + `","main":"run.sh"}`
	if err := os.WriteFile(filepath.Join(dir, "project.json"), []byte(proj), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// publish creates the process, a second publish updates it, the same version again is
// refused with a message that says to bump it.
func TestPackagesPublish(t *testing.T) {
	t.Parallel()
	tc := demoCLI(t)
	dir := filepath.Join(t.TempDir(), "hello")
	writeProject(t, dir, "1.0.0")
	tc.mustRes(t, "packages", "publish", dir, "--folder", "Shared")
	writeProject(t, dir, "1.0.1")
	_, errOut, err := tc.res("packages", "publish", dir, "--folder", "Shared")
	if err != nil || !strings.Contains(errOut, "updated process Hello") {
		t.Fatalf("second publish: %v\n%s", err, errOut)
	}
	var rel struct {
		Value []struct{ Name, ProcessKey, ProcessVersion string }
	}
	out := tc.must(t, "api", "/odata/Releases", "--folder", "Shared")
	if json.Unmarshal([]byte(out), &rel) != nil || len(rel.Value) != 1 || rel.Value[0].ProcessVersion != "1.0.1" || rel.Value[0].Name != "Hello" {
		t.Fatalf("releases after the second publish: %s", out)
	}
	_, _, err = tc.res("packages", "publish", dir, "--folder", "Shared")
	var u usageError
	if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), "exists already") || !strings.Contains(err.Error(), "bump the version") {
		t.Fatalf("publishing 1.0.1 again: %v; want a server error saying to bump the version", err)
	}
	// A person watching gets the upload's progress on one line, rewritten in place.
	writeProject(t, dir, "1.0.2")
	tc.base.isTerminal = func(io.Writer) bool { return true }
	_, errOut, err = tc.res("packages", "publish", dir, "--folder", "Shared")
	if err != nil || !strings.Contains(errOut, "\r\x1b[Kuploading Hello.1.0.2.nupkg: ") || !strings.Contains(errOut, ": 100% of ") ||
		!strings.Contains(errOut, "uploaded Hello.1.0.2.nupkg (") {
		t.Fatalf("publish with a terminal: %v\n%q", err, errOut)
	}
}

// A started job is Pending (no robot runs here: TestRobotEndToEnd waits for one to end
// Successful); a waiting start ends with status 1 when the job is stopped.
func TestJobsStartListStopWait(t *testing.T) {
	t.Parallel()
	tc := demoCLI(t)
	dir := filepath.Join(t.TempDir(), "hello")
	writeProject(t, dir, "1.0.0")
	tc.mustRes(t, "packages", "publish", dir, "--folder", "Shared")

	var started []struct {
		ID             int64 `json:"Id"`
		State          string
		InputArguments *string
	}
	out := tc.mustRes(t, "jobs", "start", "Hello", "--folder", "Shared", "--input", `{"a":1}`, "--output", "json")
	if json.Unmarshal([]byte(out), &started) != nil || len(started) != 1 || started[0].State != "Pending" {
		t.Fatalf("jobs start: %s", out)
	}
	var listed []struct {
		ID    int64 `json:"Id"`
		State string
	}
	out = tc.mustRes(t, "jobs", "list", "--output", "json")
	if json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 1 || listed[0].ID != started[0].ID || listed[0].State != "Pending" {
		t.Fatalf("jobs list: %s", out)
	}
	if out := tc.mustRes(t, "jobs", "list", "--folder", "Shared", "--state", "pending"); !strings.Contains(out, "Hello") || !strings.Contains(out, "STATE") {
		t.Fatalf("jobs list table: %s", out)
	}

	type result struct {
		out, errOut string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, err := tc.res("jobs", "start", "Hello", "--folder", "Shared", "--wait")
		done <- result{out, errOut, err}
	}()
	// The newest job is the waiting one once it is listed.
	var waitID string
	deadline := time.Now().Add(30 * time.Second)
	for waitID == "" && time.Now().Before(deadline) {
		out := tc.mustRes(t, "jobs", "list", "--output", "json", "--top", "1")
		var js []struct {
			ID int64 `json:"Id"`
		}
		if json.Unmarshal([]byte(out), &js) == nil && len(js) == 1 && js[0].ID != started[0].ID {
			waitID = strconv.FormatInt(js[0].ID, 10)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waitID == "" {
		t.Fatal("the waiting job was not started")
	}
	tc.mustRes(t, "jobs", "stop", waitID)
	r := <-done
	var u usageError
	if r.err == nil || errors.As(r.err, &u) || !strings.Contains(r.err.Error(), "Stopped") ||
		!strings.Contains(r.out, "State: Stopped") || !strings.Contains(r.errOut, "job "+waitID+": Pending (") ||
		!strings.Contains(r.errOut, "robot") {
		t.Fatalf("jobs start --wait on a stopped job: %v\nstdout: %s\nstderr: %s", r.err, r.out, r.errOut)
	}
	// Stopping it again is refused: it has ended.
	if _, _, err := tc.res("jobs", "stop", waitID); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("stopping an ended job: %v", err)
	}
}

func TestQueuesAddItems(t *testing.T) {
	t.Parallel()
	tc := demoCLI(t)
	tc.mustRes(t, "queues", "add", "Invoices", "--content", `{"n":1}`, "--reference", "r1", "--folder", "Shared")
	out := tc.mustRes(t, "queues", "items", "Invoices", "--folder", "Shared", "--output", "json")
	var items []struct {
		Reference, Status string
		SpecificContent   map[string]any
	}
	if json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0].Reference != "r1" || items[0].Status != "New" || items[0].SpecificContent["n"] != 1.0 {
		t.Fatalf("queues items: %s", out)
	}
	if out := tc.mustRes(t, "queues", "list", "--folder", "Shared"); !strings.Contains(out, "Invoices") {
		t.Fatalf("queues list: %s", out)
	}
	if _, _, err := tc.res("queues", "items", "Nope", "--folder", "Shared"); err == nil || !strings.Contains(err.Error(), `no queue named "Nope"`) {
		t.Fatalf("items of a missing queue: %v", err)
	}
	// Without a folder, the server's message says to name one.
	if _, _, err := tc.res("queues", "list"); err == nil || !strings.Contains(err.Error(), "--folder") {
		t.Fatalf("queues list without a folder: %v", err)
	}
}

// Every new command has help with an example; bad flags and arguments are usage errors.
func TestResourceHelpAndUsage(t *testing.T) {
	t.Parallel()
	tc := newTestCLI(t, nil)
	for _, cmd := range [][]string{
		{"jobs", "--help"}, {"jobs", "start", "--help"}, {"jobs", "list", "--help"}, {"jobs", "stop", "--help"},
		{"queues", "--help"}, {"queues", "add", "--help"}, {"queues", "list", "--help"}, {"queues", "items", "--help"},
		{"packages", "--help"}, {"packages", "publish", "--help"},
	} {
		out, _, err := tc.res(cmd...)
		if err != nil || !strings.Contains(out, "Examples:\n  orch "+cmd[0]) {
			t.Errorf("orch %s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	var buf strings.Builder
	if err := completion([]string{"--help"}, &buf); err != nil || !strings.Contains(buf.String(), "Examples:") {
		t.Errorf("completion --help: %v %s", err, buf.String())
	}
	for _, cmd := range [][]string{
		{"jobs"}, {"jobs", "bogus"}, {"jobs", "start"}, {"jobs", "start", "Hello", "--bogus"}, {"jobs", "start", "Hello", "--input", "[1]"},
		{"jobs", "list", "--state", "Sleeping"}, {"jobs", "list", "--top", "0"}, {"jobs", "list", "--output", "yaml"}, {"jobs", "stop"},
		{"jobs", "logs"}, {"jobs", "logs", "1", "--output", "yaml"},
		{"queues", "add"}, {"queues", "add", "Q", "--content", "nope"}, {"queues", "items", "Q", "--status", "Bogus"}, {"queues", "list", "x"},
		{"packages", "publish"}, {"packages", "publish", "/nonexistent", "--folder", "Shared"}, {"packages", "publish", "."},
	} {
		_, _, err := tc.res(cmd...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("orch %s: %v; want a usage error", strings.Join(cmd, " "), err)
		}
	}
	code, _, stderr := orchExit(t, nil, "jobs", "list", "--bogus")
	if code != 2 || !strings.Contains(stderr, "orch jobs list --help") {
		t.Errorf("bad flag: exit %d, %s", code, stderr)
	}
	for _, sh := range []string{"bash", "zsh"} {
		code, out, _ := orchExit(t, nil, "completion", sh)
		if code != 0 || !strings.Contains(out, "complete -F _orch orch") || !strings.Contains(out, "--wait") ||
			!strings.Contains(out, "--follow") || !strings.Contains(out, "--client-secret") {
			t.Errorf("completion %s: exit %d\n%s", sh, code, out)
		}
	}
}
